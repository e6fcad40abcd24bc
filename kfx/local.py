"""Running the pipeline on this machine through KFP's own local executor.

``kfp.local`` with ``SubprocessRunner(use_venv=False)`` runs each task as a
process of this Python. kfx adds what a user of a run needs around it:

- every task start and end is reported to listeners (the console, the run
  summary, the lineage store) with the task's inputs, outputs and timing;
- kfp's own verbose log goes to ``pipeline.log`` in the run folder, and a step
  that fails on bad input surfaces its one ``kfx-error`` sentence;
- the outputs of a failed task are removed, so nothing half-made looks complete;
- ``summary.json`` in the run folder says what happened and where everything is.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional, TextIO

from kfx.config import Config
from kfx.errors import KfxError, StepFailed

_ERROR_LINE = re.compile(r"kfx-error: (?:(\w+): )?(.*)")


@dataclass
class TaskEvent:
    """One task of a local run, as listeners see it.

    Attributes:
        name: Task name (``import-dataset``, ``train``, …).
        state: ``running``, ``complete`` or ``failed``.
        started: Start time (seconds since the epoch).
        ended: End time, once ended.
        parameters: Input parameter values.
        input_artifacts: Input name to the artifacts it received.
        outputs: Output name to a parameter value or an artifact (``uri``, ``metadata``).
        task_root: Folder holding the task's outputs.
        error: The ``kfx-error`` sentence of a failed task, if it printed one.
        error_kind: The error's class name (``DataError``, ``AnomaliesFound``, …).
    """

    name: str
    state: str
    started: float
    ended: Optional[float] = None
    parameters: dict[str, Any] = field(default_factory=dict)
    input_artifacts: dict[str, list[Any]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    task_root: str = ""
    error: str = ""
    error_kind: str = ""

    @property
    def seconds(self) -> float:
        return (self.ended or time.time()) - self.started


class Listener:
    """Receives the events of a local run; each method does nothing unless a listener overrides it."""

    def task_started(self, event: TaskEvent) -> None:
        """A step started."""

    def task_finished(self, event: TaskEvent) -> None:
        """A step ended, complete or failed."""

    def run_finished(self, run_id: str, summary: dict[str, Any]) -> None:
        """The run ended; ``summary`` is what ``summary.json`` will hold."""


class _LogStream:
    """Where kfp's console output goes during a run: the log file, watched for kfx-error lines."""

    def __init__(self, log: TextIO, echo: Optional[TextIO] = None):
        self.log = log
        self.echo = echo
        self.last_error: tuple[str, str] = ("", "")

    def write(self, text: str) -> int:
        self.log.write(text)
        if self.echo is not None:
            self.echo.write(text)
        if "kfx-error: " in text:
            match = _ERROR_LINE.search(text)
            if match:
                self.last_error = (match[1] or "", match[2].strip())
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def observe_tasks(listeners: list[Listener], stream: _LogStream):
    """Reports each task kfp.local runs to ``listeners`` while the context is open."""
    from kfp import dsl
    from kfp.local import executor_input_utils, status, task_dispatcher

    original = task_dispatcher.run_single_task_implementation

    def run_task(**kwargs):
        name = executor_input_utils.get_local_task_resource_name(kwargs["component_name"])
        arguments = kwargs["arguments"]
        event = TaskEvent(
            name=name,
            state="running",
            started=time.time(),
            parameters={k: v for k, v in arguments.items() if not isinstance(v, (dsl.Artifact, list))},
            input_artifacts={
                k: (v if isinstance(v, list) else [v])
                for k, v in arguments.items()
                if isinstance(v, dsl.Artifact) or (isinstance(v, list) and v and isinstance(v[0], dsl.Artifact))
            },
            task_root=executor_input_utils.construct_local_task_root(
                pipeline_root=kwargs["pipeline_root"],
                pipeline_resource_name=kwargs["pipeline_resource_name"],
                task_resource_name=name,
            ),
        )
        stream.last_error = ("", "")
        for listener in listeners:
            listener.task_started(event)
        outputs, task_status = original(**kwargs)
        event.ended = time.time()
        event.outputs = dict(outputs)
        event.state = "complete" if task_status == status.Status.SUCCESS else "failed"
        if event.state == "failed":
            event.error_kind, event.error = stream.last_error
            # Nothing a failed task half-made stays behind looking complete.
            shutil.rmtree(event.task_root, ignore_errors=True)
        for listener in listeners:
            listener.task_finished(event)
        return outputs, task_status

    task_dispatcher.run_single_task_implementation = run_task
    try:
        yield
    finally:
        task_dispatcher.run_single_task_implementation = original


def _fmt_outputs(event: TaskEvent) -> str:
    parts = []
    for key, value in event.outputs.items():
        if isinstance(value, bool) or isinstance(value, int):
            parts.append(f"{key}={value}")
        elif isinstance(value, float):
            parts.append(f"{key}={value:.4f}")
    return ", ".join(parts)


class ConsoleListener(Listener):
    """Prints one line when a step starts and one when it ends."""

    def __init__(self, out: TextIO, total: int):
        self.out = out
        self.total = total
        self.index = 0

    def task_started(self, event: TaskEvent) -> None:
        self.index += 1
        print(f"[{self.index}/{self.total}] {event.name} ...", file=self.out, flush=True)

    def task_finished(self, event: TaskEvent) -> None:
        if event.state == "complete":
            detail = _fmt_outputs(event)
            print(f"[{self.index}/{self.total}] {event.name} done in {event.seconds:.1f} s"
                  + (f": {detail}" if detail else ""), file=self.out, flush=True)
        else:
            print(f"[{self.index}/{self.total}] {event.name} FAILED after {event.seconds:.1f} s", file=self.out, flush=True)


class RecordingListener(Listener):
    """Keeps every task event, in order, for the summary."""

    def __init__(self):
        self.events: list[TaskEvent] = []

    def task_started(self, event: TaskEvent) -> None:
        self.events.append(event)


@dataclass
class RunResult:
    """What a local run produced.

    Attributes:
        run_id: The run's id (also its folder name).
        run_dir: The run folder.
        status: ``complete`` or ``failed``.
        summary: The content of ``summary.json``.
        events: Every task, in order.
    """

    run_id: str
    run_dir: str
    status: str
    summary: dict[str, Any]
    events: list[TaskEvent]

    def error(self) -> Optional[KfxError]:
        """The error to raise for a failed run, or None."""
        if self.status == "complete":
            return None
        from kfx import errors

        kind = getattr(errors, self.summary.get("error_kind") or "", None)
        cls = kind if isinstance(kind, type) and issubclass(kind, KfxError) else StepFailed
        return cls(self.summary["error"])


def new_run_id(pipeline_name: str) -> str:
    """A sortable, unique run id: ``<pipeline>-<UTC time>-<random>``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{pipeline_name}-{stamp}-{secrets.token_hex(2)}"


def _artifact_dict(value: Any) -> dict[str, Any]:
    return {"uri": value.uri, "type": value.schema_title, "metadata": dict(value.metadata)}


def build_summary(config: Config, run_id: str, run_dir: str, events: list[TaskEvent], seconds: float) -> dict[str, Any]:
    """The run summary: rows, statistics, anomalies, model metrics, the push, and where every artifact is."""
    by_name = {e.name: e for e in events}
    failed = next((e for e in events if e.state == "failed"), None)
    steps_done = [e.name for e in events if e.state == "complete"]
    status = "failed" if failed else "complete"

    def out(task: str, key: str, default=None):
        event = by_name.get(task)
        return event.outputs.get(key, default) if event else default

    def uri(task: str, key: str) -> Optional[str]:
        value = out(task, key)
        return value.uri if value is not None and hasattr(value, "uri") else None

    artifacts = {
        f"{e.name}/{k}": v.uri for e in events for k, v in e.outputs.items() if hasattr(v, "uri")
    }
    anomalies = out("validate-statistics", "anomalies")
    summary: dict[str, Any] = {
        "run_id": run_id,
        "pipeline": config.pipeline_name,
        "target": "local",
        "status": status,
        "seconds": round(seconds, 2),
        "run_dir": run_dir,
        "log": os.path.join(run_dir, "pipeline.log"),
        "config": config.to_dict(),
        "steps": [
            {"name": e.name, "state": e.state, "seconds": round(e.seconds, 2)} for e in events
        ],
        "rows": {s: out("import-dataset", f"{s}_rows") for s in ("train", "validation", "test")}
        if "import-dataset" in steps_done else None,
        "statistics": {
            "features": out("generate-statistics", "features"),
            "uri": uri("generate-statistics", "statistics"),
            "view": uri("generate-statistics", "statistics_view"),
        } if "generate-statistics" in steps_done else None,
        "schema": {"features": out("infer-schema", "features"), "uri": uri("infer-schema", "schema")}
        if "infer-schema" in steps_done else None,
        "anomalies": {
            "count": out("validate-statistics", "anomalies_count"),
            "features": anomalies.metadata.get("features", []) if anomalies is not None else [],
            "uri": uri("validate-statistics", "anomalies"),
            "report": uri("validate-statistics", "report"),
        } if "validate-statistics" in steps_done else None,
        "model": {
            "uri": uri("train", "model"),
            "validation_accuracy": out("train", "validation_accuracy"),
            "test_accuracy": out("evaluate", "accuracy"),
            "macro_f1": out("evaluate", "macro_f1"),
            "min_accuracy": config.min_accuracy,
            "blessed": out("evaluate", "blessed"),
            "view": uri("evaluate", "evaluation_view"),
        } if "train" in steps_done else None,
        "push": None,
        "artifacts": artifacts,
    }
    pushed = out("push-model", "pushed_model")
    if pushed is not None:
        summary["push"] = {k: pushed.metadata.get(k) for k in ("pushed", "version", "uri", "reason") if k in pushed.metadata}
        if "version" in summary["push"]:
            summary["push"]["version"] = int(summary["push"]["version"])
    if failed:
        summary["failed_step"] = failed.name
        summary["error_kind"] = failed.error_kind or "StepFailed"
        summary["error"] = failed.error or (
            f"Step {failed.name!r} failed with an unexpected error; its traceback is in {summary['log']}."
        )
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The run summary as the few lines the console shows."""
    lines = [f"Run {summary['run_id']} {summary['status']} in {summary['seconds']:.1f} s"]
    if summary.get("rows"):
        r = summary["rows"]
        lines.append(f"  rows        train {r['train']}, validation {r['validation']}, test {r['test']}")
    if summary.get("statistics"):
        s = summary["statistics"]
        lines.append(f"  statistics  {s['features']} features per split: {s['uri']}")
        lines.append(f"              Facets view: {s['view']}")
    if summary.get("anomalies"):
        a = summary["anomalies"]
        found = f"{a['count']} ({', '.join(a['features'])})" if a["count"] else "none"
        lines.append(f"  anomalies   {found}; report: {a['report']}")
    model = summary.get("model")
    if model and model.get("test_accuracy") is not None:
        verdict = "blessed" if model["blessed"] else "not blessed"
        lines.append(
            f"  model       test accuracy {model['test_accuracy']:.4f}, macro-F1 {model['macro_f1']:.4f} "
            f"(min {model['min_accuracy']}): {verdict}"
        )
        lines.append(f"              {model['uri']}")
    push = summary.get("push")
    if push:
        if push.get("pushed"):
            lines.append(f"  pushed      version {int(push['version'])}: {push['uri']}")
        else:
            lines.append(f"  pushed      no: {push.get('reason')}")
    if summary.get("lineage_graph"):
        lines.append(f"  lineage     {summary['lineage_graph']}")
    lines.append(f"  run folder  {summary['run_dir']}")
    lines.append(f"  summary     {os.path.join(summary['run_dir'], 'summary.json')}")
    if summary["status"] == "failed":
        lines.append(f"  failed at   {summary.get('failed_step', '?')}: {summary['error']}")
    return "\n".join(lines)


def preflight(config: Config) -> None:
    """Checks what can be checked before any process starts: options and the source URI.

    Raises:
        KfxError: For a bad option, source or schema file, naming it and the fix.
    """
    from kfx import data, storage
    from kfx.errors import ConfigError

    config.validate()
    data.parse_source(config.source)
    if config.schema_file and not storage.is_gcs(config.schema_file) and not os.path.isfile(config.schema_file):
        raise ConfigError(f"Schema file {config.schema_file!r} does not exist; pass the path of a schema text proto.")


def run_local(
    config: Config,
    out: TextIO = sys.stdout,
    verbose: bool = False,
    listeners: Optional[list[Listener]] = None,
) -> RunResult:
    """Runs the pipeline with kfp.local and writes ``summary.json`` in a new run folder.

    Args:
        config: The run's configuration (``target`` must be ``local``).
        out: Where step lines go. Defaults to stdout.
        verbose: Also stream kfp's own log to ``out``.
        listeners: More task listeners (the lineage recorder, tests).

    Returns:
        The result; a failed run has ``status == "failed"`` and an ``error()``.

    Raises:
        KfxError: If the options or the source are unusable (before anything runs).
    """
    preflight(config)
    from kfp import local

    from kfx.pipeline import STEPS, build_pipeline

    run_id = new_run_id(config.pipeline_name)
    listeners = list(listeners or [])
    if config.record_lineage:
        from kfx.lineage.recorder import LineageRecorder

        # Made before the run folder: a store kfx cannot use stops the run before anything exists.
        listeners.append(LineageRecorder(config, run_id=run_id))
    run_dir = os.path.abspath(os.path.join(config.runs_dir, run_id))
    os.makedirs(run_dir)
    recorder = RecordingListener()
    all_listeners: list[Listener] = [ConsoleListener(out, len(STEPS)), recorder, *listeners]
    pipeline = build_pipeline(config)
    started = time.time()
    with open(os.path.join(run_dir, "pipeline.log"), "w") as log:
        stream = _LogStream(log, out if verbose else None)
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=run_dir, raise_on_error=False)
        with warnings.catch_warnings():
            # kfp warns when an image name lacks "python"; locally the image is only a label.
            warnings.filterwarnings("ignore", message=".*non-Python base image.*")
            with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream), observe_tasks(all_listeners, stream):
                pipeline()
    summary = build_summary(config, run_id, run_dir, recorder.events, time.time() - started)
    if summary["status"] == "complete" and len(recorder.events) != len(STEPS):
        summary["status"] = "failed"
        summary["error_kind"] = "StepFailed"
        summary["error"] = f"Only {len(recorder.events)} of {len(STEPS)} steps ran; see {summary['log']}."
    for listener in all_listeners:
        listener.run_finished(run_id, summary)
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2, default=str)
    return RunResult(run_id, run_dir, summary["status"], summary, recorder.events)
