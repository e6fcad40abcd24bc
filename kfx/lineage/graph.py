"""A picture of a lineage graph: artifacts and executions as nodes, events as arrows, left to right.

Two outputs share one layout (:func:`layout`):

- SVG, written here as plain text: it takes milliseconds, so every recorded run
  gets ``lineage.svg`` without slowing the run down;
- PNG, drawn on demand with matplotlib (``kfx lineage graph RUN -o x.png``,
  :func:`kfx.lineage.draw`), which costs a few seconds of imports and rendering.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from typing import Any

from kfx.lineage.model import INPUT, ArtifactRecord, Graph

STATE_COLOURS = {
    "complete": "#b7e1b0",
    "failed": "#f4a6a6",
    "running": "#dddddd",
    "cached": "#cfe3f7",
    "canceled": "#f6d9a8",
}
ARTIFACT_COLOUR = "#fff2c2"
SOURCE_COLOUR = "#e8d9f7"

_CHAR = 6.6  # width of one character at the SVG's font size, in pixels
_LINE = 14
_COLUMN = 190
_ROW = 62
_MARGIN = 24


@dataclass
class Node:
    """One box of the picture."""

    id: str
    kind: str  # "artifact" or "execution"
    lines: list[str]
    colour: str
    column: int = 0
    row: float = 0.0

    @property
    def width(self) -> float:
        return max(len(line) for line in self.lines) * _CHAR + 16

    @property
    def height(self) -> float:
        return len(self.lines) * _LINE + 10


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else f"{value:.4f}"
    return str(value)


def artifact_lines(artifact: ArtifactRecord) -> list[str]:
    """A node's text: output name, type, and the property or two that matter for its type."""
    props = artifact.properties
    if artifact.type == "DataSource":
        return ["source", os.path.basename(artifact.uri.rstrip("/")) or artifact.uri]
    lines = [artifact.output, f"[{artifact.type}]"]
    facts = []
    if "rows" in props and artifact.type == "Dataset":
        facts.append(f"rows {_fmt(props['rows'])}")
    for key in ("accuracy", "test_accuracy", "r2", "test_r2", "anomalies", "features", "version"):
        if key in props and artifact.type != "Dataset":
            facts.append(f"{key} {_fmt(props[key])}")
            break
    if "blessed" in props and artifact.type == "Metrics":
        facts.append("blessed" if props["blessed"] else "not blessed")
    if facts:
        lines.append(", ".join(facts))
    return lines


def nodes_and_edges(graph: Graph) -> tuple[dict[str, Node], list[tuple[str, str]]]:
    """The boxes (``a<id>`` artifacts, ``e<id>`` executions) and arrows (data flow) of a graph."""
    nodes: dict[str, Node] = {}
    for artifact in graph.artifacts.values():
        colour = SOURCE_COLOUR if artifact.type == "DataSource" else ARTIFACT_COLOUR
        nodes[f"a{artifact.id}"] = Node(f"a{artifact.id}", "artifact", artifact_lines(artifact), colour)
    for execution in graph.executions.values():
        lines = [execution.step] + ([f"({execution.state})"] if execution.state != "complete" else [])
        nodes[f"e{execution.id}"] = Node(
            f"e{execution.id}", "execution", lines, STATE_COLOURS.get(execution.state, "#dddddd")
        )
    edges = []
    for event in graph.events:
        a, e = f"a{event.artifact_id}", f"e{event.execution_id}"
        if a in nodes and e in nodes:
            edge = (a, e) if event.kind == INPUT else (e, a)
            if edge not in edges:
                edges.append(edge)
    return nodes, edges


def layout(nodes: dict[str, Node], edges: list[tuple[str, str]]) -> None:
    """Places the nodes: a node's column is its longest path from a source; within a column
    nodes are ordered by where their predecessors sit, which keeps arrows from crossing."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        preds[b].append(a)
    column: dict[str, int] = {}

    def depth(node: str, seen: frozenset = frozenset()) -> int:
        if node not in column:
            # A cycle cannot come from events, but a damaged store must not hang the drawing.
            column[node] = 1 + max((depth(p, seen | {node}) for p in preds[node] if p not in seen), default=-1)
        return column[node]

    for node in nodes:
        depth(node)
    for c in sorted(set(column.values())):
        members = [n for n in nodes if column[n] == c]

        def centre(node: str) -> float:
            rows = [nodes[p].row for p in preds[node]]
            return sum(rows) / len(rows) if rows else 0.0

        members.sort(key=lambda n: (centre(n), nodes[n].lines))
        for i, node in enumerate(members):
            nodes[node].column = c
            nodes[node].row = i - (len(members) - 1) / 2


def to_svg(graph: Graph, title: str = "") -> str:
    """The graph as an SVG document (boxes, arrows, text), without any drawing library."""
    nodes, edges = nodes_and_edges(graph)
    layout(nodes, edges)
    if not nodes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">'
            '<text x="10" y="24">empty graph</text></svg>\n'
        )
    top = min(n.row for n in nodes.values())
    columns = max(n.column for n in nodes.values()) + 1
    width = columns * _COLUMN + 2 * _MARGIN
    height = (max(n.row for n in nodes.values()) - top) * _ROW + 2 * _MARGIN + 40 + (24 if title else 0)
    y0 = _MARGIN + 20 + (24 if title else 0)

    def centre(node: Node) -> tuple[float, float]:
        return _MARGIN + node.column * _COLUMN + _COLUMN / 2, y0 + (node.row - top) * _ROW

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    if title:
        out.append(
            f'<text x="{width / 2:.0f}" y="{_MARGIN + 4}" text-anchor="middle" '
            f'font-size="13">{html.escape(title)}</text>'
        )
    for a, b in edges:
        (xa, ya), (xb, yb) = centre(nodes[a]), centre(nodes[b])
        out.append(
            f'<line x1="{xa + nodes[a].width / 2:.1f}" y1="{ya:.1f}" x2="{xb - nodes[b].width / 2 - 2:.1f}" '
            f'y2="{yb:.1f}" stroke="#666" stroke-width="1" marker-end="url(#arrow)"/>'
        )
    for node in nodes.values():
        x, y = centre(node)
        radius = 4 if node.kind == "execution" else 10
        stroke = 1.6 if node.kind == "execution" else 0.8
        out.append(
            f'<g class="{node.kind}" id="{node.id}"><rect x="{x - node.width / 2:.1f}" y="{y - node.height / 2:.1f}" '
            f'width="{node.width:.1f}" height="{node.height:.1f}" rx="{radius}" fill="{node.colour}" '
            f'stroke="#555" stroke-width="{stroke}"/>'
        )
        first = y - (len(node.lines) - 1) * _LINE / 2 + 4
        for i, line in enumerate(node.lines):
            out.append(f'<text x="{x:.1f}" y="{first + i * _LINE:.1f}" text-anchor="middle">{html.escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _draw_png(graph: Graph, path: str, title: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nodes, edges = nodes_and_edges(graph)
    layout(nodes, edges)
    columns = max((n.column for n in nodes.values()), default=0) + 1
    rows = [n.row for n in nodes.values()] or [0.0]
    fig = Figure(figsize=(max(6.0, 1.9 * columns), max(3.0, 0.62 * (max(rows) - min(rows)) + 1.6)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    boxes = {}
    for node in nodes.values():
        style = "round,pad=0.4" if node.kind == "execution" else "round4,pad=0.35"
        boxes[node.id] = ax.annotate(
            "\n".join(node.lines),
            (node.column, -node.row),
            ha="center",
            va="center",
            fontsize=7,
            zorder=3,
            bbox=dict(boxstyle=style, fc=node.colour, ec="#555555", lw=1.4 if node.kind == "execution" else 0.8),
        )
    for a, b in edges:
        # Anchored to the boxes' sides (fractions of each text box) so heads stay outside the boxes.
        ax.annotate(
            "",
            xy=(0.0, 0.5),
            xycoords=boxes[b],
            xytext=(1.0, 0.5),
            textcoords=boxes[a],
            zorder=1,
            arrowprops=dict(arrowstyle="-|>", mutation_scale=10, color="#666666", lw=0.8, shrinkA=4, shrinkB=6),
        )
    ax.set_xlim(-0.45, columns - 0.55)
    ax.set_ylim(-max(rows) - 0.6, -min(rows) + 0.6)
    fig.savefig(path, bbox_inches="tight")


def draw(graph: Graph, path: str, title: str = "") -> list[str]:
    """Draws the graph into ``path``: SVG (fast, no drawing library) or PNG (matplotlib) by its extension.

    Args:
        graph: A run's graph, or what lies upstream of an artifact.
        path: ``.svg`` or ``.png`` file; a PNG also gets the SVG beside it.
        title: Title above the picture.

    Returns:
        The files written.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    root, ext = os.path.splitext(path)
    svg_path = path if ext.lower() == ".svg" else root + ".svg"
    from kfx.disk import write_whole

    write_whole(svg_path, to_svg(graph, title))  # a full disk leaves no half a picture
    if ext.lower() == ".svg":
        return [svg_path]
    _draw_png(graph, path, title)
    return [path, svg_path]
