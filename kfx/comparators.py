"""TFDV's skew and drift comparators: each feature's size-aware threshold (:mod:`kfx.thresholds`) put into
the schema, and the distances TFDV measured read back from its anomalies. Nothing here imports TensorFlow.

A numeric feature's noise term is the larger of the closed form (:func:`kfx.thresholds.js_noise`) and the
divergence TFDV's own approximation reaches by chance between samples of the two sizes drawn from the two
sides' values pooled (:func:`kfx.js_sampling.null_quantile`), which the closed form misses for values that
pile up on a few numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Optional

from kfx import js_sampling
from kfx.thresholds import (
    DRIFT,
    JS,
    JS_QUANTILE,
    LINF,
    SKEW,
    STANDARD_BUCKETS,
    Comparison,
    js_noise,
    linf_noise,
)

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2


def distance_of(feature: schema_pb2.Feature) -> str:
    """The distance kfx compares a feature with: JS for numbers, L-infinity for categories (and booleans)."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    if feature.type in (schema_pb2.FLOAT, schema_pb2.INT) and not feature.HasField("bool_domain"):
        return JS
    return LINF


def _by_name(statistics: statistics_pb2.DatasetFeatureStatisticsList) -> dict:
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


def _histogram(feature, kind: str) -> list[js_sampling.Bucket]:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    wanted = statistics_pb2.Histogram.HistogramType.Value(kind)
    for histogram in feature.num_stats.histograms:
        if histogram.type == wanted:
            return [(b.low_value, b.high_value, b.sample_count) for b in histogram.buckets]
    return []


def _shape(feature, integer: bool) -> js_sampling.Shape:
    """The distribution of a numeric feature's values, rebuilt from its statistics."""
    if feature is None or not feature.HasField("num_stats"):
        return js_sampling.Shape(integer=integer)
    return js_sampling.Shape.of(
        _histogram(feature, "STANDARD"), _histogram(feature, "QUANTILES"), feature.num_stats.num_zeros, integer
    )


def _js_noise(feature: schema_pb2.Feature, a, b, rows: tuple[int, int]) -> float:
    """The larger of the closed-form JS noise term and the divergence TFDV reaches by chance for these values."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    buckets = _buckets(a if a is not None else b)
    closed = js_noise(*rows, buckets=buckets)
    if not (a is not None and b is not None and a.HasField("num_stats") and b.HasField("num_stats")):
        return closed
    integer = feature.type == schema_pb2.INT
    chance = js_sampling.null_quantile(_shape(a, integer), _shape(b, integer), *rows, buckets, JS_QUANTILE)
    return max(closed, chance)


def _top_share(feature) -> float:
    """The most common value's share; one half (the largest variance) when the statistics do not say."""
    rows = _rows(feature)
    if feature is None or not feature.HasField("string_stats") or not rows:
        return 0.5
    stats = feature.string_stats
    top = (
        stats.top_values[0].frequency
        if stats.top_values
        else (stats.rank_histogram.buckets[0].sample_count if stats.rank_histogram.buckets else 0)
    )
    return top / rows if top else 0.5


def _comparator(feature: schema_pb2.Feature, check: str):
    return feature.skew_comparator if check == SKEW else feature.drift_comparator


def compare_features(
    schema: schema_pb2.Schema,
    statistics: statistics_pb2.DatasetFeatureStatisticsList,
    control: statistics_pb2.DatasetFeatureStatisticsList,
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
            noise = _js_noise(feature, a, b, rows)
        else:
            noise = linf_noise(*rows, share=_top_share(a if a is not None else b))
        result.append(Comparison(feature.name, check, distance, base, noise, rows, sides))
    return result


def with_comparators(schema: schema_pb2.Schema, comparisons: Iterable[Comparison]) -> schema_pb2.Schema:
    """A copy of ``schema`` with the skew / drift comparator of each comparison that is not ``curated``."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    features = {f.name: f for f in result.feature}
    for c in comparisons:
        if not c.curated and c.feature in features:
            getattr(_comparator(features[c.feature], c.check), c.distance).threshold = c.given
    return result


def with_skew_comparators(schema: schema_pb2.Schema, threshold: float) -> schema_pb2.Schema:
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


def measurements(anomalies: Optional[anomalies_pb2.Anomalies]) -> dict[tuple[str, str], float]:
    """(feature, "skew" | "drift") to the distance TFDV measured, from the anomalies' drift/skew info."""
    result: dict[tuple[str, str], float] = {}
    for info in anomalies.drift_skew_info if anomalies is not None else ():
        name = ".".join(info.path.step)
        for check, measured in ((SKEW, info.skew_measurements), (DRIFT, info.drift_measurements)):
            if measured:
                result[(name, check)] = max(x.value for x in measured)
    return result
