"""The lineage answers as text: the runs table, what an artifact was made from, what changed between runs.

``kfx lineage`` prints these, and a notebook through :mod:`kfx.lineage`. The answers
come from :mod:`kfx.lineage.queries`, which holds no text, so ``--json`` and code
reading the answers do not depend on how they are printed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Optional

from kfx.lineage.diff import RunDiff
from kfx.lineage.model import RunRecord
from kfx.lineage.queries import Upstream, check_figures


def fmt(value: Any) -> str:
    """A value as the CLI prints it: whole floats without ``.0``, others to 4 decimals."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else f"{value:.4f}"
    return str(value)


def _when(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def note(run: RunRecord) -> str:
    """What the runs table says beside a run: where it failed or stopped, or how many of its steps were cached."""
    if run.failed_step:
        return f"failed at {run.failed_step}"
    if run.status == "failed":
        return "failed at the end of the run"  # every step ended; its summary or --output could not be written
    where = f"during {run.stopped_step}" if run.stopped_step else "between steps"
    if run.status == "interrupted":
        return f"stopped by {run.stopped_by or 'a signal'} {where}"
    if run.status == "abandoned":
        return f"process gone {where}, killed or the machine stopped"
    return f"{run.cached_steps} steps cached" if run.cached_steps else ""


def format_runs(runs: list[RunRecord]) -> str:
    """The runs as a table: id, status, start (UTC), seconds, the metric that decided the blessing, blessed,
    where it failed or stopped.

    The metric's column is named after it (ACCURACY, R2, RMSE, …) when every run that has one used the same;
    otherwise it is METRIC and each cell names its metric (``r2 0.4370``).
    """
    if not runs:
        return "No runs recorded yet; `kfx run` records one."
    used = {_metric(r) for r in runs if _score(r) is not None}
    one = used.pop() if len(used) == 1 else ("accuracy" if not used else "")
    header = ("RUN", "STATUS", "STARTED (UTC)", "SECONDS", (one or "metric").upper(), "BLESSED", "NOTE")
    rows = [header] + [
        (
            r.run_id,
            r.status,
            _when(r.started),
            f"{r.seconds:.1f}" if r.seconds is not None else "-",
            fmt(_score(r)) if one or _score(r) is None else f"{_metric(r)} {fmt(_score(r))}",
            fmt(r.metrics.get("blessed")),
            note(r),
        )
        for r in runs
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _metric(run: RunRecord) -> str:
    """The metric that decided a run's blessing; accuracy for a run recorded before runs named it."""
    return str(run.metrics.get("metric") or "accuracy")


def _score(run: RunRecord) -> Any:
    value = run.metrics.get("score")
    return run.metrics.get("accuracy") if value is None else value


def _props_line(props: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    hidden = {"run_id", "step", "output", *skip}
    return ", ".join(
        f"{k} {fmt(v)}"
        for k, v in props.items()
        if k not in hidden and not k.startswith("digest") and not isinstance(v, (dict, list))
    )


def format_upstream(up: Upstream) -> str:
    """What :meth:`Lineage.show` found, as the few lines the CLI prints."""
    a = up.artifact
    lines = [f"{a.type} {a.name} (id {a.id})", f"  uri         {a.uri}"]
    if _props_line(a.properties):
        lines.append(f"  properties  {_props_line(a.properties)}")
    lines.append(f"  run         {up.run_id or '-'}")
    lines.append(f"  source      {up.source_uri or '-'}")
    for split in up.splits:
        lines.append(
            f"  split       {split.properties.get('split', '?'):<10} "
            f"{fmt(split.properties.get('rows')):>6} rows  {split.uri}"
        )
    for section, artifact, values in check_figures(up.graph):
        shown = ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else fmt(v)}" for k, v in values.items())
        lines.append(f"  {section:<11} {shown}  {artifact.uri}")
    if up.trainer_parameters:
        lines.append("  trainer     " + ", ".join(f"{k}={fmt(v)}" for k, v in sorted(up.trainer_parameters.items())))
    for step in up.steps:
        took = f"{step.seconds:.1f} s" if step.seconds is not None else "-"
        origin = f" from {step.cached_from.split('/')[0]}" if step.cached_from else ""
        lines.append(f"  step        {step.step} ({step.state}{origin}, {took})")
    return "\n".join(lines)


def format_diff(d: RunDiff) -> str:
    """What :meth:`Lineage.diff` found: changed parameters, then data and metrics side by side."""
    lines = [f"A {d.a.run_id} ({d.a.status})", f"B {d.b.run_id} ({d.b.status})"]

    def section(title: str, rows: list[tuple[str, Any, Any]]) -> None:
        lines.append(title)
        width = max((len(n) for n, _, _ in rows), default=10)
        for name, x, y in rows:
            mark = "*" if x != y else " "
            lines.append(f" {mark} {name:<{width}}  {fmt(x):>12}  ->  {fmt(y)}")

    if d.parameters:
        section(f"parameters ({len(d.parameters)} changed, {d.unchanged_parameters} the same)", d.parameters)
    else:
        lines.append(f"parameters  all {d.unchanged_parameters} the same")
    section("data", d.data)
    section("metrics", d.metrics)
    return "\n".join(lines)
