"""Checking every split's statistics against the schema, train vs. eval skew, and drift.

An anomalies artifact is a folder with ``Split-<name>/anomalies.pbtxt`` (text
``Anomalies`` protos that ``tfdv.load_anomalies_text`` reads); the step also
writes a Markdown report a person can read. Nothing here imports TensorFlow.

Skew compares the training split with the validation split; drift compares this
run's training statistics with a previous model's (the champion's). Both use
TFDV's comparators: Jensen-Shannon divergence (in bits) of the histograms of a
numeric feature, L-infinity distance of the value shares of a categorical one.
Two samples of one distribution differ by chance, the more the fewer rows they
have, so a single threshold either flags every feature of a small table or
misses real changes in a large one. Each feature's threshold is therefore a
base (``Config.skew_threshold`` / ``Config.drift_threshold``: the change worth
flagging) plus a noise term from the rows with a value on each side, ``n`` and
``m`` (see :func:`js_noise` and :func:`linf_noise`).

``benchmarks/bench_thresholds.py`` calibrates the noise terms on 20 clean random
splits each of iris, wine, breast cancer and beans (600 rows and all 13,611).
Where chance dominates (iris and wine: 15 and 18 validation rows) the JS noise
term alone covers the largest divergence measured. On larger tables TFDV's
histograms add a part that does not shrink with more rows (each side's buckets
span its own minimum to maximum), up to 0.08 on all of beans: the base covers
it. With the defaults no clean split of these tables has an anomaly, while beans
with one feature ten times larger in half its rows drifts by 0.58 against a
threshold of 0.15.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Optional, Sequence

from kfx import storage
from kfx.errors import AnomaliesFound

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

ANOMALIES_FILE = "anomalies.pbtxt"

SCHEMA, SKEW, DRIFT, MISSING = "schema", "skew", "drift", "missing"
"""What a finding comes from: the schema, train vs. eval skew, drift from the previous statistics, or a
feature the champion reads that the table lacks."""

JS, LINF = "jensen_shannon_divergence", "infinity_norm"
"""The comparator distances, named as in the schema proto's ``FeatureComparator``."""

JS_NOISE_FACTOR = 2.0
"""The JS noise term is this many times the divergence expected between two samples of one distribution.

On 20 clean random splits each of iris and wine the largest divergence is 0.85 and 0.88 times
the term (``of noise`` in ``benchmarks/bench_thresholds.py``).
"""

LINF_NOISE_Z = 3.5
"""The L-infinity noise term is this many standard deviations of the most common value's share.

On the calibration splits (each table with a five-value column added) the largest distance is
at most 0.87 times the term.
"""

STANDARD_BUCKETS = 10
"""Buckets of TFDV's standard histogram, used when the statistics carry none."""


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


@dataclass(frozen=True)
class Comparison:
    """One feature compared between two statistics, and the threshold it was held to.

    Attributes:
        feature: The feature (column) name.
        check: "skew" or "drift".
        distance: ``jensen_shannon_divergence`` (numeric) or ``infinity_norm`` (categorical).
        base: The base threshold (or the schema's own threshold when ``curated``).
        noise: The noise term added for the rows compared (0 when ``curated``).
        rows: Rows with a value on each side (this split's first).
        sides: What the two sides are, e.g. ("train", "validation").
        measured: The distance TFDV measured; None when it measured none (a side has no values).
        curated: The schema had this comparator already; its threshold is used as is.
    """

    feature: str
    check: str
    distance: str
    base: float
    noise: float
    rows: tuple[int, int]
    sides: tuple[str, str]
    measured: Optional[float] = None
    curated: bool = False

    @property
    def threshold(self) -> float:
        """The threshold TFDV was given: base plus noise, at most 1 (both distances are at most 1)."""
        return min(1.0, self.base + self.noise)

    @property
    def exceeded(self) -> bool:
        """Whether the measured distance is above the threshold (TFDV's own test)."""
        return self.measured is not None and self.measured > self.threshold

    def why(self) -> str:
        """Where the threshold comes from, in words."""
        if self.curated:
            return "set in the schema"
        n, m = self.rows
        if not math.isfinite(self.noise):
            return f"{self.base:g} base; no values on one side ({n} {self.sides[0]} vs. {m} {self.sides[1]} rows)"
        text = f"{self.base:g} base + {self.noise:.4f} noise ({n} {self.sides[0]} vs. {m} {self.sides[1]} rows)"
        return text + (", capped at 1" if self.base + self.noise > 1 else "")

    def to_dict(self) -> dict:
        """Plain values, with the threshold and why, for summaries and step results."""
        values = asdict(self)
        values.update(rows=list(self.rows), sides=list(self.sides), threshold=self.threshold, why=self.why(),
                      noise=self.noise if math.isfinite(self.noise) else None)
        return values


@dataclass
class Validation:
    """What :func:`validate` found.

    Attributes:
        anomalies: Split name to TFDV's anomalies; skew and drift are reported on the reference split.
        comparisons: Every feature compared for skew and for drift, with its threshold and measure.
    """

    anomalies: dict[str, "anomalies_pb2.Anomalies"]
    comparisons: list[Comparison]


def js_noise(n: int, m: int, buckets: int = STANDARD_BUCKETS) -> float:
    """Noise term of the Jensen-Shannon divergence between ``n`` and ``m`` values of one distribution.

    TFDV compares the standard histograms of the two sides (``buckets`` equal-width buckets between
    each side's own minimum and maximum), re-bucketed onto the union of their bucket edges: up to
    ``2 * buckets - 1`` buckets, so ``2 * (buckets - 1)`` degrees of freedom. For two samples of one
    distribution, ``8 ln 2`` times the divergence in bits is then about chi-square with those degrees
    of freedom times ``1/n + 1/m``; its mean, ``2 (buckets - 1) / (8 ln 2) * (1/n + 1/m)``, matches
    the median divergence measured on clean splits of small tables, and the term is
    :data:`JS_NOISE_FACTOR` times that.

    Args:
        n: Values on one side.
        m: Values on the other.
        buckets: Buckets of the standard histogram. Defaults to TFDV's 10.

    Returns:
        The term, in bits; infinite when a side has no values.
    """
    if n <= 0 or m <= 0:
        return math.inf
    freedom = 2 * (max(buckets, 2) - 1)
    return JS_NOISE_FACTOR * freedom / (8 * math.log(2)) * (1 / n + 1 / m)


def linf_noise(n: int, m: int, share: float) -> float:
    """Noise term of the L-infinity distance between the value shares of ``n`` and ``m`` values.

    The share of one value differs between the sides with a standard deviation of
    ``sqrt(p (1 - p) (1/n + 1/m))``; the largest over all values is that of the value whose share
    ``p`` is nearest one half, the most common one. The term is :data:`LINF_NOISE_Z` of them.

    Args:
        n: Values on one side.
        m: Values on the other.
        share: The most common value's share of the values.

    Returns:
        The term; infinite when a side has no values.
    """
    if n <= 0 or m <= 0:
        return math.inf
    share = min(max(share, 0.0), 1.0)
    return LINF_NOISE_Z * math.sqrt(share * (1 - share) * (1 / n + 1 / m))


def distance_of(feature: "schema_pb2.Feature") -> str:
    """The distance kfx compares a feature with: JS for numbers, L-infinity for categories (and booleans)."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    if feature.type in (schema_pb2.FLOAT, schema_pb2.INT) and not feature.HasField("bool_domain"):
        return JS
    return LINF


def _by_name(statistics: "statistics_pb2.DatasetFeatureStatisticsList") -> dict:
    features = statistics.datasets[0].features if statistics.datasets else []
    return {".".join(f.path.step) if f.path.step else f.name: f for f in features}


def _rows(feature) -> int:
    """Rows with a value of the feature (0 for a feature the statistics do not have)."""
    kind = feature.WhichOneof("stats") if feature is not None else None
    if kind not in ("num_stats", "string_stats", "bytes_stats", "struct_stats"):
        return 0
    return int(getattr(feature, kind).common_stats.num_non_missing)


def _buckets(feature) -> int:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    if feature is not None and feature.HasField("num_stats"):
        for histogram in feature.num_stats.histograms:
            if histogram.type == statistics_pb2.Histogram.STANDARD and histogram.buckets:
                return len(histogram.buckets)
    return STANDARD_BUCKETS


def _top_share(feature) -> float:
    """The most common value's share; one half (the largest variance) when the statistics do not say."""
    rows = _rows(feature)
    if feature is None or not feature.HasField("string_stats") or not rows:
        return 0.5
    stats = feature.string_stats
    top = stats.top_values[0].frequency if stats.top_values else (
        stats.rank_histogram.buckets[0].sample_count if stats.rank_histogram.buckets else 0)
    return top / rows if top else 0.5


def _comparator(feature: "schema_pb2.Feature", check: str):
    return feature.skew_comparator if check == SKEW else feature.drift_comparator


def compare_features(
    schema: "schema_pb2.Schema",
    statistics: "statistics_pb2.DatasetFeatureStatisticsList",
    control: "statistics_pb2.DatasetFeatureStatisticsList",
    base: float,
    check: str,
    sides: tuple[str, str],
) -> list[Comparison]:
    """The comparison of every schema feature between two statistics, with its size-aware threshold.

    A feature whose schema has this comparator already keeps the schema's threshold (``curated``).

    Args:
        schema: The schema.
        statistics: This side's statistics (the split TFDV validates).
        control: The other side's: the validation split (skew) or the previous statistics (drift).
        base: The base threshold.
        check: "skew" or "drift".
        sides: Names of the two sides, for the report.

    Returns:
        One comparison per schema feature, in the schema's order (not measured yet).
    """
    ours, theirs = _by_name(statistics), _by_name(control)
    result = []
    for feature in schema.feature:
        comparator = _comparator(feature, check)
        a, b = ours.get(feature.name), theirs.get(feature.name)
        if check == DRIFT and b is None:
            continue  # a column the previous model never saw has no earlier distribution to drift from
        rows = (_rows(a), _rows(b))
        if feature.HasField(f"{check}_comparator"):
            distance = JS if comparator.HasField(JS) else LINF
            given = getattr(comparator, distance).threshold
            result.append(Comparison(feature.name, check, distance, given, 0.0, rows, sides, curated=True))
            continue
        distance = distance_of(feature)
        if distance == JS:
            noise = js_noise(*rows, buckets=_buckets(a if a is not None else b))
        else:
            noise = linf_noise(*rows, share=_top_share(a if a is not None else b))
        result.append(Comparison(feature.name, check, distance, base, noise, rows, sides))
    return result


def with_comparators(schema: "schema_pb2.Schema", comparisons: Iterable[Comparison]) -> "schema_pb2.Schema":
    """A copy of ``schema`` with the skew / drift comparator of each comparison that is not ``curated``."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    features = {f.name: f for f in result.feature}
    for c in comparisons:
        if not c.curated and c.feature in features:
            getattr(_comparator(features[c.feature], c.check), c.distance).threshold = c.threshold
    return result


def with_skew_comparators(schema: "schema_pb2.Schema", threshold: float) -> "schema_pb2.Schema":
    """A copy of ``schema`` with a skew comparator of one fixed ``threshold`` on every feature that has none.

    Numeric features get a Jensen-Shannon divergence threshold, categorical ones an
    L-infinity distance threshold. :func:`validate` sets size-aware thresholds instead.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2

    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    for feature in result.feature:
        if not feature.HasField("skew_comparator"):
            getattr(feature.skew_comparator, distance_of(feature)).threshold = threshold
    return result


def measurements(anomalies: Optional["anomalies_pb2.Anomalies"]) -> dict[tuple[str, str], float]:
    """(feature, "skew" | "drift") to the distance TFDV measured, from the anomalies' drift/skew info."""
    result: dict[tuple[str, str], float] = {}
    for info in anomalies.drift_skew_info if anomalies is not None else ():
        name = ".".join(info.path.step)
        for check, measured in ((SKEW, info.skew_measurements), (DRIFT, info.drift_measurements)):
            if measured:
                result[(name, check)] = max(x.value for x in measured)
    return result


def validate(
    statistics: Mapping[str, "statistics_pb2.DatasetFeatureStatisticsList"],
    schema: "schema_pb2.Schema",
    skew_threshold: float,
    reference: str = "train",
    compare_to: str = "validation",
    previous: Optional["statistics_pb2.DatasetFeatureStatisticsList"] = None,
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
        checks += compare_features(schema, statistics[reference], serving, skew_threshold, SKEW,
                                   (reference, compare_to))
    if previous is not None and reference in statistics:
        checks += compare_features(schema, statistics[reference], previous, drift_threshold, DRIFT,
                                   (reference, f"previous {reference}"))
    anomalies = {}
    for name, stats in statistics.items():
        if name == reference and checks:
            anomalies[name] = tfdv_core.validate_statistics(
                stats, with_comparators(schema, checks), previous_statistics=previous, serving_statistics=serving)
        else:
            anomalies[name] = tfdv_core.validate_statistics(stats, schema)
    measured = measurements(anomalies.get(reference))
    checks = [dataclasses.replace(c, measured=measured.get((c.feature, c.check))) for c in checks]
    return Validation(anomalies, checks)


def validate_splits(
    statistics: Mapping[str, "statistics_pb2.DatasetFeatureStatisticsList"],
    schema: "schema_pb2.Schema",
    skew_threshold: float,
    reference: str = "train",
    compare_to: str = "validation",
    previous: Optional["statistics_pb2.DatasetFeatureStatisticsList"] = None,
    drift_threshold: Optional[float] = None,
) -> dict[str, "anomalies_pb2.Anomalies"]:
    """The anomalies of :func:`validate` (same arguments): split name to anomalies."""
    return validate(statistics, schema, skew_threshold, reference, compare_to, previous, drift_threshold).anomalies


def check_of(reason: "anomalies_pb2.AnomalyInfo.Reason") -> str:
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


def findings(anomalies: Mapping[str, "anomalies_pb2.Anomalies"]) -> list[Finding]:
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


def write_anomalies(anomalies: Mapping[str, "anomalies_pb2.Anomalies"], folder: str) -> None:
    """Writes each split's anomalies as ``folder/Split-<name>/anomalies.pbtxt``."""
    from google.protobuf import text_format

    for name, proto in anomalies.items():
        storage.write_text(os.path.join(folder, f"Split-{name}", ANOMALIES_FILE), text_format.MessageToString(proto))


_DISTANCES = {JS: "Jensen-Shannon", LINF: "L-infinity"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(
    found: list[Finding],
    splits: list[str],
    skew_threshold: float,
    comparisons: Sequence[Comparison] = (),
    drift_threshold: Optional[float] = None,
) -> str:
    """A Markdown report of the findings, for people and for the pipeline UI.

    Args:
        found: The findings.
        splits: The splits checked.
        skew_threshold: The base skew threshold.
        comparisons: Every feature compared, with its threshold (see :func:`validate`); with them,
            the report gives each feature's threshold and why.
        drift_threshold: The base drift threshold, when drift was checked.
    """
    lines = ["# Data validation", ""]
    widened = " plus a noise term per feature for the rows compared (see Thresholds)" if comparisons else ""
    line = f"Checked splits: {', '.join(splits)}; skew threshold train vs. validation: {skew_threshold}{widened}."
    if drift_threshold is not None:
        line += (f" Drift threshold train vs. the previous training statistics: {drift_threshold}"
                 f"{' plus a noise term per feature' if comparisons else ''}.")
    lines += [line, ""]
    if not found:
        drifted = " or drifted" if drift_threshold is not None else ""
        lines.append(f"No anomalies found: every split matches the schema and no feature is skewed{drifted}.")
    else:
        lines += [f"**{len(found)} anomalies found.**", "", "| split | feature | check | anomaly | details |",
                  "|---|---|---|---|---|"]
        lines += [f"| {f.split} | {f.feature} | {f.check} | {f.short} | {_cell(f.description)} |" for f in found]
    if comparisons:
        lines += ["", "## Thresholds", "",
                  "Two samples of one distribution differ by chance, the more the fewer rows they have, so each "
                  "feature's threshold is the base plus a noise term for the n and m rows with a value on each side: "
                  f"for the Jensen-Shannon divergence of numeric features {JS_NOISE_FACTOR:g} × 2(k − 1) / (8 ln 2) "
                  "× (1/n + 1/m), k the histogram's buckets; for the L-infinity distance of categorical features "
                  f"{LINF_NOISE_Z:g} × √(p (1 − p) (1/n + 1/m)), p the most common value's share.",
                  "", "| feature | check | distance | measured | threshold | why |", "|---|---|---|---|---|---|"]
        for c in comparisons:
            measured = "–" if c.measured is None else f"{c.measured:.4f}"
            flag = " **above**" if c.exceeded else ""
            lines.append(f"| {c.feature} | {c.check} | {_DISTANCES[c.distance]} | {measured}{flag} | "
                         f"{c.threshold:.4f} | {_cell(c.why())} |")
    return "\n".join(lines) + "\n"


def missing_findings(features: Sequence[str], champion: str, split: str = "train") -> list[Finding]:
    """A finding for each feature the champion (``beans v1``) reads that the table lacks.

    Such a table is a data problem, reported with the table's other anomalies; drift from the
    champion's training data is measured on the features the table has.
    """
    return [
        Finding(split, feature, "Missing feature the champion reads",
                f"The champion {champion} reads {feature!r}, which this table lacks; drift from its training data "
                "is measured on the features the table has.", MISSING)
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
    lacks = (f"This table lacks the feature{'' if one else 's'} {', '.join(map(repr, missing))} that the champion "
             f"{champion or 'model'} reads (drift from its training data measured on the {measured} other "
             f"features{drifted})")
    fix = f"add {'it' if one else 'them'} to the table, or pass --model-name with a new name for a model of this table"
    if not others:
        return AnomaliesFound(f"{lacks}; {fix}.")
    return AnomaliesFound(f"{lacks}, and {tfdv}; {fix}, and fix the data or curate the schema (--schema-file).")
