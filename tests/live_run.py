"""A real ``kfx run`` process that tests stop, kill or watch while it runs (test_interrupt, faults/test_orphans)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LiveRun:
    """``python -m kfx run --sample-rows 600`` (or ``program`` in its place) in a session of its own,
    its stdout read line by line as it comes.

    Args:
        runs_dir: The run's ``--runs-dir``.
        program: What Python runs instead of ``-m kfx`` (``["-c", CODE]``), taking the same arguments.
        preexec_fn: Runs in the child before it starts (``subprocess.Popen``'s).
        options: More options of ``kfx run`` (``--pipeline FILE.py:FUNCTION``).
    """

    def __init__(
        self,
        runs_dir: str,
        program: Sequence[str] = ("-m", "kfx"),
        preexec_fn: Optional[Callable] = None,
        options: Sequence[str] = (),
    ):
        self.runs_dir = runs_dir
        self.proc = subprocess.Popen(
            [sys.executable, *program, "run", "--sample-rows", "600", "--runs-dir", runs_dir, *options],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
        self.lines: queue.Queue = queue.Queue()
        self.out: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        """Waits for a stdout line holding ``text``; fails when kfx ends first."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"kfx ended before {text!r}: {''.join(self.out)}{self.proc.stderr.read()}"
            self.out.append(line)
            if text in line:
                return

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Waits for kfx to end: its exit code, all its stdout and its stderr."""
        code = self.proc.wait(timeout=timeout)
        while (line := self.lines.get(timeout=10)) is not None:
            self.out.append(line)
        return code, "".join(self.out), self.proc.stderr.read()
