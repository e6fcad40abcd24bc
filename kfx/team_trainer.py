"""A team's own trainer (``kfx run --trainer PACKAGE.MODULE``), run as Vertex AI would run its image.

The module runs as ``python -m PACKAGE.MODULE`` in a process of its own, in the current
folder and with the ``AIP_*`` variables of :mod:`kfx.contract`, so it is found from the
folder ``kfx run`` started in (or ``PYTHONPATH``) exactly as ``python -m`` finds it there,
and a package of the team's named ``trainer`` is no clash: kfx's own is ``kfx_trainer``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from kfx.contract import CONTRACT_DOC, METADATA_FILE, METRICS_FILE, MODEL_FILE
from kfx.errors import TrainerError

# What `python -m` prints, with no traceback, when it cannot find the module itself.
_NOT_FOUND = ("No module named", "Error while finding module specification")


def code_digest(module: str) -> str:
    """A digest of the source of the package (or module file) that holds ``module``, found as
    ``python -m`` finds it from the current folder and ``PYTHONPATH``: the train step's cache key
    and its lineage hold it, so an edited trainer trains again.

    Raises:
        TrainerError: If no such package or module is there.
    """
    import hashlib
    import importlib.machinery

    top = module.split(".")[0]
    path = [os.getcwd(), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p), *sys.path[1:]]
    spec = importlib.machinery.PathFinder.find_spec(top, path)
    if spec is None:
        raise TrainerError(
            f"The trainer module {module!r} cannot be found from {os.getcwd()!r} (no {top!r} package or module "
            "there or on PYTHONPATH); run kfx from the folder that holds its package, or add that folder to PYTHONPATH."
        )
    if spec.submodule_search_locations:
        folder = list(spec.submodule_search_locations)[0]
        files = sorted(
            os.path.join(root, name)
            for root, dirs, names in os.walk(folder)
            for name in names
            if name.endswith(".py") and "__pycache__" not in root
        )
    else:
        folder, files = os.path.dirname(spec.origin or ""), [spec.origin or ""]
    sha = hashlib.sha256(module.encode() + b"\n")
    for name in files:  # source only: the .pyc files its runs write would change the digest
        with open(name, "rb") as f:
            sha.update(f"{os.path.relpath(name, folder)}\0".encode() + f.read() + b"\n")
    return "sha256:" + sha.hexdigest()


def run(module: str, args: Sequence[str], environ: Mapping[str, str]) -> None:
    """Runs the module with ``args`` under ``environ``; its output goes on to this step's.

    Raises:
        TrainerError: If the module cannot be found, or exits non-zero (naming its last line of errors).
    """
    done = subprocess.run([sys.executable, "-m", module, *args], env=dict(environ), capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode == 0:
        return
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "no error output"
    if "Traceback" not in done.stderr and any(marker in done.stderr for marker in _NOT_FOUND):
        raise TrainerError(
            f"The trainer module {module!r} cannot be found from {os.getcwd()!r} ({last}); run kfx from the folder "
            "that holds its package, or add that folder to PYTHONPATH."
        )
    raise TrainerError(
        f"The trainer module {module!r} exited with code {done.returncode} ({last}); fix the trainer, whose whole "
        "output is in the train step's log."
    )


def result(module: str, model_dir: str) -> dict[str, Any]:
    """What the module left in ``model_dir``, held to the model contract, in the shape of the bundled
    trainer's result (:func:`kfx.model_steps.run_trainer`): accuracies from ``metrics.json`` when it wrote
    one (NaN when not), the estimator from the metadata's ``model`` (else the module's name).

    Raises:
        TrainerError: If it wrote no ``model.joblib`` or ``model_metadata.json``.
        SourceError: If the metadata breaks the contract (:func:`kfx.contract.check_model_dir`).
    """
    from kfx import contract, storage

    folder = model_dir.rstrip("/")
    for name in (MODEL_FILE, METADATA_FILE):
        if not storage.exists(f"{folder}/{name}"):
            raise TrainerError(
                f"The trainer module {module!r} ended without writing {name} into AIP_MODEL_DIR ({model_dir}); "
                f"have it write {MODEL_FILE} and {METADATA_FILE} there (see {CONTRACT_DOC})."
            )
    metadata = contract.check_model_dir(model_dir)
    metrics: dict[str, Any] = {}
    if storage.exists(f"{folder}/{METRICS_FILE}"):
        try:
            loaded = json.loads(storage.read_text(f"{folder}/{METRICS_FILE}"))
        except ValueError:
            loaded = None
        metrics = loaded if isinstance(loaded, dict) else {}
    described: dict[str, Any] = metadata["model"] if isinstance(metadata.get("model"), dict) else {}
    return {
        **{key: metrics[key] for key in ("fit_seconds", "train_rows") if isinstance(metrics.get(key), (int, float))},
        **{split: {"accuracy": _accuracy(metrics.get(split))} for split in ("validation", "test")},
        "model": {"estimator": str(described.get("estimator") or module), **described, "trainer": module},
        "id_columns": list(metadata.get("id_columns") or []),
        "task": metadata.get("task", "classification"),
    }


def _accuracy(split: Any) -> float:
    value = split.get("accuracy") if isinstance(split, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")
