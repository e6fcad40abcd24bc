"""A run's watchdog: if kfx dies outright, the running step's processes end and its half-made folder goes.

kfx ends a step itself on Ctrl-C, SIGTERM or SIGHUP (:mod:`kfx.stops`), but nothing can
catch SIGKILL (``kill -9``, the out-of-memory killer) or a crash of the interpreter. The
step, in a process group of its own, would then run on to its end, orphaned, and leave its
task folder behind. A parent-death signal (``PR_SET_PDEATHSIG``) reaches only kfx's direct
children and is cleared on fork, so it would miss the step's own children, and a step forked
by the warm process (:mod:`kfx.warm`) is not kfx's child at all.

So each run starts one small process beside it, in a session of its own, that holds the
read end of a pipe whose write end only kfx holds. Through the pipe kfx says which step's
process group is running and which task folder is being made. However kfx ends, the kernel
closes its end; an end of the pipe without kfx's goodbye means kfx died: the watchdog ends
every group it was told about (SIGTERM, then SIGKILL after a grace period), removes their
task folders, and says so in the run's ``pipeline.log``. It blocks on the pipe all run long,
so a run that ends normally costs one small process start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from typing import Any, Optional

from kfx.events import Listener, TaskEvent


class Watchdog(Listener):
    """The watchdog of one run, seen from kfx: told of step groups by :class:`kfx.stops.Stop`, of task
    folders as a run listener. ``close()`` says goodbye.

    Messages are single lines shorter than a pipe's atomic write, sent without blocking: a watchdog
    that has gone or stalled leaves the run unwatched rather than stopped.
    """

    def __init__(self, grace: Optional[float] = None):
        """Starts the watchdog.

        Args:
            grace: Seconds the steps' processes get after SIGTERM before SIGKILL; None: a stop's
                (:data:`kfx.stops.GRACE_SECONDS`).
        """
        if grace is None:
            from kfx.stops import GRACE_SECONDS

            grace = GRACE_SECONDS
        read, write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kfx.watchdog", str(read), str(grace), str(os.getpid())],
                pass_fds=[read],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # out of kfx's group: a kill of that whole group leaves it watching
            )
        except BaseException:
            os.close(write)
            raise
        finally:
            os.close(read)
        os.set_blocking(write, False)
        self._write: Optional[int] = write

    def watch(self, pgid: int) -> None:
        """A step's process group started."""
        self._send(watch=pgid)

    def release(self, pgid: int) -> None:
        """A step's process group is kfx's again: kfx saw its leader end (or ended the group itself) and collects it."""
        self._send(release=pgid)

    def task_started(self, event: TaskEvent) -> None:
        self._send(task=event.task_root)

    def task_finished(self, event: TaskEvent) -> None:
        self._send(done=event.task_root)

    def close(self) -> None:
        """Says goodbye: the run ended (however) in kfx's own hands, which cleaned up what it had to."""
        if self._write is None:
            return
        self._send(bye=True)
        os.close(self._write)
        self._write = None
        # It ends as soon as it reads the goodbye, but the run need not wait that long: it is collected
        # in the background (a thread that ends with it, or with kfx).
        threading.Thread(target=self.process.wait, name="kfx-watchdog-wait", daemon=True).start()

    def _send(self, **message: Any) -> None:
        if self._write is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._write, (json.dumps(message) + "\n").encode())


# -- the watchdog itself ---------------------------------------------------------------------------


def watch(fd: int, grace: float, kfx_pid: int) -> None:
    """Reads kfx's messages from ``fd`` until it closes; cleans up after kfx if it closed without a goodbye."""
    groups: dict[int, None] = {}
    folders: dict[str, None] = {}
    with open(fd, "rb") as pipe:
        for line in pipe:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("bye"):
                return
            if "watch" in message:
                groups[message["watch"]] = None
            elif "release" in message:
                groups.pop(message["release"], None)
            elif "task" in message:
                folders[message["task"]] = None
            elif "done" in message:
                folders.pop(message["done"], None)
    abandon(kfx_pid, list(groups), list(folders), grace)


def abandon(kfx_pid: int, groups: list[int], folders: list[str], grace: float) -> None:
    """Ends the ``groups`` kfx left running and removes the task ``folders`` it left half-made.

    The groups end first, so no step writes into its folder once it is removed. Each run folder's
    ``pipeline.log`` gets a line naming what was done, as a stopped run's gets ``kfx: stopped by``.
    """
    from kfx import processes

    processes.end_groups(groups, grace)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        job = os.path.dirname(folder)
        with contextlib.suppress(OSError):
            os.rmdir(job)  # the pipeline job's folder, if this was its first step
        log = os.path.join(os.path.dirname(job), "pipeline.log")
        if os.path.isfile(log):
            with contextlib.suppress(OSError), open(log, "a") as f:
                f.write(
                    f"kfx: the kfx process (pid {kfx_pid}) ended without finishing the run; its watchdog ended "
                    f"step {os.path.basename(folder)}'s processes and removed its half-made folder {folder}\n"
                )


if __name__ == "__main__":
    watch(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))
