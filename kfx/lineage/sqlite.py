"""The SQLite file under the local lineage store: checked before it is opened, and waited for when locked.

ML Metadata reports a file it cannot use, or one another process holds, in its own
words and only once it has opened the file. So :func:`check_store_file` checks the
file first and names the problem in one sentence, without changing the file; and
:func:`with_retry` runs each ML Metadata call again while another writer holds the
file (ml-metadata itself retries for about 18 s), for up to ``BUSY_SECONDS``, so a
second run waits instead of failing.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kfx.lineage.errors import LineageError, StoreBusy

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_SECONDS = 120.0
"""How long a writer waits for a store another process holds locked."""

T = TypeVar("T")

FIX = "move it aside or pass --metadata-path with a new file (kfx never overwrites a store)"
"""How to get past a store kfx cannot use; ends every such error message."""


def check_store_file(path: str, create: bool) -> bool:
    """Checks, without changing it, that ``path`` can hold a kfx lineage store.

    Args:
        path: The SQLite file.
        create: Whether a missing file may be created (recording) or not (reading).

    Returns:
        Whether the file already holds data.

    Raises:
        LineageError: For a missing store when reading, a folder, a file that is not a
            database, or an SQLite database that is not an ML Metadata store.
    """
    if os.path.isdir(path):
        raise LineageError(
            f"Lineage store {path!r} is a folder; pass --metadata-path with a file name such as metadata.sqlite."
        )
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        if create:
            return False
        if os.path.exists(path):
            raise LineageError(f"Lineage store {path!r} is empty; run `kfx run` to record a run into it first.")
        raise LineageError(
            f"No lineage store at {path!r}; run `kfx run` first (it records lineage unless --no-record-lineage) "
            "or pass --metadata-path / --runs-dir where the store is."
        )
    with open(path, "rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise LineageError(f"Lineage store {path!r} is not a database; {FIX}.")
    try:
        # Read-only and with a busy timeout: this check must not change or block on the file.
        # It runs before ML Metadata opens the file and holds no lock afterwards, which matters
        # because two SQLite libraries in one process do not see each other's file locks.
        with contextlib_closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_SECONDS)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:
        raise LineageError(f"Lineage store {path!r} cannot be read as a database ({err}); {FIX}.") from None
    if tables and "MLMDEnv" not in tables:
        raise LineageError(f"Lineage store {path!r} is an SQLite database but not an ML Metadata store; {FIX}.")
    return bool(tables)


def contextlib_closing(db: sqlite3.Connection):
    """Closes the connection on exit (``sqlite3``'s own context manager only commits)."""
    import contextlib

    return contextlib.closing(db)


def is_busy(err: Exception) -> bool:
    """Whether an error means another writer holds the file, so trying again later can succeed."""
    from ml_metadata import errors

    text = str(err).lower()
    # ml-metadata waits and retries on a locked SQLite file itself (about 18 s), then gives up
    # with AbortedError "Concurrent writes aborted after max number of retries".
    return isinstance(err, errors.AbortedError) or "locked" in text or "busy" in text


def with_retry(call: Callable[..., T], *args: Any, path: str = "", **kwargs: Any) -> T:
    """Calls an ML Metadata operation, waiting and trying again while another process holds the file.

    Args:
        call: The operation.
        *args: Its arguments.
        path: The store, for the error message.
        **kwargs: Its keyword arguments.

    Returns:
        What the operation returns.

    Raises:
        StoreBusy: If the store stayed locked for ``BUSY_SECONDS``.
    """
    from ml_metadata import errors

    deadline = time.monotonic() + BUSY_SECONDS
    delay = 0.02
    while True:
        try:
            return call(*args, **kwargs)
        except errors.StatusError as err:
            if not is_busy(err):
                raise
            if time.monotonic() > deadline:
                raise StoreBusy(
                    f"Lineage store {path!r} stayed locked by another process for {BUSY_SECONDS:.0f} s; "
                    "try again when the other run has finished."
                ) from None
            # Jitter keeps two waiting writers from retrying in lockstep.
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)
