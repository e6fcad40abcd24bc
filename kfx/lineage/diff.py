"""What changed between two runs: their parameters, data figures and metrics side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kfx.lineage.figures import figures
from kfx.lineage.model import Graph, RunRecord

# Parameters that name where files go differ between any two runs and say nothing about the result.
_PLACE_PARAMETERS = {"registry_dir", "serving_env"}


def parameters(graph: Graph) -> dict[str, Any]:
    """Every step's input parameters as ``<step>.<name>``.

    A value one step hands to the next (``blessed`` from evaluate to push-model) is a
    result, compared with the metrics, not a parameter anyone chose; it is left out.
    """
    handed_on = {k for x in graph.executions.values() for k in x.outputs}
    return {
        f"{x.step}.{k}": v
        for x in sorted(graph.executions.values(), key=lambda x: (x.started or 0, x.step))
        for k, v in sorted(x.parameters.items())
        if k not in _PLACE_PARAMETERS and k not in handed_on
    }


@dataclass
class RunDiff:
    """What changed from run ``a`` to run ``b``.

    Attributes:
        a: The first run.
        b: The second run.
        parameters: ``(name, value in a, value in b)`` for each parameter that differs.
        unchanged_parameters: How many parameters are the same.
        data: ``(figure, a, b)`` for the source, rows per split, features and anomalies.
        metrics: ``(metric, a, b)`` for status, accuracy, macro-F1, blessing and push.
    """

    a: RunRecord
    b: RunRecord
    parameters: list[tuple[str, Any, Any]] = field(default_factory=list)
    unchanged_parameters: int = 0
    data: list[tuple[str, Any, Any]] = field(default_factory=list)
    metrics: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def changed(self) -> dict[str, tuple[Any, Any]]:
        """Every row that differs, by name (parameters as ``<step>.<name>``)."""
        return {n: (x, y) for n, x, y in (*self.parameters, *self.data, *self.metrics) if x != y}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        rows = lambda items: [{"name": n, "a": x, "b": y, "changed": x != y} for n, x, y in items]  # noqa: E731
        return {
            "a": self.a.run_id,
            "b": self.b.run_id,
            "parameters": rows(self.parameters),
            "unchanged_parameters": self.unchanged_parameters,
            "data": rows(self.data),
            "metrics": rows(self.metrics),
        }


def figure_names(kind: str) -> list[str]:
    """The names of the figures steps declare of one kind (``data`` or ``metric``), in declaration order."""
    from kfx.report import declared

    return list(dict.fromkeys(f.name for s in declared() for f in s.figures if f.name and f.kind == kind))


def diff_runs(a: RunRecord, b: RunRecord, graph_a: Graph, graph_b: Graph) -> RunDiff:
    """What changed from run ``a`` to run ``b``, given each run's graph."""
    from kfx.report import DATA, METRIC

    params_a, params_b = parameters(graph_a), parameters(graph_b)
    names = sorted(set(params_a) | set(params_b))
    changed = [(n, params_a.get(n), params_b.get(n)) for n in names if params_a.get(n) != params_b.get(n)]
    figs_a, figs_b = figures(graph_a), figures(graph_b)
    result = RunDiff(a, b, changed, len(names) - len(changed))
    result.data = [(k, figs_a.get(k), figs_b.get(k)) for k in figure_names(DATA) if k in figs_a or k in figs_b]
    result.metrics = [("status", a.status, b.status)] + [
        (k, figs_a.get(k), figs_b.get(k)) for k in figure_names(METRIC) if k in figs_a or k in figs_b
    ]
    return result
