"""Component: anomalies of every split against the schema, and train vs. eval skew."""

from typing import NamedTuple, Optional

from kfp.dsl import Artifact, Input, Markdown, Output

from kfx.component import component
from kfx.report import DATA, Figure, Report


@component
def validate_statistics(
    statistics: Input[Artifact],
    schema: Input[Artifact],
    anomalies: Output[Artifact],
    report: Output[Markdown],
    skew_threshold: float,
    drift_threshold: float,
    fail_on_anomalies: bool,
    registered_model: Optional[Input[Artifact]] = None,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ValidationOutputs", [("anomalies_count", int)]
):
    """Validates each split's statistics against the schema, train vs. validation for skew and, when
    there is a champion, train vs. the champion's training statistics for drift.

    Each feature's threshold widens with fewer rows (the report gives each one and why). Writes
    ``Split-<name>/anomalies.pbtxt`` and a Markdown report; when anomalies exist and
    ``fail_on_anomalies`` is set, fails naming each anomalous feature.

    Args:
        statistics: Output of generate_statistics.
        schema: Output of infer_schema.
        registered_model: The champion (find_model's reference); its version folder keeps its
            training statistics. None found: no drift check. Each of its ``missing_features`` (read
            by the champion, lacking in the table) is an anomaly.
        anomalies: Folder of text Anomalies protos, one per split.
        report: Readable Markdown report.
        skew_threshold: Base Jensen-Shannon / L-infinity distance of train vs. validation.
        drift_threshold: Base distance of train vs. the champion's training statistics.
        fail_on_anomalies: Fail the step on anomalies.

    Returns:
        The number of anomalies found.
    """
    from kfx import data_steps
    from kfx.registry import STATISTICS_FOLDER

    champion = dict(registered_model.metadata) if registered_model is not None else {}
    previous = f"{champion['uri'].rstrip('/')}/{STATISTICS_FOLDER}" if champion.get("found") else ""
    result = data_steps.validate_statistics(
        statistics.path,
        schema.path,
        anomalies.path,
        report.path,
        skew_threshold,
        drift_threshold,
        fail_on_anomalies,
        previous,
        champion.get("missing_features") or [],
        f"{champion.get('model_name')} v{champion.get('version')}",
    )
    anomalies.metadata.update(
        anomalies=result["anomalies"],
        skew_threshold=skew_threshold,
        drift_threshold=drift_threshold,
        drift_from=f"{champion['model_name']} v{champion['version']}" if previous else "",
        features=sorted({f["feature"] for f in result["findings"]}),
        drifted=sorted({f["feature"] for f in result["findings"] if f["check"] == "drift"}),
    )
    return (result["anomalies"],)


def _describe(anomalies: dict) -> list[str]:
    found = f"{anomalies['count']} ({', '.join(anomalies['features'])})" if anomalies["count"] else "none"
    lines = [f"anomalies   {found}; report: {anomalies['report']}"]
    if anomalies.get("drift_from"):
        drifted = ", ".join(anomalies.get("drifted") or []) or "none"
        lines.append(f"            drift from {anomalies['drift_from']}'s training data: {drifted}")
    return lines


REPORT = Report(
    validate_statistics,
    types={"anomalies": "ExampleAnomalies"},
    section="anomalies",
    figures=(
        Figure("count", "anomalies.anomalies", name="anomalies", kind=DATA, cast=int),
        Figure("features", "anomalies.features"),
        Figure("drift_from", "anomalies.drift_from"),
        Figure("drifted", "anomalies.drifted"),
        Figure("uri", "anomalies"),
        Figure("report", "report"),
    ),
    describe=_describe,
    checks_data=True,
)
