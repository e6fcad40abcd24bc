"""Checking every split's statistics against the schema, and train vs. eval skew.

An anomalies artifact is a folder with ``Split-<name>/anomalies.pbtxt`` (text
``Anomalies`` protos that ``tfdv.load_anomalies_text`` reads); the step also
writes a Markdown report a person can read. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Mapping

from kfx import storage
from kfx.errors import AnomaliesFound

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

ANOMALIES_FILE = "anomalies.pbtxt"


@dataclass(frozen=True)
class Finding:
    """One anomalous feature in one split.

    Attributes:
        split: The split where TFDV found it.
        feature: The feature (column) name.
        short: TFDV's short description, e.g. "Unexpected string values".
        description: TFDV's full description.
    """

    split: str
    feature: str
    short: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def with_skew_comparators(schema: "schema_pb2.Schema", threshold: float) -> "schema_pb2.Schema":
    """A copy of ``schema`` with a skew comparator on every feature that has none.

    Numeric features get a Jensen-Shannon divergence threshold, categorical ones an
    L-infinity distance threshold, both ``threshold``.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2

    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    for feature in result.feature:
        if feature.HasField("skew_comparator"):
            continue
        if feature.type in (schema_pb2.FLOAT, schema_pb2.INT) and not feature.HasField("bool_domain"):
            feature.skew_comparator.jensen_shannon_divergence.threshold = threshold
        else:
            feature.skew_comparator.infinity_norm.threshold = threshold
    return result


def validate_splits(
    statistics: Mapping[str, "statistics_pb2.DatasetFeatureStatisticsList"],
    schema: "schema_pb2.Schema",
    skew_threshold: float,
    reference: str = "train",
    compare_to: str = "validation",
) -> dict[str, "anomalies_pb2.Anomalies"]:
    """Validates every split against the schema, and ``reference`` vs. ``compare_to`` for skew.

    Args:
        statistics: Split name to statistics.
        schema: The schema every split must follow.
        skew_threshold: Distance above which a feature's distribution counts as skewed.
        reference: The split the model learns from. Defaults to "train".
        compare_to: The split compared with it for skew. Defaults to "validation".

    Returns:
        Split name to anomalies; skew findings are reported on ``reference``.
    """
    from kfx import tfdv_core

    skew_schema = with_skew_comparators(schema, skew_threshold)
    result = {}
    for name, stats in statistics.items():
        if name == reference and compare_to in statistics:
            result[name] = tfdv_core.validate_statistics(
                stats, skew_schema, serving_statistics=statistics[compare_to]
            )
        else:
            result[name] = tfdv_core.validate_statistics(stats, schema)
    return result


def findings(anomalies: Mapping[str, "anomalies_pb2.Anomalies"]) -> list[Finding]:
    """Flattens anomalies into one finding per split and feature, in a stable order."""
    result = []
    for split, proto in anomalies.items():
        for feature, info in sorted(proto.anomaly_info.items()):
            result.append(Finding(split, feature, info.short_description, info.description))
        if proto.HasField("dataset_anomaly_info"):
            info = proto.dataset_anomaly_info
            result.append(Finding(split, "(dataset)", info.short_description, info.description))
    return result


def write_anomalies(anomalies: Mapping[str, "anomalies_pb2.Anomalies"], folder: str) -> None:
    """Writes each split's anomalies as ``folder/Split-<name>/anomalies.pbtxt``."""
    from google.protobuf import text_format

    for name, proto in anomalies.items():
        storage.write_text(os.path.join(folder, f"Split-{name}", ANOMALIES_FILE), text_format.MessageToString(proto))


def report_markdown(found: list[Finding], splits: list[str], skew_threshold: float) -> str:
    """A Markdown report of the findings, for people and for the pipeline UI."""
    lines = ["# Data validation", ""]
    lines.append(f"Checked splits: {', '.join(splits)}; skew threshold train vs. validation: {skew_threshold}.")
    lines.append("")
    if not found:
        lines.append("No anomalies found: every split matches the schema and no feature is skewed.")
        return "\n".join(lines) + "\n"
    lines += [f"**{len(found)} anomalies found.**", "", "| split | feature | anomaly | details |", "|---|---|---|---|"]
    for f in found:
        details = f.description.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {f.split} | {f.feature} | {f.short} | {details} |")
    return "\n".join(lines) + "\n"


def anomalies_error(found: list[Finding]) -> AnomaliesFound:
    """The one-sentence error naming each anomalous feature and what is wrong."""
    parts = [f"{f.feature!r} in {f.split} ({f.short})" for f in found]
    return AnomaliesFound(
        f"TFDV found {len(found)} anomalies: {'; '.join(parts)}; fix the data or curate the schema "
        "(--schema-file), or pass --no-fail-on-anomalies to go on."
    )
