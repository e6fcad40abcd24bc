"""What listeners of a local run see: one event per task start and end, and the console's lines."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional, TextIO

SUCCEEDED = ("complete", "cached")
"""The states of a step whose outputs exist: it ran to completion, or reused an earlier execution's."""


@dataclass
class TaskEvent:
    """One task of a local run, as listeners see it.

    Attributes:
        name: Task name (``import-dataset``, ``train``, …).
        state: ``running``, ``complete``, ``cached`` (an earlier execution's outputs were
            reused, see :mod:`kfx.cache`), ``failed``, or ``canceled`` (a stop cut it short).
        started: Start time (seconds since the epoch).
        ended: End time, once ended.
        parameters: Input parameter values.
        input_artifacts: Input name to the artifacts it received.
        outputs: Output name to a parameter value or an artifact (``uri``, ``metadata``).
        task_root: Folder holding the task's outputs.
        error: The ``kfx-error`` sentence of a failed task, if it printed one; for a canceled one, why.
        error_kind: The error's class name (``DataError``, ``AnomaliesFound``, …; ``Interrupted``).
        cache_key: What the step's outputs depend on, digested (:mod:`kfx.cache`); empty when unknown.
        cached_from: For a cached step, the execution whose outputs it reused (``<run_id>/<step>``).
        digests: Content digest of each output artifact (by output name) and of each place
            outside the run folder the step wrote to (by the step's ``outside`` reference).
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
    cache_key: str = ""
    cached_from: str = ""
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """The step has its outputs: it ran to completion or reused an earlier execution's."""
        return self.state in SUCCEEDED

    @property
    def seconds(self) -> float:
        return (self.ended or time.time()) - self.started


class Listener:
    """Receives the events of a local run; each method does nothing unless a listener overrides it."""

    def task_started(self, event: TaskEvent) -> None:
        """A step started."""

    def task_finished(self, event: TaskEvent) -> None:
        """A step ended: complete, failed, or canceled by a stop."""

    def run_finished(self, run_id: str, summary: dict[str, Any]) -> None:
        """The run ended; ``summary`` is what ``summary.json`` will hold."""


def _fmt_outputs(event: TaskEvent) -> str:
    parts = []
    for key, value in event.outputs.items():
        if isinstance(value, bool) or isinstance(value, int):
            parts.append(f"{key}={value}")
        elif isinstance(value, float) and value == value:  # NaN: not measured (a regression's accuracy)
            parts.append(f"{key}={value:.4f}")
    return ", ".join(parts)


class ConsoleListener(Listener):
    """Prints one line when a step starts and one when it ends."""

    def __init__(self, out: TextIO, total: int):
        self.out: Optional[TextIO] = out
        self.total = total
        self.index = 0

    def task_started(self, event: TaskEvent) -> None:
        self.index += 1
        self._say(f"{event.name} ...")

    def task_finished(self, event: TaskEvent) -> None:
        if event.succeeded:
            detail = _fmt_outputs(event)
            how = f"cached from run {event.cached_from.split('/')[0]}" if event.state == "cached" else "done"
            self._say(f"{event.name} {how} in {event.seconds:.1f} s" + (f": {detail}" if detail else ""))
        elif event.state == "canceled":
            self._say(f"{event.name} interrupted after {event.seconds:.1f} s")
        else:
            self._say(f"{event.name} FAILED after {event.seconds:.1f} s")

    def _say(self, line: str) -> None:
        if self.out is None:
            return
        try:
            print(f"[{self.index}/{self.total}] {line}", file=self.out, flush=True)
        except OSError:
            # The terminal closed or the reading end of a pipe went away (`| head`): the run goes
            # on and is recorded all the same, without its console.
            self.out = None


class RecordingListener(Listener):
    """Keeps every task event, in order, for the summary."""

    def __init__(self):
        self.events: list[TaskEvent] = []

    def task_started(self, event: TaskEvent) -> None:
        self.events.append(event)
