"""The pipeline as a picture: its tasks and the artifacts and values passed between them, laid out in
dependency order, from a ``@dsl.pipeline`` function or its compiled YAML. matplotlib and networkx are
imported inside the functions that use them; :func:`kfx.plots.to_png` saves a figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.figure import Figure


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
