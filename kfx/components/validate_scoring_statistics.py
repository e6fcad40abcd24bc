"""Component: a table to score against the model's schema, and its drift from the model's training data."""

from typing import NamedTuple

from kfp.dsl import Artifact, Input, Markdown, Output

from kfx.component import component
from kfx.report import DATA, Figure, Report


@component
def validate_scoring_statistics(
    scoring_statistics: Input[Artifact],
    registered_model: Input[Artifact],
    labelled: bool,
    scoring_anomalies: Output[Artifact],
    scoring_report: Output[Markdown],
    drift_threshold: float,
    fail_on_anomalies: bool,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ScoringValidationOutputs", [("scoring_anomalies_count", int)]
):
    """Validates the table's statistics against the registry version's schema (environment SERVING
    without the label, TRAINING with it) and measures drift against the version's training statistics.

    Writes ``Split-scoring/anomalies.pbtxt`` and a Markdown report; when anomalies exist and
    ``fail_on_anomalies`` is set, fails naming each anomalous feature, before anything is predicted.

    Args:
        scoring_statistics: Output of generate_scoring_statistics.
        registered_model: The registry version (its schema and training statistics).
        labelled: Whether the table holds the label column.
        scoring_anomalies: Folder of the text Anomalies proto.
        scoring_report: Readable Markdown report, with each feature's drift.
        drift_threshold: Jensen-Shannon / L-infinity distance from the training statistics that counts as drift.
        fail_on_anomalies: Fail the step on anomalies.

    Returns:
        The number of anomalies found.
    """
    from kfx import scoring

    reference = scoring.read_reference(registered_model.path)
    result = scoring.validate_scoring(
        scoring_statistics.path,
        reference["uri"],
        labelled,
        scoring_anomalies.path,
        scoring_report.path,
        drift_threshold,
        fail_on_anomalies,
    )
    drift = result["drift"]
    scoring_anomalies.metadata.update(
        anomalies=result["anomalies"],
        drift_threshold=drift_threshold,
        model_uri=reference["uri"],
        environment=result["environment"],
        features=sorted({f["feature"] for f in result["findings"]}),
        drift=drift,
        max_drift=max(drift.values()) if drift else 0.0,
        max_drift_feature=max(drift, key=drift.get) if drift else "",
    )
    return (result["anomalies"],)


def _describe(anomalies: dict) -> list[str]:
    found = f"{anomalies['count']} ({', '.join(anomalies['features'])})" if anomalies["count"] else "none"
    lines = [f"anomalies   {found} in environment {anomalies['environment']}; report: {anomalies['report']}"]
    if anomalies.get("max_drift_feature"):
        lines.append(
            f"            largest drift {anomalies['max_drift']:.4f} ({anomalies['max_drift_feature']}), "
            f"threshold {anomalies['drift_threshold']:g}"
        )
    return lines


REPORT = Report(
    validate_scoring_statistics,
    types={"scoring_anomalies": "ExampleAnomalies"},
    section="scoring_anomalies",
    figures=(
        Figure("count", "scoring_anomalies.anomalies", name="scoring_anomalies", kind=DATA, cast=int),
        Figure("features", "scoring_anomalies.features"),
        Figure("environment", "scoring_anomalies.environment"),
        Figure("max_drift", "scoring_anomalies.max_drift", name="max_drift", kind=DATA, cast=float),
        Figure("max_drift_feature", "scoring_anomalies.max_drift_feature"),
        Figure("drift_threshold", "scoring_anomalies.drift_threshold", cast=float),
        Figure("uri", "scoring_anomalies"),
        Figure("report", "scoring_report"),
    ),
    describe=_describe,
    checks_data=True,
    outside=("scoring_anomalies.model_uri",),  # the schema and training statistics it read: see predict's REPORT
)
