"""Lineage: what every run made, from what, with which parameters, and what changed between runs.

Locally each ``kfx run`` is recorded in an ML Metadata store on SQLite
(``<runs_dir>/metadata.sqlite`` unless ``metadata_path`` is set); on the vertex
target the same questions are read from Vertex ML Metadata. In a notebook::

    import kfx.lineage as lineage

    lineage.runs(config)                     # newest first, with status and accuracy
    lineage.show("latest", config)           # what the newest model was made from
    lineage.diff(run_a, run_b, config)       # parameters, data counts, metrics
    lineage.draw(run_id, "lineage.png", config)   # PNG and SVG; every run already has lineage.svg

Only the standard library loads here; ml_metadata, matplotlib and aiplatform
load when a function needs them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

from kfx.lineage.diff import RunDiff
from kfx.lineage.errors import LineageError
from kfx.lineage.queries import Lineage, Upstream
from kfx.lineage.text import format_diff, format_runs, format_upstream

if TYPE_CHECKING:
    from kfx.config import Config
    from kfx.lineage.model import RunRecord

__all__ = [
    "Lineage",
    "LineageError",
    "RunDiff",
    "Upstream",
    "diff",
    "draw",
    "format_diff",
    "format_runs",
    "format_upstream",
    "open_lineage",
    "runs",
    "show",
]


def open_lineage(config: Optional[Config] = None, metadata_path: str = "", target: str = "") -> Lineage:
    """The lineage of ``config``'s target: the local store, or Vertex ML Metadata.

    Args:
        config: Where to look (``runs_dir`` / ``metadata_path`` locally; ``project_id`` and
            ``region`` on vertex). Defaults to ``Config()``.
        metadata_path: A local store file, overriding the config's.
        target: ``local`` or ``vertex``, overriding ``config.target``.

    Returns:
        The questions over that store.

    Raises:
        LineageError: If the local store is missing, not a database, or from another version.
    """
    from kfx.config import Config

    config = config or Config()
    if (target or config.target) == "vertex":
        from kfx.lineage.vertex import VertexMetadata

        return Lineage(VertexMetadata(config.project_id, config.region))
    from kfx.lineage.store import LineageStore

    return Lineage(LineageStore(metadata_path or config.resolved_metadata_path))


def runs(config: Optional[Config] = None, limit: Optional[int] = None) -> list[RunRecord]:
    """The runs, newest first, with status and key metrics (see :func:`open_lineage`)."""
    return open_lineage(config).runs(limit)


def show(ref: str, config: Optional[Config] = None) -> Upstream:
    """Everything a model or artifact was made from; ``ref`` is a run id, artifact id, name, URI or ``latest``."""
    return open_lineage(config).show(ref)


def diff(run_a: str, run_b: str, config: Optional[Config] = None) -> RunDiff:
    """What changed from ``run_a`` to ``run_b``: parameters, data counts and metrics."""
    return open_lineage(config).diff(run_a, run_b)


def draw(run_id: str, path: str = "", config: Optional[Config] = None) -> list[str]:
    """Draws a run's lineage graph; ``path`` defaults to ``lineage.png`` in the working folder.

    Returns:
        The files written (a PNG path also gets an SVG beside it).
    """
    return open_lineage(config).draw(run_id, path or os.path.abspath("lineage.png"))
