"""Stopping a local run cleanly on Ctrl-C (SIGINT), SIGTERM or a closed terminal (SIGHUP).

While a run is going, :class:`Stop` turns each of these signals into a request to
stop instead of an exception at whatever line happens to be running:

- the step that is running has its process group ended (SIGTERM, then SIGKILL
  after :data:`GRACE_SECONDS`), which ends the kfp.local child and everything it
  started; kfx then raises :class:`Interrupted` from where the step ran, so the
  runner knows which step was stopped;
- a stop that arrives between steps lets the step that just ended stay complete,
  and no further step starts;
- a second signal while stopping ends the step's processes at once (SIGKILL)
  and is otherwise ignored: cleaning up takes well under a second and always
  finishes, so nothing is left half-recorded.

Each step runs in a process group of its own (:func:`kfx.processes.start_in_own_group`):
a terminal's Ctrl-C reaches kfx alone, and ``kill`` of kfx (which reaches only
kfx) ends the step the same way. Out of the terminal's group, a step would not
hear the terminal close either, so SIGHUP stops the run like SIGTERM. SIGKILL cannot
be caught: the run's watchdog (:mod:`kfx.watchdog`), told of each step's group here,
ends the step then.

Signal handlers can only be set in the main thread; :class:`Stop` sets none
elsewhere, and leaves alone a signal the process was told to ignore (``nohup``,
a background job).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Optional

from kfx import processes

GRACE_SECONDS = 5.0
"""How long a stopped step's processes get to end after SIGTERM before they are killed."""

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A local run stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP.

    A ``KeyboardInterrupt``, so code that stops on Ctrl-C stops on it, and an ``except
    Exception`` cannot swallow it.

    Attributes:
        signum: The signal that stopped the run.
        result: The run's :class:`~kfx.local.RunResult` (status ``interrupted``), once the
            run has been cleaned up; None while it unwinds.
    """

    def __init__(self, signum: int = signal.SIGINT, result: Any = None, message: str = ""):
        super().__init__(message or f"Stopped by {signal_name(signum)}.")
        self.signum = signum
        self.result = result

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by the signal: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP."""
        return 128 + self.signum


def signal_name(signum: int) -> str:
    """``SIGINT``, ``SIGTERM``, …"""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Stop:
    """While open, SIGINT, SIGTERM and SIGHUP ask the run to stop (see the module's description).

    Attributes:
        signum: The first signal received, or 0.
    """

    def __init__(self):
        self.signum = 0
        self._child: Optional[Any] = None
        self._timer: Optional[threading.Timer] = None
        self._previous: dict[int, Any] = {}
        self.warm: Optional[Any] = None
        """The run's warm process (:mod:`kfx.warm`), which starts steps when it can."""
        self.watchdog: Optional[Any] = None
        """The run's watchdog (:mod:`kfx.watchdog`), which ends the step's group if kfx dies outright."""

    @property
    def requested(self) -> bool:
        """Whether a signal asked the run to stop."""
        return bool(self.signum)

    def __enter__(self) -> Stop:
        """Opens the run's stop, the first thing a local run opens, so kfp.local is checked here
        (:func:`kfx.kfp_local.check_for_run`): before any folder, process or signal handler exists.

        Raises:
            KfpLocalMismatch: If the installed kfp lacks an internal of kfp.local that kfx uses.
        """
        from kfx import kfp_local

        kfp_local.check_for_run()
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                current = signal.getsignal(signum)
                if current is not signal.SIG_IGN:
                    self._previous[signum] = current
                    signal.signal(signum, self._received)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def request(self, signum: int = signal.SIGINT) -> None:
        """Asks the run to stop, as the signal ``signum`` would (a bare ``KeyboardInterrupt`` counts as SIGINT)."""
        self._received(signum, None)

    def check(self) -> None:
        """Raises :class:`Interrupted` if the run was asked to stop."""
        if self.requested:
            raise Interrupted(self.signum)

    def _received(self, signum: int, frame: Any) -> None:
        # Runs in the main thread between two Python instructions: it only sends signals and
        # starts a timer, so whatever was interrupted (a store write, a print) completes.
        child = self._child
        if self.requested:
            if child is not None:
                processes.signal_group(child, signal.SIGKILL)  # a second Ctrl-C: no more grace
            return
        self.signum = signum
        if child is not None:
            self._end(child)

    def _end(self, child: Any) -> None:
        processes.signal_group(child, signal.SIGTERM)
        # The main thread may be blocked reading the step's output, which a process that ignores
        # SIGTERM keeps open: the timer kills the group after the grace period all the same.
        self._timer = threading.Timer(GRACE_SECONDS, processes.signal_group, (child, signal.SIGKILL))
        self._timer.daemon = True
        self._timer.start()

    def run_process(self, full_command: list[str]) -> int:
        """Runs one step's command as kfp.local does, but in a process group of its own that a stop ends.

        Takes the place of kfp.local's own subprocess runner (:func:`kfx.kfp_local.replace_subprocess_runner`).

        Returns:
            The command's exit status.

        Raises:
            Interrupted: If the run was asked to stop before the step started, or while it ran
                (unless it had already ended on its own, with success).
        """
        self.check()
        from kfx.installed import without_satisfied_install

        # A task whose packages_to_install are all installed here skips pip, which would only say so,
        # and can then be forked from the warm process like any other Python component.
        command = without_satisfied_install(full_command)
        if command is not full_command:
            print("kfx: packages_to_install already installed in this Python; pip not run")
        process = (self.warm and self.warm.start(command)) or processes.start_in_own_group(command)
        self._child = process
        output = process.stdout
        assert output is not None, "a step's process is started with its output piped to kfx"
        if self.watchdog is not None:
            self.watchdog.watch(process.pid)
        finished = False
        try:
            if self.requested and self._timer is None:
                self._end(process)  # the signal came while the process was being started
            for line in iter(output.readline, ""):
                print(line, end="")  # kfp.local indents a step's lines by replacing print
            print("\n")
            finished = True
        finally:
            self._child = None
            if self._timer is not None:
                self._timer.cancel()
            if self.requested or not finished:
                processes.end_group(process, GRACE_SECONDS)
            output.close()
            if self.watchdog is not None:
                self.watchdog.release(process.pid)  # before it is collected and its pid may be given again
            code = process.wait()
        # A step that was signalled is canceled even if it exited 0: it may have caught SIGTERM and
        # left half its outputs. One that ended on its own before the stop keeps its result.
        if self.requested and (code != 0 or self._timer is not None):
            raise Interrupted(self.signum)
        return code

    @contextlib.contextmanager
    def guarding(self):
        """Makes kfp.local's tasks stoppable while open: no task starts once a stop is asked for, and
        each task's process runs through :meth:`run_process`.

        Enter it inside :func:`kfx.task_watch.observe_tasks`, so a stop between steps is seen before
        any listener hears of the next step.
        """
        from kfx import kfp_local

        def next_task(run_task: Any, **task: Any):
            self.check()
            return run_task(**task)

        with kfp_local.replace_task_runner(next_task), kfp_local.replace_subprocess_runner(self.run_process):
            yield self
