"""The processes of a local run: who runs it, whether that process is still there, and the step's process group.

- :func:`identity` is what a run records about its own process (pid, host, start
  time), and :func:`is_gone` tells from that record whether the process has
  ended: a run still marked ``running`` whose process is gone was killed outright
  (SIGKILL, a power cut) and is *abandoned*. The start time guards against a
  later process that was given the same pid.
- :func:`start_in_own_group` starts a step in a process group of its own, so the
  step and everything it starts (Beam workers, say) can be ended together by
  :func:`end_group`, and a Ctrl-C in a terminal reaches kfx alone, which then
  decides how the step ends.
- :func:`end_groups` ends groups that kfx left behind when it was killed outright
  (:mod:`kfx.watchdog`), and :func:`group_alive` tells whether one still has a
  live process.

Only the standard library is used; ``/proc`` gives start times on Linux, and
elsewhere a pid alone decides.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from typing import Any, Optional

_START_SLACK = 2.0
"""Seconds two readings of one process's start time may differ (the kernel's boot time drifts)."""


def identity() -> dict[str, Any]:
    """This process as a run records it: ``pid``, ``host`` and ``process_started`` (epoch seconds, or None)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "process_started": start_time(os.getpid())}


def start_time(pid: int) -> Optional[float]:
    """When process ``pid`` started, in seconds since the epoch; None if unknown or the process has ended.

    A zombie (ended, not yet collected by its parent) has ended.
    """
    fields = _stat(pid)
    if fields is None or fields[0] in _ENDED:
        return None
    return _started(fields)


def is_gone(pid: Any, host: Any, started: Any = None) -> bool:
    """Whether the process a run recorded has certainly ended.

    Args:
        pid: The recorded pid.
        host: The recorded host name; a process on another host cannot be checked, so it is never gone.
        started: The recorded start time (:func:`start_time`); a live process with another start time
            is a later process that was given the same pid.

    Returns:
        True only when sure: the pid is on this host and no process (or another one) has it now.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # another user's process: it exists
    fields = _stat(pid)
    if fields is None:
        return False  # no /proc here, or it hides the process: the pid alone says it is there
    if fields[0] in _ENDED:
        return True
    now = _started(fields)
    return isinstance(started, (int, float)) and now is not None and abs(now - started) > _START_SLACK


_ENDED = ("Z", "X")
"""Process states in ``/proc/<pid>/stat`` of a process that has ended (zombie, dead)."""


def _stat(pid: int) -> Optional[list[str]]:
    """The fields of ``/proc/<pid>/stat`` from the state on (field 3), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ")".
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _started(fields: list[str]) -> Optional[float]:
    try:
        with open("/proc/stat") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, StopIteration, ValueError):
        return None


def start_in_own_group(command: list[str]) -> subprocess.Popen:
    """Starts ``command`` in a new session (so a process group of its own), its output as text lines on a pipe."""
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, as kfp.local's own runner does
        text=True,
        bufsize=1,
        start_new_session=True,
    )


def signal_group(process: subprocess.Popen, signum: int) -> None:
    """Sends ``signum`` to every process of ``process``'s group, unless ``process`` was already collected.

    Once collected its pid (the group's id) could belong to a new process; before that it cannot.
    """
    if process.returncode is not None:
        return
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def has_exited(process: subprocess.Popen) -> bool:
    """Whether ``process`` has ended, without collecting it (so its group id stays its own)."""
    if process.returncode is not None:
        return True
    exited = getattr(process, "exited", None)  # a step forked by the warm process (kfx.warm)
    if exited is not None:
        return exited()
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def end_group(process: subprocess.Popen, grace: float) -> int:
    """Ends ``process`` and everything in its group: SIGTERM, up to ``grace`` seconds, then SIGKILL.

    Returns:
        The process's exit status (negative: the signal that ended it).
    """
    signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while not has_exited(process) and time.monotonic() < deadline:
        time.sleep(0.02)
    # Whatever the step started and left behind goes too; the leader is not collected yet, so
    # the group id cannot have been given to another process.
    signal_group(process, signal.SIGKILL)
    return process.wait()


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` still has a process that has not ended (a zombie has ended).

    A group whose processes lost their parent may keep zombies until an init that does not
    collect them does; they cannot be signalled any further, so they do not count.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        names = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True  # no /proc here: the signal alone says the group is there
    for name in names:
        fields = _stat(int(name))
        if fields is not None and int(fields[2]) == pgid and fields[0] not in _ENDED:
            return True
    return False


def end_groups(pgids: list[int], grace: float) -> None:
    """Ends process groups that no process of kfx's will collect: SIGTERM, up to ``grace`` seconds, then SIGKILL.

    Used once kfx itself is gone (:mod:`kfx.watchdog`), when the groups' leaders may already
    have been collected by init: a group is signalled only while it has a live process.
    """
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
            os.killpg(pgid, signal.SIGCONT)  # a stopped process (a debugger, a job stopped by hand) acts on it now
    deadline = time.monotonic() + grace
    while any(map(group_alive, pgids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pgid in pgids:
        if group_alive(pgid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
