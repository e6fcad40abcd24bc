"""Where a local run writes: its folders checked before it starts, its own files written whole or not at all.

A run writes in places the user chooses: the runs folder (run folders, the lineage store),
the model registry (when the run may push) and ``kfx predict --output``. A folder that is a
file, lies under a file, sits on a read-only or full disk, or is not writable for this user
would otherwise be found only when the run reaches it, as a traceback after minutes of work;
:func:`check_folder` finds it before any process starts, by writing a probe file.

A disk can still fill, or be remounted read-only, while a run goes: :func:`write_whole` writes
a file under a hidden name and renames it, so a failed write leaves no half a file behind,
and :func:`disk_error` turns the ``OSError`` into one sentence naming what and where.
Only the standard library is imported here: the checks run on every ``kfx run``.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from typing import Union

from kfx.errors import DiskError

# Why a path cannot be written, and what to do, by errno. Root ignores permission bits, so
# EACCES/EPERM come from the file system (or a non-root user), EROFS/ENOSPC from the disk.
_REASONS = {
    errno.EROFS: ("its file system is read-only", "remount it read-write or pass a folder on a writable disk"),
    errno.ENOSPC: ("no space is left on its disk", "free some space or pass a folder on another disk"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or pass a folder on another disk"),
    errno.EACCES: ("permission denied", "make it writable for this user or pass another folder"),
    errno.EPERM: ("permission denied", "make it writable for this user or pass another folder"),
}


def reason(err: OSError) -> tuple[str, str]:
    """Why ``err`` stopped a write, and the fix, as two phrases for a sentence."""
    known = _REASONS.get(err.errno) if err.errno is not None else None
    return known or (err.strerror or str(err), "pass a path on a disk kfx can write")


def _existing_ancestor(path: str) -> str:
    """The nearest folder or file on the way from ``path`` up to ``/`` that exists."""
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_folder(path: str, name: str, create: bool = True) -> str:
    """Checks that files can be written in the folder ``path``, by writing and removing a probe file.

    Args:
        path: The folder.
        name: How the user named it, for the sentence: ``--runs-dir``.
        create: Make the folder when missing (a run makes it anyway); when False, a missing
            folder is checked at its nearest existing parent, and nothing is made.

    Returns:
        The folder's absolute path.

    Raises:
        DiskError: If it is a file, lies under a file, or its disk refuses the probe
            (read-only, full, no permission), naming it and the fix.
    """
    folder = os.path.abspath(path)
    subject = f"{name} {path!r}"
    found = _existing_ancestor(folder)
    if found == folder and not os.path.isdir(folder):
        raise DiskError(f"{subject} is a file, not a folder; pass the path of a folder (kfx makes it when missing).")
    if found != folder and not os.path.isdir(found):
        raise DiskError(f"{subject} is inside {found!r}, which is a file; pass a path whose parents are folders.")
    probe_in = folder if create else found
    try:
        if create:
            os.makedirs(folder, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=probe_in, prefix=".kfx-probe-")
        try:
            # A byte reaches the disk's block accounting: a full disk refuses it, an empty file it may not.
            os.write(handle, b"k")
            os.fsync(handle)
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as err:
        why, fix = reason(err)
        where = "" if probe_in == folder else f" (checked at {probe_in!r}, the part of it that exists)"
        raise DiskError(f"{subject} cannot be written{where}: {why}; {fix}.") from None
    return folder


def disk_error(err: OSError, path: str, what: str = "") -> DiskError:
    """The one-sentence error of a write that failed: what could not be written, where, why and the fix.

    Args:
        err: The write's error.
        path: The file that could not be written.
        what: What else the reader should know, as a clause appended to the fix (``see pipeline.log``).
    """
    why, fix = reason(err)
    folder, name = os.path.split(os.path.abspath(path))
    return DiskError(f"Could not write {name} in {folder!r}: {why}; {fix}{what}.")


# A task's traceback line for an error of its disk, as Python prints it:
# "OSError: [Errno 28] No space left on device" or "...: [Errno 30] Read-only file system: '/path'".
TRACEBACK_LINE = re.compile(rf"\[Errno ({errno.ENOSPC}|{errno.EROFS}|{errno.EDQUOT})\] [^:\n]*(?:: '([^'\n]+)')?")


def step_error(step: str, code: int, filename: str, task_root: str) -> str:
    """The sentence of a step that failed because its disk refused a write (``code`` an errno in
    :data:`TRACEBACK_LINE`): the file when its traceback named it, else the step's output folder."""
    why, fix = reason(OSError(code, os.strerror(code)))
    what = (
        f"{os.path.basename(filename)} in {os.path.dirname(filename)!r}"
        if filename
        else f"its outputs in {task_root!r}"
    )
    return f"Step {step!r} could not write {what}: {why}; {fix} as --runs-dir, then run again."


def write_whole(path: str, content: Union[str, bytes]) -> None:
    """Writes ``content`` into ``path`` whole or not at all: under a hidden name beside it, then renamed.

    A kill, a full disk or a disk turned read-only leaves the previous file (or none), never half a
    file nor the hidden one.

    Raises:
        DiskError: If it cannot be written, naming the file, the reason and the fix.
    """
    folder, name = os.path.split(os.path.abspath(path))
    partial = os.path.join(folder, f".{name}.partial")
    data = content.encode() if isinstance(content, str) else content
    try:
        try:
            with open(partial, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, path)
        finally:
            if os.path.lexists(partial):
                os.unlink(partial)
    except OSError as err:
        raise disk_error(err, path) from None


FICLONE = 0x40049409
"""Linux's ioctl that makes ``dst`` a copy-on-write clone of ``src`` (btrfs, XFS, bcachefs)."""


def copy_file(source: str, target: str) -> None:
    """Copies one file so that no later write to either reaches the other: a reflink where the
    file system makes one (no bytes copied until one side is written), else a plain copy."""
    import fcntl

    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return
        except OSError:  # ext4, tmpfs, another file system: no reflinks there
            pass
    shutil.copyfile(source, target)


def place_copy(source: str, target: str) -> None:
    """Puts a copy of an earlier output (a file, or a folder's files) at ``target``.

    Never a hard link: a link is the same file, so rewriting it in one run's folder (as root,
    whatever its permission bits) would change every run that reused it."""
    if os.path.isdir(source):
        for root, _, files in os.walk(source):
            folder = os.path.join(target, os.path.relpath(root, source))
            os.makedirs(folder, exist_ok=True)
            for name in files:
                copy_file(os.path.join(root, name), os.path.join(folder, name))
    elif os.path.isfile(source):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        copy_file(source, target)
