"""The run summary (``summary.json``) and the lines the console prints from it.

Nothing here names a step. A task whose component has a :class:`~kfx.report.Report` fills
the report's section with its figures, printed by its ``describe``; any other task fills a
section of its own name with what every KFP component gives (:func:`~kfx.report.generic_figures`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from kfx.config import Config
from kfx.events import SUCCEEDED, TaskEvent
from kfx.report import Report, describe_generic, figures, generic_figures
from kfx.report import report_for as step_named

if TYPE_CHECKING:
    from kfx.pipeline_tasks import PipelineTasks


def _step_entry(event: TaskEvent) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": event.name, "state": event.state, "seconds": round(event.seconds, 2)}
    if event.cached_from:
        entry["cached_from"] = event.cached_from
    return entry


def task_figures(report: Optional[Report], event: TaskEvent) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A completed task's summary section, the figures it puts there, and its named figures (those
    ``kfx lineage runs`` shows): as its report declares them, or, without one, what it gave
    (:func:`~kfx.report.generic_figures`), the numbers named by their own keys."""
    if report is None:
        found = generic_figures(event.outputs)
        numbers = {k: v for k, v in found.items() if isinstance(v, (bool, int, float))}
        return event.name, found, numbers
    values = figures(report, event.outputs, event.parameters)
    return (
        report.section,
        {f.key: v for f, v in values if f.key and v is not None},
        {f.name: v for f, v in values if f.name and v is not None},
    )


def run_figures(events: Sequence[TaskEvent], tasks: Optional[PipelineTasks] = None) -> dict[str, Any]:
    """The run's named figures (rows per split, features, accuracy, …) from its completed steps."""
    found: dict[str, Any] = {}
    for event in events:
        if event.succeeded:
            report = tasks.report(event.name) if tasks is not None else step_named(event.name)
            found.update(task_figures(report, event)[2])
    return found


def build_summary(
    config: Config,
    run_id: str,
    run_dir: str,
    events: Sequence[TaskEvent],
    seconds: float,
    tasks: PipelineTasks,
    stopped_by: str = "",
) -> dict[str, Any]:
    """The run summary: each step's section (rows, statistics, anomalies, model, push…) and where
    every artifact is; a section whose step did not complete is None.

    ``stopped_by`` names the signal that stopped the run (``SIGINT``); the run is ``interrupted``
    unless a step failed first or every step had completed, and ``stopped_step`` names the step
    it cut short (None between steps)."""
    failed = next((e for e in events if e.state == "failed"), None)
    canceled = next((e for e in events if e.state == "canceled"), None)
    completed = sum(e.succeeded for e in events)
    interrupted = bool(stopped_by) and not failed and (canceled is not None or completed < len(tasks.names))
    summary: dict[str, Any] = {
        "run_id": run_id,
        "pipeline": config.resolved_pipeline_name,
        "target": "local",
        "status": "failed" if failed else "interrupted" if interrupted else "complete",
        "seconds": round(seconds, 2),
        "run_dir": run_dir,
        "log": os.path.join(run_dir, "pipeline.log"),
        "config": config.to_dict(),
        "steps": [_step_entry(e) for e in events],
        **{report.section: None for report in tasks.reports.values() if report.section},
        "artifacts": {f"{e.name}/{k}": v.uri for e in events for k, v in e.outputs.items() if hasattr(v, "uri")},
    }
    for event in events:
        report = tasks.report(event.name)
        if not event.succeeded or (report is not None and not report.section):
            continue
        name, values, _ = task_figures(report, event)
        section = summary[name] = summary.get(name) or {}
        section.update(values)
    if interrupted:
        summary["stopped_step"] = canceled.name if canceled else None
        summary["stopped_by"] = stopped_by
    if failed:
        summary["failed_step"] = failed.name
        summary["error_kind"] = failed.error_kind or "StepFailed"
        summary["error"] = failed.error or (
            f"Step {failed.name!r} failed with an unexpected error; its traceback is in {summary['log']}."
        )
    return summary


def write_summary(summary: dict[str, Any], listeners: Sequence[Any] = ()) -> None:
    """Writes ``summary.json`` into the run folder, whole or not at all (:func:`kfx.disk.write_whole`).

    When it cannot be written (a full or read-only disk), a complete run fails with that sentence (a
    failed or interrupted run keeps its own), and the listeners that recorded the run's end (the
    lineage store's ``run_amended``) are told, so the console, the exit code and the store agree.
    """
    import json

    from kfx.disk import write_whole
    from kfx.errors import DiskError

    try:
        write_whole(os.path.join(summary["run_dir"], "summary.json"), json.dumps(summary, indent=2, default=str))
    except DiskError as err:
        summary["summary_error"] = str(err)
        if summary["status"] == "complete":
            summary.update(status="failed", error_kind="DiskError", error=str(err))
            for listener in listeners:
                amended = getattr(listener, "run_amended", None)
                if amended is not None:
                    amended(summary)


def stop_phrase(summary: dict[str, Any]) -> str:
    """Where an interrupted run stopped: ``during train``, ``after infer-schema`` or ``before its first step``."""
    if summary.get("stopped_step"):
        return f"during {summary['stopped_step']}"
    done = [s["name"] for s in summary["steps"] if s["state"] in SUCCEEDED]
    return f"after {done[-1]}" if done else "before its first step"


def stop_sentence(summary: dict[str, Any]) -> str:
    """What an interrupted run says in one line: where and when it stopped, and what it kept."""
    kept = sum(step["state"] in SUCCEEDED for step in summary["steps"])
    return (
        f"Run {summary['run_id']} stopped by {summary['stopped_by']} {stop_phrase(summary)} after "
        f"{summary['seconds']:.1f} s; {kept} completed step{'' if kept == 1 else 's'} kept, "
        f"see {os.path.join(summary['run_dir'], 'summary.json')}."
    )


def format_summary(summary: dict[str, Any]) -> str:
    """The run summary as the few lines the console shows."""
    if summary["status"] == "interrupted":
        lines = [f"Run {summary['run_id']} interrupted {stop_phrase(summary)} after {summary['seconds']:.1f} s"]
    else:
        lines = [f"Run {summary['run_id']} {summary['status']} in {summary['seconds']:.1f} s"]
    for ran in summary["steps"]:
        if ran["state"] not in SUCCEEDED:
            continue
        step = step_named(ran["name"])
        if step is not None and step.describe is not None and summary.get(step.section):
            lines += [f"  {line}" for line in step.describe(summary[step.section])]
        elif isinstance(summary.get(ran["name"]), dict):
            lines += [f"  {line}" for line in describe_generic(ran["name"], summary[ran["name"]])]
    cached = [ran["name"] for ran in summary["steps"] if ran["state"] == "cached"]
    if cached:
        lines.append(
            f"  cached      {len(cached)} of {len(summary['steps'])} steps reused earlier outputs "
            "(--no-cache runs every step)"
        )
    if summary.get("cache_error"):
        lines.append(f"  cache       not used after: {summary['cache_error']}")
    lines += [f"  cache       {sentence}" for sentence in summary.get("cache_not_kept", ())]
    if summary.get("lineage_graph"):
        lines.append(f"  lineage     {summary['lineage_graph']}")
    lines.append(f"  run folder  {summary['run_dir']}")
    if summary.get("summary_error"):
        written = (
            "see the error below" if summary["summary_error"] == summary.get("error") else summary["summary_error"]
        )
        lines.append(f"  summary     not written: {written}")
    else:
        lines.append(f"  summary     {os.path.join(summary['run_dir'], 'summary.json')}")
    if summary["status"] == "failed":
        # No failed step: every step ended, and writing the run's own files failed.
        lines.append(f"  failed at   {summary.get('failed_step') or 'the end of the run'}: {summary['error']}")
    return "\n".join(lines)
