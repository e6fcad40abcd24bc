"""Component: read a table to score with a registry model, refusing one the model cannot read."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Output

from kfx.component import component
from kfx.report import DATA, Figure, Report


@component
def import_scoring_data(
    source: str,
    registered_model: Input[Artifact],
    scoring_data: Output[Dataset],
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ScoringImportOutputs", [("scoring_rows", int), ("labelled", bool)]
):
    """Reads ``source`` (local / gs:// CSV or Parquet, bq://project.dataset.table) and writes it as one
    CSV Dataset, cells as they are, once it holds every feature the model reads and only numbers
    where the model's schema has numbers. The label column is optional.

    Args:
        source: The table URI.
        registered_model: The registry version to score with (find_model's reference).
        scoring_data: The table (CSV).

    Returns:
        The number of rows, and whether the table holds the label column.
    """
    from kfx import scoring

    reference = scoring.read_reference(registered_model.path)
    result = scoring.import_scoring_data(source, reference, scoring_data.path)
    scoring_data.metadata.update(
        rows=result["rows"],
        source=result["source"],
        labelled=result["labelled"],
        label_column=result["label_column"],
        unchecked=result["unchecked"],
        format="csv",
        model_name=reference["model_name"],
        version=reference["version"],
    )
    return (result["rows"], result["labelled"])


def _describe(scored: dict) -> list[str]:
    label = "with" if scored["labelled"] else "without"
    return [f"scoring     {scored['rows']} rows {label} the label column: {scored['source']}"]


REPORT = Report(
    import_scoring_data,
    section="scoring",
    figures=(
        Figure("source", "scoring_data.source", name="source", kind=DATA),
        Figure("rows", "scoring_rows", name="scoring_rows", kind=DATA, cast=int),
        Figure("labelled", "labelled", cast=bool),
        Figure("unchecked", "scoring_data.unchecked"),
    ),
    describe=_describe,
)
