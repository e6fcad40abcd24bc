"""The key figures of a run or part of one, read from its graph as the steps declare them."""

from __future__ import annotations

from typing import Any

from kfx.lineage.model import SOURCE_TYPE, Graph


def figures(graph: Graph) -> dict[str, Any]:
    """The key figures a run graph holds, as its steps declare them (:class:`~kfx.report.Figure`).

    Args:
        graph: A run's graph (or part of one).

    Returns:
        Only the figures the graph has, e.g. ``{"train_rows": 479, "accuracy": 0.95, …}``.
    """
    from kfx.report import figures as step_figures
    from kfx.report import generic_figures
    from kfx.report import report_for as step_named

    out: dict[str, Any] = {}
    for execution in sorted(graph.executions.values(), key=lambda x: (x.started or 0, x.step)):
        step = step_named(execution.step)
        outputs = {**execution.outputs, **{a.output: a for _, a in graph.outputs_of(execution.id)}}
        if step is None:
            # A component kfx knows nothing about: the numbers it gave, by their own keys.
            out.update({k: v for k, v in generic_figures(outputs).items() if isinstance(v, (bool, int, float))})
            continue
        for figure, value in step_figures(step, outputs, execution.parameters):
            if figure.name and value is not None:
                out[figure.name] = value
    # Locally the table a run read is an artifact of its own.
    source = next((a.uri for a in graph.of_type(SOURCE_TYPE)), None)
    if source:
        out["source"] = source
    return out
