"""Static pictures for people: TFDV statistics as histograms and tables, the pipeline as a graph.

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
    import networkx as nx
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


def pipeline_graph(pipeline: Any) -> nx.DiGraph:
    """The task graph of a pipeline: one node per task, one edge per dependency.

    Args:
        pipeline: A ``@dsl.pipeline`` function, a compiled pipeline spec (dict as in
            the YAML) or the path of a compiled YAML file.

    Returns:
        A directed graph; nodes carry ``label`` (display name) and ``component``,
        edges carry ``artifacts`` (the artifacts and output parameters passed along
        them, sorted).
        Tasks inside a group (an exit handler, a condition) are drawn as tasks;
        the group's dependencies go to the tasks at its edges.
    """
    import networkx as nx

    spec = _pipeline_spec(pipeline)
    graph = nx.DiGraph()
    _add_dag(graph, spec, spec["root"]["dag"])
    return graph


def _pipeline_spec(pipeline: Any) -> dict[str, Any]:
    if isinstance(pipeline, dict):
        return pipeline
    if isinstance(pipeline, str):
        import yaml

        with open(pipeline) as f:
            return next(d for d in yaml.safe_load_all(f) if d and "root" in d)
    from google.protobuf import json_format

    return json_format.MessageToDict(pipeline.pipeline_spec)


def _add_dag(graph: nx.DiGraph, spec: dict[str, Any], dag: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Adds a DAG's tasks; returns its entry and exit leaf tasks (for the enclosing DAG's edges)."""
    entries: dict[str, list[str]] = {}
    exits: dict[str, list[str]] = {}
    tasks = dag.get("tasks", {})
    for name, task in tasks.items():
        component = spec["components"][task["componentRef"]["name"]]
        if "dag" in component:
            entries[name], exits[name] = _add_dag(graph, spec, component["dag"])
        else:
            graph.add_node(
                name, label=task.get("taskInfo", {}).get("name", name), component=task["componentRef"]["name"]
            )
            entries[name] = exits[name] = [name]
    for name, task in tasks.items():
        passed: dict[str, set[str]] = {}
        inputs = task.get("inputs", {})
        for value in [*inputs.get("artifacts", {}).values(), *inputs.get("parameters", {}).values()]:
            output = value.get("taskOutputArtifact") or value.get("taskOutputParameter")
            if output:
                key = output.get("outputArtifactKey") or output.get("outputParameterKey")
                passed.setdefault(output["producerTask"], set()).add(key)
        for upstream in task.get("dependentTasks", []):
            for source in exits[upstream]:
                for target in entries[name]:
                    graph.add_edge(source, target, artifacts=sorted(passed.get(upstream, ())))
    has_upstream = {n for n, t in tasks.items() if t.get("dependentTasks")}
    has_downstream = {u for t in tasks.values() for u in t.get("dependentTasks", [])}
    return (
        [leaf for n in tasks if n not in has_upstream for leaf in entries[n]],
        [leaf for n in tasks if n not in has_downstream for leaf in exits[n]],
    )


def pipeline_figure(pipeline: Any, show_artifacts: bool = True) -> Figure:
    """A picture of the pipeline's DAG, left to right in run order.

    Edges between neighbouring steps are straight; an edge that skips steps (an
    artifact used further down) arcs over them, so no edge runs through a step.

    Args:
        pipeline: See :func:`pipeline_graph`.
        show_artifacts: Write the artifacts and parameters passed on each edge. Defaults to True.

    Returns:
        The figure.
    """
    import networkx as nx
    from matplotlib.figure import Figure

    graph = pipeline_graph(pipeline)
    layers = list(nx.topological_generations(graph))
    position = {}
    for x, nodes in enumerate(layers):
        for i, node in enumerate(sorted(nodes)):
            position[node] = (float(x), (len(nodes) - 1) / 2 - i)
    tall = max((len(nodes) for nodes in layers), default=1)
    fig = Figure(figsize=(max(6.0, 2.0 * len(layers)), 1.3 * tall + 2.0), dpi=90, layout="constrained")
    ax = fig.subplots()
    spans = _edges_by_span(graph, position)
    for hops, edges in spans.items():
        style = "arc3" if hops == 1 else f"arc3,rad={-_bend(hops)}"
        nx.draw_networkx_edges(
            graph,
            position,
            edgelist=edges,
            ax=ax,
            arrows=True,
            arrowsize=14,
            edge_color="#888888",
            node_size=3000,
            node_shape="s",
            connectionstyle=style,
        )
        if show_artifacts:
            labels = {e: "\n".join(graph.edges[e]["artifacts"]) for e in edges if graph.edges[e]["artifacts"]}
            nx.draw_networkx_edge_labels(
                graph,
                position,
                edge_labels=labels,
                ax=ax,
                font_size=7,
                font_color="#555555",
                connectionstyle=style,
                rotate=False,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            )
    nx.draw_networkx_labels(
        graph,
        position,
        ax=ax,
        labels={n: d["label"] for n, d in graph.nodes(data=True)},
        font_size=9,
        bbox={"boxstyle": "round,pad=0.4", "facecolor": "#dbe9f6", "edgecolor": "#1f77b4"},
    )
    ax.set_axis_off()
    # An arc with bend r over a distance d rises about r * d / 2 above its ends.
    rise = max((_bend(h) * h / 2 for h in spans if h > 1), default=0.0)
    ax.set_ylim(-(tall - 1) / 2 - 0.3, (tall - 1) / 2 + rise + 0.35)
    ax.margins(x=0.08)
    return fig


def _bend(hops: int) -> float:
    """How much an edge over ``hops`` layers arcs: more for longer edges, so they do not overlap."""
    return min(0.45, 0.12 * hops)


def _edges_by_span(graph: nx.DiGraph, position: dict[str, tuple[float, float]]) -> dict[int, list]:
    """Edges grouped by how many layers they span (1 for neighbours)."""
    groups: dict[int, list] = {}
    for source, target in graph.edges:
        hops = max(1, round(position[target][0] - position[source][0]))
        groups.setdefault(hops, []).append((source, target))
    return dict(sorted(groups.items()))


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (for files, HTML pages and tests)."""
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
