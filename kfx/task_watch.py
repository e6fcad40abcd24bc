"""What kfx sees of each task kfp.local runs: its start and end told to the listeners, with its
inputs, outputs and timing; kfp's log watched for a step's ``kfx-error`` sentence; and the steps a
stop cut short, ended cleanly. :func:`kfx.local.run_local` opens these around a run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from typing import TYPE_CHECKING, Optional, TextIO

from kfx.events import Listener, TaskEvent

if TYPE_CHECKING:
    from kfx.cache import StepCache

_ERROR_LINE = re.compile(r"kfx-error: (?:(\w+): )?(.*)")


class LogStream:
    """Where kfp's console output goes during a run: the log file, watched for kfx-error lines."""

    def __init__(self, log: TextIO, echo: Optional[TextIO] = None):
        self.log = log
        self.echo = echo
        self.last_error: tuple[str, str] = ("", "")
        self.disk_error: Optional[tuple[int, str]] = None  # a full or read-only disk in a task's traceback

    def write(self, text: str) -> int:
        self.log.write(text)
        if self.echo is not None:
            self.echo.write(text)
        if "kfx-error: " in text:
            match = _ERROR_LINE.search(text)
            if match:
                self.last_error = (match[1] or "", match[2].strip())
        if "[Errno " in text:
            from kfx.disk import TRACEBACK_LINE

            found = TRACEBACK_LINE.search(text)
            if found:
                self.disk_error = (int(found[1]), found[2] or "")
        return len(text)

    def flush(self) -> None:
        self.log.flush()

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def observe_tasks(listeners: list[Listener], stream: LogStream, cache: Optional[StepCache] = None):
    """Reports each task kfp.local runs to ``listeners`` while the context is open; with a ``cache``
    (:mod:`kfx.cache`), a task whose inputs did not change reuses an earlier execution instead of running."""
    from kfp import dsl

    from kfx import kfp_local

    def run_task(original, **kwargs):
        name = kfp_local.task_name(kwargs)
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
            task_root=kfp_local.task_root(kwargs),
        )
        stream.last_error, stream.disk_error = ("", ""), None
        for listener in listeners:
            listener.task_started(event)
        kwargs = kfp_local.without_absent_optional_inputs(kwargs)
        reused = cache.before(event, kwargs) if cache is not None else None
        if reused is not None:
            outputs, task_status = reused, kfp_local.SUCCESS
        else:
            outputs, task_status = original(**kwargs)
        event.ended = time.time()
        event.outputs = dict(outputs)
        event.state = "failed" if task_status != kfp_local.SUCCESS else "cached" if reused is not None else "complete"
        if event.state == "failed":
            event.error_kind, event.error = stream.last_error
            if not event.error and stream.disk_error is not None:
                from kfx.disk import step_error

                # No kfx-error sentence, but its traceback says the disk refused a write: say where.
                event.error_kind = "DiskError"
                event.error = step_error(name, *stream.disk_error, event.task_root)
            # Nothing a failed task half-made stays behind looking complete.
            shutil.rmtree(event.task_root, ignore_errors=True)
        elif cache is not None:
            cache.after(event)
        for listener in listeners:
            listener.task_finished(event)
        return outputs, task_status

    with kfp_local.replace_task_runner(run_task):
        yield


def cancel_running(events: list[TaskEvent], listeners: list[Listener]) -> None:
    """Ends the steps a stop cut short: their outputs removed, their state ``canceled``, listeners told."""
    for event in events:
        if event.state != "running":
            continue
        event.state = "canceled"
        event.ended = time.time()
        event.error_kind = "Interrupted"
        event.error = "The run was stopped while this step ran; its outputs were removed."
        shutil.rmtree(event.task_root, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(event.task_root))  # the pipeline job's folder, if this was its first step
        for listener in listeners:
            listener.task_finished(event)
