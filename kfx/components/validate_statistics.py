"""Component: anomalies of every split against the schema, and train vs. eval skew."""

from typing import NamedTuple

from kfp.dsl import Artifact, Input, Markdown, Output

from kfx.step import DATA, Figure, Step, component


@component
def validate_statistics(
    statistics: Input[Artifact],
    schema: Input[Artifact],
    anomalies: Output[Artifact],
    report: Output[Markdown],
    skew_threshold: float,
    fail_on_anomalies: bool,
) -> NamedTuple("ValidationOutputs", [("anomalies_count", int)]):
    """Validates each split's statistics against the schema and checks train vs. validation skew.

    Writes ``Split-<name>/anomalies.pbtxt`` and a Markdown report; when anomalies exist
    and ``fail_on_anomalies`` is set, fails naming each anomalous feature.

    Args:
        statistics: Output of generate_statistics.
        schema: Output of infer_schema.
        anomalies: Folder of text Anomalies protos, one per split.
        report: Readable Markdown report.
        skew_threshold: Jensen-Shannon / L-infinity distance that counts as skew.
        fail_on_anomalies: Fail the step on anomalies.

    Returns:
        The number of anomalies found.
    """
    from kfx import steps

    result = steps.validate_statistics(
        statistics.path, schema.path, anomalies.path, report.path, skew_threshold, fail_on_anomalies
    )
    anomalies.metadata.update(
        anomalies=result["anomalies"], skew_threshold=skew_threshold,
        features=sorted({f["feature"] for f in result["findings"]}),
    )
    return (result["anomalies"],)


def _describe(anomalies: dict) -> list[str]:
    found = f"{anomalies['count']} ({', '.join(anomalies['features'])})" if anomalies["count"] else "none"
    return [f"anomalies   {found}; report: {anomalies['report']}"]


STEP = Step(
    validate_statistics,
    types={"anomalies": "ExampleAnomalies"},
    section="anomalies",
    figures=(
        Figure("count", "anomalies.anomalies", name="anomalies", kind=DATA, cast=int),
        Figure("features", "anomalies.features"),
        Figure("uri", "anomalies"),
        Figure("report", "report"),
    ),
    describe=_describe,
    checks_data=True,
)
