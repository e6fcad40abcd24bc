"""A picture of a lineage graph: artifacts and executions as nodes, events as arrows, left to right.

Drawn with networkx (layering) and matplotlib's object API (no pyplot, so no
window, no global figure state, safe off the main thread), saved as PNG and SVG.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from kfx.lineage.model import INPUT, Graph

_STATE_COLOURS = {"complete": "#b7e1b0", "failed": "#f4a6a6", "running": "#dddddd", "cached": "#cfe3f7"}
_ARTIFACT_COLOUR = "#fff2c2"
_SOURCE_COLOUR = "#e8d9f7"


def preload() -> None:
    """Imports the drawing libraries (about 2 s on a busy 2-core machine) ahead of :func:`draw`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import networkx  # noqa: F401


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else f"{value:.4f}"
    return str(value)


def artifact_label(artifact) -> str:
    """A node's text: output name, type, and the one or two properties that matter for its type."""
    props = artifact.properties
    if artifact.type == "DataSource":
        return f"source\n{os.path.basename(artifact.uri) or artifact.uri}"
    lines = [artifact.output, f"[{artifact.type}]"]
    facts = []
    if "rows" in props:
        facts.append(f"rows {_fmt(props['rows'])}")
    for key in ("accuracy", "test_accuracy", "anomalies", "features", "version"):
        if key in props and artifact.type not in ("Dataset",):
            facts.append(f"{key} {_fmt(props[key])}")
            break
    if "blessed" in props and artifact.type == "Metrics":
        facts.append("blessed" if props["blessed"] else "not blessed")
    if facts:
        lines.append(", ".join(facts))
    return "\n".join(lines)


def to_networkx(graph: Graph):
    """The graph as a networkx DiGraph: nodes ``a<id>`` (artifacts) and ``e<id>`` (executions)."""
    import networkx as nx

    g = nx.DiGraph()
    for artifact in graph.artifacts.values():
        colour = _SOURCE_COLOUR if artifact.type == "DataSource" else _ARTIFACT_COLOUR
        g.add_node(f"a{artifact.id}", kind="artifact", label=artifact_label(artifact), colour=colour)
    for execution in graph.executions.values():
        label = f"{execution.step}\n({execution.state})" if execution.state != "complete" else execution.step
        g.add_node(f"e{execution.id}", kind="execution", label=label, colour=_STATE_COLOURS.get(execution.state, "#dddddd"))
    for event in graph.events:
        a, e = f"a{event.artifact_id}", f"e{event.execution_id}"
        if a in g and e in g:
            g.add_edge(*((a, e) if event.kind == INPUT else (e, a)))
    return g


def layout(g) -> dict[str, tuple[float, float]]:
    """Left-to-right positions: a node's column is its longest path from a source; within a
    column nodes are ordered by where their predecessors sit, which keeps arrows from crossing."""
    import networkx as nx

    pos: dict[str, tuple[float, float]] = {}
    for column, nodes in enumerate(nx.topological_generations(g)):
        def centre(node: str) -> float:
            ys = [pos[p][1] for p in g.predecessors(node) if p in pos]
            return sum(ys) / len(ys) if ys else 0.0

        ordered = sorted(nodes, key=lambda n: (centre(n), g.nodes[n]["label"]))
        for i, node in enumerate(ordered):
            pos[node] = (float(column), (len(ordered) - 1) / 2 - i)
    return pos


def draw(graph: Graph, path: str, title: str = "", svg: Optional[bool] = None) -> list[str]:
    """Draws the graph into ``path`` (PNG or SVG by its extension) and, for a PNG, an SVG beside it.

    Args:
        graph: The run or upstream graph.
        path: Where the picture goes (``.png`` or ``.svg``).
        title: Title above the picture.
        svg: Also write ``<path without extension>.svg``; defaults to True for a PNG path.

    Returns:
        The files written.
    """
    import networkx as nx
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    g = to_networkx(graph)
    pos = layout(g)
    layers = len({x for x, _ in pos.values()}) or 1
    tallest = max((sum(1 for x, _ in pos.values() if x == col) for col in {x for x, _ in pos.values()}), default=1)
    fig = Figure(figsize=(max(6.0, 1.9 * layers), max(3.0, 0.95 * tallest + 1)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    boxes = {}
    for node, data in g.nodes(data=True):
        style = "round,pad=0.4" if data["kind"] == "execution" else "round4,pad=0.35"
        boxes[node] = ax.annotate(
            data["label"], pos[node], ha="center", va="center", fontsize=7, zorder=3,
            bbox=dict(boxstyle=style, fc=data["colour"], ec="#555555", lw=0.8 if data["kind"] == "artifact" else 1.4),
        )
    for a, b in g.edges():
        # Anchored to the boxes' sides (fractions of each text box) so heads stay outside the boxes.
        ax.annotate(
            "", xy=(0.0, 0.5), xycoords=boxes[b], xytext=(1.0, 0.5), textcoords=boxes[a], zorder=1,
            arrowprops=dict(arrowstyle="-|>", mutation_scale=10, color="#666666", lw=0.8, shrinkA=4, shrinkB=6),
        )
    if pos:
        xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
        ax.set_xlim(min(xs) - 0.45, max(xs) + 0.45)
        ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    written = [path]
    fig.savefig(path, bbox_inches="tight")
    if svg if svg is not None else path.lower().endswith(".png"):
        svg_path = os.path.splitext(path)[0] + ".svg"
        fig.savefig(svg_path, bbox_inches="tight")
        written.append(svg_path)
    return written
