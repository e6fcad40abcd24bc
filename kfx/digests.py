"""Content digests: of a file or a folder (what step caching compares), and of the code the steps run.

:mod:`kfx.cache` keys a step by the digests of its inputs and checks an earlier
execution's outputs by theirs; nothing here reads the lineage store or kfp.
"""

from __future__ import annotations

import hashlib
import os

MISSING = "missing"
"""The digest of an output the step did not write."""
CODE_PACKAGES = ("kfx", "kfx_trainer")
"""The packages whose source the code version covers: the steps' code and the trainer's."""


def _file_digest(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def content_digest(path: str) -> str:
    """The content digest of a file, or of a folder (its files' relative names and contents).

    Returns:
        ``sha256:<hex>``, or :data:`MISSING` when nothing is at ``path``.
    """
    if os.path.isfile(path):
        return "sha256:" + _file_digest(path)
    if not os.path.isdir(path):
        return MISSING
    sha = hashlib.sha256(b"folder\n")
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            sha.update(f"{os.path.relpath(full, path)}\0{_file_digest(full)}\n".encode())
    return "sha256:" + sha.hexdigest()


def code_version() -> str:
    """A digest of ``kfx.__version__`` and of the code the steps run: every ``.py`` file of the
    kfx and kfx_trainer packages, and kfx's packaged data (the beans table a run reads by default).

    It reads about 80 small files and the 1.6 MB table: a few milliseconds, once per run.
    """
    import importlib.util

    from kfx import __version__

    sha = hashlib.sha256(f"kfx {__version__}\n".encode())
    for package in CODE_PACKAGES:
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                in_data = os.path.relpath(root, folder).split(os.sep)[0] == "data"
                for name in sorted(files):
                    if name.endswith(".py") or in_data:
                        full = os.path.join(root, name)
                        sha.update(f"{package}/{os.path.relpath(full, folder)}\0{_file_digest(full)}\n".encode())
    return "sha256:" + sha.hexdigest()
