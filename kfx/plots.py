"""Static pictures for people: TFDV statistics as histograms and tables (the pipeline's graph is in
:mod:`kfx.pipeline_plots`).

TFDV's own view (Facets) needs JavaScript, so a notebook saved to disk, a CI log
or a pull request shows nothing of it. The figures here are plain matplotlib
drawn from the same statistics protos, so they survive as PNG in a saved
notebook. Figures are made with :class:`matplotlib.figure.Figure`, not pyplot:
nothing is kept open behind the caller's back, and a notebook shows a returned
figure once (``%matplotlib inline`` registers the PNG formatter). matplotlib,
pandas and networkx are imported inside the functions that use them.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional, TypeAlias, Union

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from tensorflow_metadata.proto.v0 import statistics_pb2

    StatsList: TypeAlias = statistics_pb2.DatasetFeatureStatisticsList

# One colour per compared dataset, in order (matplotlib's default cycle).
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def _datasets(stats: Union[StatsList, Mapping[str, StatsList]]) -> dict[str, Any]:
    """Name to ``DatasetFeatureStatistics``, from one statistics list or a mapping of them."""
    if hasattr(stats, "datasets"):
        return {d.name or f"dataset {i}": d for i, d in enumerate(stats.datasets)}
    return {name: s.datasets[0] for name, s in stats.items()}


def feature_name(feature: Any) -> str:
    """The name of a ``FeatureNameStatistics`` (its path, or its legacy name)."""
    return ".".join(feature.path.step) if feature.path.step else feature.name


def _features(dataset: Any) -> dict[str, Any]:
    return {feature_name(f): f for f in dataset.features}


def _common(feature: Any) -> Any:
    kind = feature.WhichOneof("stats")
    return getattr(feature, kind).common_stats if kind in ("num_stats", "string_stats", "bytes_stats") else None


def feature_table(stats: Union[StatsList, Mapping[str, StatsList]]) -> pd.DataFrame:
    """One row per dataset and feature: type, count, missing, mean, std, min, median, max, unique.

    Args:
        stats: A statistics list, or split name to statistics list.

    Returns:
        A DataFrame indexed by (dataset, feature); numbers that do not apply are NaN.
    """
    import pandas as pd

    rows = []
    for name, dataset in _datasets(stats).items():
        for feature_id, feature in _features(dataset).items():
            common = _common(feature)
            present = int(common.num_non_missing) if common is not None else 0
            missing = int(common.num_missing) if common is not None else 0
            row = {
                "dataset": name,
                "feature": feature_id,
                "type": "numeric" if feature.HasField("num_stats") else "categorical",
                "count": present,
                "missing": missing,
            }
            if feature.HasField("num_stats"):
                n = feature.num_stats
                row.update(mean=n.mean, std=n.std_dev, min=n.min, median=n.median, max=n.max, zeros=int(n.num_zeros))
            elif feature.HasField("string_stats"):
                s = feature.string_stats
                row.update(unique=int(s.unique), top=s.top_values[0].value if s.top_values else "")
            rows.append(row)
    columns = [
        "dataset",
        "feature",
        "type",
        "count",
        "missing",
        "mean",
        "std",
        "min",
        "median",
        "max",
        "zeros",
        "unique",
        "top",
    ]
    return pd.DataFrame(rows).reindex(columns=columns).set_index(["dataset", "feature"])


def _standard_histogram(feature: Any):
    from tensorflow_metadata.proto.v0 import statistics_pb2

    for histogram in feature.num_stats.histograms:
        if histogram.type == statistics_pb2.Histogram.STANDARD:
            return histogram
    return None


def histogram_data(feature: Any) -> dict[str, list]:
    """Bars of one feature: ``left``, ``width``, ``height`` (numeric) or ``labels``, ``height`` (categorical).

    Numeric features use TFDV's standard (equal-width) histogram; categorical ones
    the rank histogram (most frequent values first). Heights are shares of the
    feature's non-missing values, so datasets of different sizes compare.
    """
    common = _common(feature)
    total = max(float(common.num_non_missing), 1.0) if common is not None else 1.0
    if feature.HasField("num_stats"):
        histogram = _standard_histogram(feature)
        buckets = list(histogram.buckets) if histogram is not None else []
        return {
            "left": [b.low_value for b in buckets],
            "width": [b.high_value - b.low_value for b in buckets],
            "height": [b.sample_count / total for b in buckets],
        }
    buckets = list(feature.string_stats.rank_histogram.buckets)
    return {"labels": [b.label for b in buckets], "height": [b.sample_count / total for b in buckets]}


def feature_histograms(
    stats: Union[StatsList, Mapping[str, StatsList]],
    features: Optional[Iterable[str]] = None,
    columns: int = 4,
) -> Figure:
    """One small histogram per feature, every dataset overlaid (e.g. train vs. eval).

    Args:
        stats: A statistics list, or split name to statistics list; each becomes one colour.
        features: Features to draw, in this order; defaults to all features of the first dataset.
        columns: Panels per row. Defaults to 4.

    Returns:
        The figure; each panel's title is its feature's name.
    """
    from matplotlib.figure import Figure

    datasets = {name: _features(d) for name, d in _datasets(stats).items()}
    first = next(iter(datasets.values()))
    names = list(features) if features is not None else list(first)
    columns = max(1, min(columns, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    fig = Figure(figsize=(3.2 * columns, 2.3 * rows + 0.6), dpi=90, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        for colour, (label, by_name) in zip(_COLOURS, datasets.items(), strict=False):
            if name not in by_name:
                continue
            bars = histogram_data(by_name[name])
            if "left" in bars:
                ax.bar(
                    bars["left"],
                    bars["height"],
                    width=bars["width"],
                    align="edge",
                    alpha=0.55,
                    color=colour,
                    label=label,
                )
            else:
                ax.bar(bars["labels"], bars["height"], alpha=0.55, color=colour, label=label)
                ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if len(datasets) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside upper right", ncols=len(datasets), fontsize=8)
    fig.suptitle("Share of values per bucket", fontsize=10)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (for files, HTML pages and tests)."""
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
