"""What a local registry version was pushed with, and loads that check it.

A push writes ``manifest.json`` into the version folder before the folder appears: the sha256 of
every file the push wrote. Every load of a version's files (the champion a run compares with, the
model ``kfx predict`` scores with, their metadata, schema and training statistics) checks what it
reads against it, and refuses a changed, missing or unlisted file, or a folder without a manifest,
with one sentence naming the folder and the fix.

This catches a version changed after its push (a copied registry edited, a disk that lost a file);
it is no defence against whoever pushed the version: ``model.joblib`` is a pickle, and loading it
runs code, so a registry must come from someone you trust.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Optional

from kfx.contract import METADATA_FILE, MODEL_FILE
from kfx.errors import RegistryError

MANIFEST_FILE = "manifest.json"
SCHEMA_FILE = "schema.pbtxt"
TRAIN_STATISTICS = "statistics/Split-train/stats.tfrecord"
"""A version's schema and training statistics (the same names as :mod:`kfx.registry`'s)."""
LOADED_FILES = (MODEL_FILE, METADATA_FILE, SCHEMA_FILE, TRAIN_STATISTICS)
"""The files kfx reads from a version; a version's ``evaluation.json`` is kept for people, never loaded."""
_REQUIRED = (MODEL_FILE, METADATA_FILE)
_FIX = "restore it from a copy you trust, or remove that version folder so the version before it is the newest"


def sha256(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_manifest(folder: str) -> dict[str, str]:
    """Writes ``manifest.json`` into ``folder``: each file's path (relative, ``/``-separated) to its sha256.

    Returns:
        The listed files and their digests.
    """
    files = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            if relative != MANIFEST_FILE:
                with open(path, "rb") as f:
                    files[relative] = sha256(f.read())
    with open(os.path.join(folder, MANIFEST_FILE), "w") as f:
        # Sorted: a version pushed again from the same files is the same bytes (a cached push checks them).
        json.dump({"files": files}, f, indent=2, sort_keys=True)
    return files


def _refuse(folder: str, problem: str) -> RegistryError:
    return RegistryError(f"Registry version {folder} {problem}; {_FIX}.")


def read_manifest(folder: str) -> dict[str, str]:
    """The files a version's manifest lists, with their digests.

    Raises:
        RegistryError: If the folder has no manifest, or one that is not kfx's.
    """
    folder = folder.rstrip("/")
    path = os.path.join(folder, MANIFEST_FILE)
    if not os.path.isfile(path):
        raise _refuse(folder, f"has no {MANIFEST_FILE}, so nothing says its files are the ones pushed")
    try:
        with open(path, "rb") as f:
            files = json.loads(f.read())["files"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ValueError("a digest that is not text")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise _refuse(folder, f"has a {MANIFEST_FILE} that is not a kfx manifest") from None
    return files


def read_verified(folder: str, name: str, files: Optional[dict[str, str]] = None) -> bytes:
    """The bytes of a version's file, read once and checked against its manifest.

    Args:
        folder: The version folder.
        name: The file, relative to it (``model.joblib``).
        files: The manifest's listing, when read already.

    Raises:
        RegistryError: If the file is missing, unlisted or not the one pushed.
    """
    folder = folder.rstrip("/")
    files = read_manifest(folder) if files is None else files
    path = os.path.join(folder, name)
    if name not in files:
        if os.path.exists(path):
            raise _refuse(folder, f"holds a {name} that its {MANIFEST_FILE} does not list (it was not pushed with it)")
        raise _refuse(folder, f"has no {name}")
    if not os.path.isfile(path):
        raise _refuse(folder, f"has lost its {name}, which was pushed with it")
    with open(path, "rb") as f:
        data = f.read()
    if sha256(data) != files[name]:
        raise _refuse(folder, f"holds a {name} that is not the one pushed (its sha256 differs from {MANIFEST_FILE})")
    return data


def read_metadata(folder: str, files: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """A version's ``model_metadata.json``, checked against its manifest and parsed.

    Raises:
        RegistryError: If it is changed, missing, or not a model's metadata.
    """
    data = read_verified(folder, METADATA_FILE, files)
    try:
        metadata = json.loads(data)
        if not (isinstance(metadata["label_column"], str) and isinstance(metadata["features"], list)):
            raise TypeError("not a model's metadata")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise _refuse(folder.rstrip("/"), f"holds a {METADATA_FILE} that is not a model's metadata") from None
    return metadata


def check_version(folder: str) -> dict[str, Any]:
    """Checks every file kfx loads from a version (:data:`LOADED_FILES`) against its manifest.

    Returns:
        The version's metadata.

    Raises:
        RegistryError: Naming the first file that is missing, changed or unlisted, or a missing manifest.
    """
    files = read_manifest(folder)
    for name in LOADED_FILES:
        if name in _REQUIRED or name in files or os.path.exists(os.path.join(folder, name)):
            read_verified(folder, name, files)
    return read_metadata(folder, files)


def load_model(folder: str) -> tuple[Any, dict[str, Any]]:
    """A version's model, unpickled from the very bytes checked against its manifest, and its metadata.

    Raises:
        RegistryError: If a file is missing or changed, or the pickle does not load.
    """
    import io

    import joblib

    files = read_manifest(folder)
    metadata = read_metadata(folder, files)
    data = read_verified(folder, MODEL_FILE, files)
    try:
        model = joblib.load(io.BytesIO(data))
    except Exception as err:  # a listed file that is garbage: whatever the unpickler raises
        raise _refuse(folder.rstrip("/"), f"holds a {MODEL_FILE} that does not load ({type(err).__name__})") from None
    return model, metadata
