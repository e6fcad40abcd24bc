"""Checking a table to score against a registry version: its numeric columns hold numbers, and its TFDV
statistics match the version's schema (in the ``SERVING`` environment without the label, ``TRAINING`` with it)
and have not drifted from the version's training statistics. :mod:`kfx.scoring`'s steps call these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

SERVING = "SERVING"
TRAINING = "TRAINING"
"""TFDV's environments of the schema: a table to score (no label), and a table with the label."""


def numeric_features(schema: schema_pb2.Schema | None) -> dict[str, str]:
    """The schema's numeric features and their type name (``INT``, ``FLOAT``)."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    if schema is None:
        return {}
    return {
        f.name: schema_pb2.FeatureType.Name(f.type)
        for f in schema.feature
        if f.type in (schema_pb2.INT, schema_pb2.FLOAT) and not f.HasField("bool_domain")
    }


def first_non_number(text) -> Any:
    """The CSV line and cell of the first filled cell of a text column that is no number, or None."""
    import pandas as pd

    values = text.to_pandas()
    present = values.notna()
    parsed = pd.to_numeric(values, errors="coerce").notna()
    bad = values[present & ~parsed]
    if not len(bad):
        return None
    return int(bad.index[0]) + 2, str(bad.iloc[0])  # line 1 is the header


def with_environments(schema: schema_pb2.Schema, label_column: str) -> schema_pb2.Schema:
    """A copy of ``schema`` with TFDV's environments ``TRAINING`` and ``SERVING``, the label in ``TRAINING`` only.

    Validated in ``SERVING``, a table without the label is complete; in ``TRAINING`` the label is
    required and its values are checked against the schema's classes.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2

    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    for environment in (TRAINING, SERVING):
        if environment not in result.default_environment:
            result.default_environment.append(environment)
    for feature in result.feature:
        if feature.name == label_column and SERVING not in feature.not_in_environment:
            feature.not_in_environment.append(SERVING)
    return result


def check_scoring(
    scoring: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
    training: statistics_pb2.DatasetFeatureStatisticsList | None,
    label_column: str,
    labelled: bool,
    drift_threshold: float,
) -> anomalies_pb2.Anomalies:
    """The anomalies of the scoring table's statistics: against the schema (in ``SERVING`` without the
    label, ``TRAINING`` with it) and, with ``training``, drift from the version's training statistics.

    The one place batch prediction sets thresholds and calls TFDV's validation; each feature's drift
    threshold is ``drift_threshold`` widened for the rows on each side, as a training run's is
    (:func:`kfx.comparators.compare_features`).
    """
    from kfx import comparators, tfdv_core, thresholds

    checked = with_environments(schema, label_column)
    if training is not None:
        comparisons = comparators.compare_features(
            checked, scoring, training, drift_threshold, thresholds.DRIFT, ("scoring", "training")
        )
        checked = comparators.with_comparators(checked, comparisons)
    return tfdv_core.validate_statistics(
        scoring, checked, previous_statistics=training, environment=TRAINING if labelled else SERVING
    )


def drift(anomalies: anomalies_pb2.Anomalies) -> dict[str, float]:
    """Each feature's measured drift (the largest of its measurements), rounded to 4 places."""
    found = {}
    for info in anomalies.drift_skew_info:
        if info.drift_measurements:
            found[".".join(info.path.step)] = round(max(m.value for m in info.drift_measurements), 4)
    return found


def report_markdown(
    found: list, measured: Mapping[str, float], threshold: float, environment: str, checked: bool
) -> str:
    """A Markdown report of the scoring table's validation, for people and for the pipeline UI."""
    lines = ["# Scoring data validation", ""]
    if not checked:
        return (
            "\n".join(lines + ["The model version keeps no schema nor training statistics: nothing was checked."])
            + "\n"
        )
    lines.append(f"Checked against the model's schema in environment {environment}; drift threshold: {threshold}.")
    lines.append("")
    if found:
        lines += [f"**{len(found)} anomalies found.**", "", "| feature | anomaly | details |", "|---|---|---|"]
        lines += [
            f"| {f.feature} | {f.short} | {f.description.replace('|', '/').replace(chr(10), ' ')} |" for f in found
        ]
    else:
        lines.append("No anomalies found: the table matches the schema and no feature drifted.")
    if measured:
        lines += ["", "| feature | drift from the training statistics |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in sorted(measured.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines) + "\n"
