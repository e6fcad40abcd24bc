"""Running the pipeline on this machine through KFP's own local executor.

``kfp.local`` with ``SubprocessRunner(use_venv=False)`` runs each task as a
process of this Python. kfx adds what a user of a run needs around it:

- every task start and end is reported to listeners (the console, the run
  summary, the lineage store) with the task's inputs, outputs and timing;
- kfp's own verbose log goes to ``pipeline.log`` in the run folder, and a step
  that fails on bad input surfaces its one ``kfx-error`` sentence;
- the outputs of a failed task are removed, so nothing half-made looks complete;
- Ctrl-C, SIGTERM or SIGHUP stops the run cleanly (:mod:`kfx.stops`): the running step's
  processes end, its outputs are removed, the steps before it stay complete, and
  the run is summarized and recorded as ``interrupted``; if kfx is killed outright, the run's
  watchdog (:mod:`kfx.watchdog`) ends the step's processes and removes its outputs;
- ``summary.json`` in the run folder says what happened and where everything is
  (:mod:`kfx.summary`);
- each task's process is forked, when it can be, from the run's warm process
  (:mod:`kfx.warm`), which has imported what steps share, rather than started cold.

The events and the console's lines are in :mod:`kfx.events`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Optional, TextIO

from kfx.config import Config
from kfx.errors import KfxError, StepFailed
from kfx.events import ConsoleListener, Listener, RecordingListener, TaskEvent
from kfx.task_watch import LogStream, cancel_running, observe_tasks

if TYPE_CHECKING:
    from kfx.pipeline_tasks import PipelineTasks
    from kfx.stops import Stop


@dataclass
class RunResult:
    """What a local run produced.

    Attributes:
        run_id: The run's id (also its folder name).
        run_dir: The run folder.
        status: ``complete``, ``failed`` or ``interrupted``.
        summary: The content of ``summary.json``.
        events: Every task, in order.
    """

    run_id: str
    run_dir: str
    status: str
    summary: dict[str, Any]
    events: list[TaskEvent]

    def error(self) -> Optional[KfxError]:
        """The error to raise for a failed run, or None (an interrupted run raises
        :class:`~kfx.stops.Interrupted` instead)."""
        if self.status != "failed":
            return None
        from kfx import errors

        kind = getattr(errors, self.summary.get("error_kind") or "", None)
        cls = kind if isinstance(kind, type) and issubclass(kind, KfxError) else StepFailed
        return cls(self.summary["error"])


def new_run_id(pipeline_name: str) -> str:
    """A sortable, unique run id: ``<pipeline>-<UTC time>-<random>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{pipeline_name}-{stamp}-{secrets.token_hex(2)}"


def preflight(config: Config, pushes: bool = True) -> None:
    """Checks what can be checked before any process starts: options, the source URI, and that the
    folders the run writes in can be written (:func:`kfx.disk.check_folder`).

    Args:
        config: The run's configuration.
        pushes: The run may push a model, so the registry folder must be writable too.

    Raises:
        KfxError: For a bad option, source or schema file, or a folder that cannot be written,
            naming it and the fix.
    """
    from kfx import data, disk, storage
    from kfx.errors import ConfigError

    config.validate()
    data.parse_source(config.source)
    if config.schema_file and not storage.is_gcs(config.schema_file) and not os.path.isfile(config.schema_file):
        raise ConfigError(f"Schema file {config.schema_file!r} does not exist; pass the path of a schema text proto.")
    disk.check_folder(config.runs_dir, "--runs-dir")
    if config.record_lineage and config.metadata_path:
        disk.check_folder(os.path.dirname(os.path.abspath(config.metadata_path)), "the folder of --metadata-path")
    if pushes:
        # Not made here: a run whose model is not blessed never needs it.
        disk.check_folder(config.resolved_registry_dir, "--registry-dir", create=False)


def run_local(
    config: Config,
    out: TextIO = sys.stdout,
    verbose: bool = False,
    listeners: Optional[list[Listener]] = None,
    pipeline: Any = None,
    arguments: Optional[dict[str, Any]] = None,
) -> RunResult:
    """Runs a KFP pipeline with kfp.local and kfx's machinery, and writes ``summary.json`` in a new run folder.

    Args:
        config: The run's configuration (``target`` must be ``local``): the runs, registry and lineage
            folders, caching; its pipeline name names the run.
        out: Where step lines go. Defaults to stdout.
        verbose: Also stream kfp's own log to ``out``.
        listeners: More task listeners (the lineage recorder, tests).
        pipeline: Any ``@dsl.pipeline`` function, or a pipeline loaded from its compiled YAML; None:
            the beans pipeline (:func:`kfx.pipelines.local_train.beans`).
        arguments: The pipeline's arguments by parameter name; None: for the beans pipeline, the
            config's values (:func:`kfx.pipelines.local_values`), for another, its own defaults.

    Returns:
        The result; a failed run has ``status == "failed"`` and an ``error()``.

    Raises:
        KfxError: If the options or the source are unusable (before anything runs).
        Interrupted: If Ctrl-C (a ``KeyboardInterrupt`` in a notebook), SIGTERM or SIGHUP stopped
            the run, once it is cleaned up and recorded; its ``result`` is the run (status
            ``interrupted``), its ``exit_code`` 130, 143 or 129.
    """
    from kfx.pipeline_tasks import tasks_of

    if pipeline is None:
        from kfx.pipelines import arguments as arguments_of
        from kfx.pipelines import local_values
        from kfx.pipelines.local_train import beans as pipeline

        arguments = {**arguments_of(pipeline, local_values(config)), **(arguments or {})}
    tasks = tasks_of(pipeline)
    # Only a pipeline with a push writes in the registry folder.
    preflight(config, pushes="push-model" in tasks.names)
    from kfx.stops import Interrupted, Stop
    from kfx.summary import stop_sentence
    from kfx.warm import WarmServer
    from kfx.watchdog import Watchdog

    with Stop() as stop:
        # Started first, so it imports what steps share while kfx itself starts up. Where it cannot
        # start (no Unix sequenced-packet sockets), every step starts as a fresh process.
        with contextlib.suppress(OSError):
            stop.warm = WarmServer()
        # Ends the step's processes and removes its half-made folder if kfx is killed outright.
        with contextlib.suppress(OSError):
            stop.watchdog = Watchdog()
        try:
            watched = [stop.watchdog] if stop.watchdog is not None else []
            result = _run(config, out, verbose, [*watched, *(listeners or [])], stop, pipeline, arguments or {}, tasks)
        finally:
            if stop.warm is not None:
                stop.warm.close()
            if stop.watchdog is not None:
                stop.watchdog.close()
    if result.status == "interrupted":
        raise Interrupted(stop.signum, result, stop_sentence(result.summary))
    return result


def _run(
    config: Config,
    out: TextIO,
    verbose: bool,
    listeners: list[Listener],
    stop: Stop,
    pipeline: Any,
    arguments: dict[str, Any],
    tasks: PipelineTasks,
) -> RunResult:
    from kfp import local

    from kfx.cache import open_cache
    from kfx.stops import signal_name
    from kfx.summary import build_summary, write_summary

    run_id = new_run_id(config.resolved_pipeline_name)
    store = None
    if config.record_lineage:
        from kfx.lineage.recorder import LineageRecorder

        # Made before the run folder: a store kfx cannot use stops the run before anything exists.
        lineage = LineageRecorder(config, run_id=run_id)
        listeners.append(lineage)
        store = lineage.store
    # Earlier executions are found in the lineage store (kfx.cache), so the two share it.
    cache = open_cache(config, store, tasks.uncached)
    if cache is not None:
        listeners.append(cache)
    run_dir = os.path.abspath(os.path.join(config.runs_dir, run_id))
    os.makedirs(run_dir)
    recorder = RecordingListener()
    all_listeners: list[Listener] = [ConsoleListener(out, len(tasks.names)), recorder, *listeners]
    started = time.time()
    unsupported = ""
    with open(os.path.join(run_dir, "pipeline.log"), "w") as log:
        stream = LogStream(log, out if verbose else None)
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=run_dir, raise_on_error=False)
        try:
            with warnings.catch_warnings():
                # kfp warns when an image name lacks "python"; locally the image is only a label.
                warnings.filterwarnings("ignore", message=".*non-Python base image.*")
                with (
                    contextlib.redirect_stdout(stream),
                    contextlib.redirect_stderr(stream),
                    observe_tasks(all_listeners, stream, cache),
                    stop.guarding(),
                ):
                    pipeline(**arguments)
        except NotImplementedError as err:
            # kfp.local stops at what it cannot run locally (a condition, a loop): the steps before it stay.
            unsupported = str(err).rstrip(".")
        except KeyboardInterrupt:
            if not stop.requested:
                stop.request()  # raised by other code than kfx's handler: a Ctrl-C all the same
        if stop.requested:
            log.write(f"kfx: stopped by {signal_name(stop.signum)}\n")
            cancel_running(recorder.events, all_listeners)
    summary = build_summary(
        config,
        run_id,
        run_dir,
        recorder.events,
        time.time() - started,
        tasks,
        stopped_by=signal_name(stop.signum) if stop.requested else "",
    )
    if summary["status"] == "complete" and len(recorder.events) != len(tasks.names):
        summary["status"] = "failed"
        summary["error_kind"] = "StepFailed"
        summary["error"] = f"Only {len(recorder.events)} of {len(tasks.names)} steps ran; see {summary['log']}."
        if unsupported:
            summary["error"] = (
                f"Only {len(recorder.events)} of {len(tasks.names)} steps ran: kfp.local cannot run the rest "
                f"({unsupported}); run the pipeline on Vertex AI, or gate the step with an input instead."
            )
    for listener in all_listeners:
        listener.run_finished(run_id, summary)
    write_summary(summary, all_listeners)
    return RunResult(run_id, run_dir, summary["status"], summary, recorder.events)
