"""Component: the data schema, inferred from training statistics or a curated file used as is."""

from typing import NamedTuple

from kfp.dsl import Artifact, Input, Output

from kfx.component import component
from kfx.report import DATA, Figure, Report


@component
def infer_schema(
    statistics: Input[Artifact],
    schema: Output[Artifact],
    schema_file: str,
) -> NamedTuple("SchemaOutputs", [("features", int)]):  # type: ignore[valid-type]  # kfp reads this call as the outputs
    """Writes a Schema text proto: inferred from the train split's statistics, or ``schema_file``.

    Args:
        statistics: Output of generate_statistics.
        schema: The schema (text proto, readable by ``tfdv.load_schema_text``).
        schema_file: A curated schema (local path or gs://); empty infers one.

    Returns:
        The number of features in the schema.
    """
    from kfx import data_steps

    result = data_steps.infer_schema(statistics.path, schema.path, schema_file)
    schema.metadata.update(schema_file=schema_file, **result)
    return (result["features"],)


REPORT = Report(
    infer_schema,
    types={"schema": "Schema"},
    section="schema",
    figures=(
        Figure("features", "schema.features", name="schema_features", kind=DATA, cast=int),
        Figure("curated", "schema.curated", cast=bool),
        Figure("uri", "schema"),
    ),
    checks_data=True,
)
