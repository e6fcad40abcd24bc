"""Checking every split's statistics against the schema, train vs. eval skew, and drift.

An anomalies artifact is a folder with ``Split-<name>/anomalies.pbtxt`` (text
``Anomalies`` protos that ``tfdv.load_anomalies_text`` reads); the step also
writes a Markdown report a person can read. Nothing here imports TensorFlow.

Skew compares the training split with the validation split; drift compares this
run's training statistics with a previous model's (the champion's), each feature
held to a threshold that widens for fewer rows (:mod:`kfx.thresholds`), set in
the schema's comparators (:mod:`kfx.comparators`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Optional

from kfx import storage
from kfx.comparators import compare_features, measurements, with_comparators
from kfx.errors import AnomaliesFound
from kfx.thresholds import DRIFT, SKEW, Comparison

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

ANOMALIES_FILE = "anomalies.pbtxt"

SCHEMA, MISSING = "schema", "missing"
"""What a finding comes from besides skew and drift (:data:`kfx.thresholds.SKEW`, ``DRIFT``): the schema, or a
feature the champion reads that the table lacks."""


@dataclass(frozen=True)
class Finding:
    """One anomalous feature in one split.

    Attributes:
        split: The split where TFDV found it.
        feature: The feature (column) name.
        short: TFDV's short description, e.g. "Unexpected string values".
        description: TFDV's full description.
        check: What found it: "schema", "skew" (train vs. eval), "drift" (vs. the previous
            training statistics) or "missing" (the champion reads it). Defaults to "schema".
    """

    split: str
    feature: str
    short: str
    description: str
    check: str = SCHEMA

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Validation:
    """What :func:`validate` found.

    Attributes:
        anomalies: Split name to TFDV's anomalies; skew and drift are reported on the reference split.
        comparisons: Every feature compared for skew and for drift, with its threshold and measure.
    """

    anomalies: dict[str, anomalies_pb2.Anomalies]
    comparisons: list[Comparison]


def validate(
    statistics: Mapping[str, statistics_pb2.DatasetFeatureStatisticsList],
    schema: schema_pb2.Schema,
    skew_threshold: float,
    reference: str = "train",
    compare_to: str = "validation",
    previous: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
    drift_threshold: Optional[float] = None,
) -> Validation:
    """Validates every split against the schema, ``reference`` vs. ``compare_to`` for skew and
    ``reference`` vs. ``previous`` for drift, each feature against its size-aware threshold.

    Args:
        statistics: Split name to statistics.
        schema: The schema every split must follow. Comparators it has already are kept.
        skew_threshold: Base threshold of the skew check.
        reference: The split the model learns from. Defaults to "train".
        compare_to: The split compared with it for skew. Defaults to "validation".
        previous: Statistics to compare ``reference`` with for drift (the previous model's training
            statistics); None checks no drift.
        drift_threshold: Base threshold of the drift check; needed with ``previous``.

    Returns:
        The anomalies of every split (skew and drift reported on ``reference``) and every comparison.
    """
    from kfx import tfdv_core

    if previous is not None and drift_threshold is None:
        raise TypeError("validate() needs drift_threshold to compare with previous statistics.")
    checks: list[Comparison] = []
    serving = statistics.get(compare_to) if reference in statistics else None
    if serving is not None:
        checks += compare_features(
            schema, statistics[reference], serving, skew_threshold, SKEW, (reference, compare_to)
        )
    if previous is not None and drift_threshold is not None and reference in statistics:
        checks += compare_features(
            schema, statistics[reference], previous, drift_threshold, DRIFT, (reference, f"previous {reference}")
        )
    anomalies = {}
    for name, stats in statistics.items():
        if name == reference and checks:
            anomalies[name] = tfdv_core.validate_statistics(
                stats, with_comparators(schema, checks), previous_statistics=previous, serving_statistics=serving
            )
        else:
            anomalies[name] = tfdv_core.validate_statistics(stats, schema)
    measured = measurements(anomalies.get(reference))
    checks = [dataclasses.replace(c, measured=measured.get((c.feature, c.check))) for c in checks]
    return Validation(anomalies, checks)


def validate_splits(
    statistics: Mapping[str, statistics_pb2.DatasetFeatureStatisticsList],
    schema: schema_pb2.Schema,
    skew_threshold: float,
    reference: str = "train",
    compare_to: str = "validation",
    previous: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
    drift_threshold: Optional[float] = None,
) -> dict[str, anomalies_pb2.Anomalies]:
    """The anomalies of :func:`validate` (same arguments): split name to anomalies."""
    return validate(statistics, schema, skew_threshold, reference, compare_to, previous, drift_threshold).anomalies


def check_of(reason: anomalies_pb2.AnomalyInfo.Reason) -> str:
    """Which check a TFDV anomaly reason comes from: "schema", "skew" or "drift".

    TFDV gives skew and drift the same comparator reason types; their texts name the sides
    ("training" and "serving" for skew, "current" and "previous" for drift).
    """
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    try:
        name = anomalies_pb2.AnomalyInfo.Type.Name(reason.type)
    except ValueError:
        return SCHEMA
    if not name.startswith("COMPARATOR_"):
        return SCHEMA
    text = f"{reason.short_description} {reason.description}".lower()
    return DRIFT if "previous" in text or "current" in text else SKEW


def findings(anomalies: Mapping[str, anomalies_pb2.Anomalies]) -> list[Finding]:
    """Flattens anomalies into findings, in a stable order: one per split, feature and check.

    A feature with reasons from more than one check (say skew and drift) gives one finding per
    check, each with its own reasons; otherwise the finding carries TFDV's own descriptions.
    """
    result = []
    for split, proto in anomalies.items():
        for feature, info in sorted(proto.anomaly_info.items()):
            groups: dict[str, list] = {}
            for reason in info.reason:
                groups.setdefault(check_of(reason), []).append(reason)
            if len(groups) <= 1:
                check = next(iter(groups), SCHEMA)
                result.append(Finding(split, feature, info.short_description, info.description, check))
                continue
            for check in (SCHEMA, SKEW, DRIFT):
                reasons = groups.get(check, [])
                if reasons:
                    short = "; ".join(r.short_description for r in reasons)
                    result.append(Finding(split, feature, short, " ".join(r.description for r in reasons), check))
        if proto.HasField("dataset_anomaly_info"):
            info = proto.dataset_anomaly_info
            result.append(Finding(split, "(dataset)", info.short_description, info.description))
    return result


def write_anomalies(anomalies: Mapping[str, anomalies_pb2.Anomalies], folder: str) -> None:
    """Writes each split's anomalies as ``folder/Split-<name>/anomalies.pbtxt``."""
    from google.protobuf import text_format

    for name, proto in anomalies.items():
        storage.write_text(os.path.join(folder, f"Split-{name}", ANOMALIES_FILE), text_format.MessageToString(proto))


def missing_findings(features: Sequence[str], champion: str, split: str = "train") -> list[Finding]:
    """A finding for each feature the champion (``beans v1``) reads that the table lacks.

    Such a table is a data problem, reported with the table's other anomalies; drift from the
    champion's training data is measured on the features the table has.
    """
    return [
        Finding(
            split,
            feature,
            "Missing feature the champion reads",
            f"The champion {champion} reads {feature!r}, which this table lacks; drift from its training data "
            "is measured on the features the table has.",
            MISSING,
        )
        for feature in features
    ]


def anomalies_error(found: list[Finding], champion: str = "", comparisons: Sequence[Comparison] = ()) -> AnomaliesFound:
    """The one-sentence error naming each anomalous feature and what is wrong.

    Args:
        found: The findings.
        champion: The champion (``beans v1``) that findings of missing features name.
        comparisons: The features compared (:func:`validate`); with missing features, the sentence says
            on how many the drift from the champion was measured, and which drifted.
    """

    def part(f: Finding) -> str:
        if f.check == DRIFT:
            return f"{f.feature!r} drifted from the champion's training data ({f.short})"
        if f.check == SKEW:
            return f"{f.feature!r} differs between train and validation ({f.short})"
        return f"{f.feature!r} in {f.split} ({f.short})"

    missing = [f.feature for f in found if f.check == MISSING]
    others = [f for f in found if f.check != MISSING]
    tfdv = f"TFDV found {len(others)} anomalies: {'; '.join(map(part, others))}"
    if not missing:
        return AnomaliesFound(
            f"{tfdv}; fix the data or curate the schema (--schema-file), or pass --no-fail-on-anomalies to go on."
        )
    # No --no-fail-on-anomalies here: the champion could not be scored on a table without its features.
    one = len(missing) == 1
    measured = sum(1 for c in comparisons if c.check == DRIFT and c.measured is not None)
    drifted = "" if any(f.check == DRIFT for f in others) else ": none drifted"  # else TFDV's part names them
    lacks = (
        f"This table lacks the feature{'' if one else 's'} {', '.join(map(repr, missing))} that the champion "
        f"{champion or 'model'} reads (drift from its training data measured on the {measured} other "
        f"features{drifted})"
    )
    fix = f"add {'it' if one else 'them'} to the table, or pass --model-name with a new name for a model of this table"
    if not others:
        return AnomaliesFound(f"{lacks}; {fix}.")
    return AnomaliesFound(f"{lacks}, and {tfdv}; {fix}, and fix the data or curate the schema (--schema-file).")
