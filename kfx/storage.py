"""Reading and writing local paths and ``gs://`` URIs through one small interface.

``gs://`` goes through google-cloud-storage, which honours ``STORAGE_EMULATOR_HOST``
(the tests point it at a real GCS-API server on loopback).
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob as _glob
import io
import os
import re
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from kfx.errors import SourceError

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


def is_gcs(uri: str) -> bool:
    """Tells whether ``uri`` is a ``gs://`` URI."""
    return uri.startswith("gs://")


def split_gcs(uri: str) -> tuple[str, str]:
    """Splits ``gs://bucket/path`` into bucket and object path.

    Raises:
        SourceError: If the bucket name is not a valid Cloud Storage bucket name.
    """
    rest = uri[len("gs://") :]
    bucket, _, path = rest.partition("/")
    if not _BUCKET.match(bucket):
        raise SourceError(
            f"{uri!r} does not name a valid bucket; write gs://BUCKET/PATH with a lower-case bucket name."
        )
    return bucket, path


def _client():
    # Imported by its full name: mypy sees google.cloud as a namespace package without it.
    import google.cloud.storage as storage

    # With STORAGE_EMULATOR_HOST set, the client itself talks to the emulator without credentials.
    return storage.Client()


def read_bytes(uri: str) -> bytes:
    """Reads a whole local file or ``gs://`` object.

    Raises:
        SourceError: If it does not exist.
    """
    if is_gcs(uri):
        from google.api_core.exceptions import NotFound

        bucket, path = split_gcs(uri)
        try:
            return _client().bucket(bucket).blob(path).download_as_bytes()
        except NotFound:
            raise SourceError(f"{uri!r} does not exist; check the bucket and object path.") from None
    try:
        with open(uri, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise SourceError(f"{uri!r} does not exist; pass the path of an existing file.") from None


@contextlib.contextmanager
def open_read(uri: str) -> Iterator[BinaryIO]:
    """Opens a local file, or a ``gs://`` object downloaded whole, for reading.

    A local file is read as it is consumed, never held whole in memory.

    Raises:
        SourceError: If it does not exist.
    """
    if is_gcs(uri):
        yield io.BytesIO(read_bytes(uri))
        return
    try:
        f = open(uri, "rb")
    except FileNotFoundError:
        raise SourceError(f"{uri!r} does not exist; pass the path of an existing file.") from None
    with f:
        yield f


def write_bytes(uri: str, data: bytes) -> None:
    """Writes a local file or ``gs://`` object whole; see :func:`open_write`."""
    with open_write(uri) as f:
        f.write(data)


@contextlib.contextmanager
def open_write(uri: str) -> Iterator[BinaryIO]:
    """Opens a local file or ``gs://`` object for writing; it appears only once the block ends without error.

    A local file is written to a hidden temporary file beside it, then renamed, so a
    crash never leaves a half-written file that looks complete; a ``gs://`` object is
    uploaded from a local temporary file when the block ends.
    """
    if is_gcs(uri):
        bucket, path = split_gcs(uri)
        with tempfile.TemporaryFile() as f:
            yield f
            f.seek(0)
            _client().bucket(bucket).blob(path).upload_from_file(f)
        return
    folder = os.path.dirname(os.path.abspath(uri))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, uri)
    except BaseException:
        os.unlink(tmp)
        raise


def write_text(uri: str, text: str) -> None:
    """Writes UTF-8 text whole; see :func:`write_bytes`."""
    write_bytes(uri, text.encode("utf-8"))


def read_text(uri: str) -> str:
    """Reads UTF-8 text; see :func:`read_bytes`."""
    return read_bytes(uri).decode("utf-8")


def exists(uri: str) -> bool:
    """Tells whether a local path or ``gs://`` object exists."""
    if is_gcs(uri):
        bucket, path = split_gcs(uri)
        return _client().bucket(bucket).blob(path).exists()
    return os.path.exists(uri)


def expand(pattern: str) -> list[str]:
    """Lists the files a path, folder or wildcard pattern names, sorted.

    Vertex AI hands a trainer data as wildcard URIs (``gs://…/training-*.csv``);
    a plain file or ``gs://`` object stands for itself, a folder for the files in it.
    """
    if is_gcs(pattern):
        bucket, path = split_gcs(pattern)
        if not any(ch in path for ch in "*?["):
            return [pattern]
        prefix = re.split(r"[*?\[]", path, maxsplit=1)[0]
        blobs = _client().list_blobs(bucket, prefix=prefix)
        return sorted(f"gs://{bucket}/{b.name}" for b in blobs if fnmatch.fnmatchcase(b.name, path))
    if os.path.isdir(pattern):
        return sorted(os.path.join(pattern, n) for n in os.listdir(pattern) if not n.startswith("."))
    if any(ch in pattern for ch in "*?["):
        return sorted(_glob.glob(pattern))
    return [pattern]
