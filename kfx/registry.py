"""A versioned local model registry: the stand-in for Vertex AI Model Registry on one machine.

Layout: ``<registry>/<model_name>/v<N>/`` holding what a model version needs to be
served, compared and watched (:data:`VERSION_FILES`): ``model.joblib``, its metadata,
the evaluation, the schema the model was trained under and the training statistics
(``statistics/Split-train/stats.tfrecord``: the next run's drift check compares with
them), and ``manifest.json``, the sha256 of each (:mod:`kfx.manifest`: every load checks
them). A version folder appears whole (copied under a hidden name, then renamed),
and an existing version is never overwritten.

Only blessed models are pushed, so the newest version is the champion: the model a
new one must not be worse than (:func:`resolve`). Pushes to one model take turns (``flock``
on the ``<registry>/<model>`` folder, from the look at the newest version to the rename), and
a push whose run compared with an older champion than the newest first scores the
newest on its test split: runs at once never leave a model that lost as the newest.

On Vertex AI the champion is the version with the ``default`` alias (:mod:`kfx.vertex.registry`);
its folder holds the same files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from typing import Any, Optional

from kfx.contract import METADATA_FILE, MODEL_FILE
from kfx.errors import ConfigError, ModelMismatch, ModelNotFound
from kfx.manifest import SCHEMA_FILE, TRAIN_STATISTICS, write_manifest

_VERSION = re.compile(r"^v(\d+)$")
LATEST = "latest"
EVALUATION_FILE = "evaluation.json"
STATISTICS_FOLDER = "statistics"
TRAIN_SPLIT = "train"
VERSION_FILES = (MODEL_FILE, METADATA_FILE, EVALUATION_FILE, SCHEMA_FILE, TRAIN_STATISTICS)
"""What a pushed version holds, here and in a Vertex AI version folder (a local one also its manifest)."""


def parse_reference(reference: str) -> tuple[str, str]:
    """Splits ``NAME``, ``NAME@latest`` or ``NAME@VERSION`` (``3`` or ``v3``) into the name and
    the version (``latest`` when none is given).

    Raises:
        ConfigError: If the name or the version is malformed.
    """
    name, _, version = (reference or "").strip().partition("@")
    version = version or LATEST
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?", name):
        raise ConfigError(
            f"Model {reference!r} is not NAME[@VERSION|@latest]; pass a registry model name such as beans, beans@3 or "
            "beans@latest."
        )
    if version != LATEST:
        match = re.fullmatch(r"v?(\d+)", version)
        if not match:
            raise ConfigError(
                f"Model version {version!r} in {reference!r} is not a number; pass NAME@3, NAME@v3 or NAME@latest."
            )
        if int(match[1]) < 1:
            raise ConfigError(
                f"Model version {version!r} in {reference!r} does not exist: versions start at 1; pass NAME@1 "
                "or a later version, or NAME@latest."
            )
        version = match[1]
    return name, version


def list_versions(registry_dir: str, model_name: str) -> list[int]:
    """The version numbers of a model in the registry, oldest first."""
    folder = os.path.join(registry_dir, model_name)
    if not os.path.isdir(folder):
        return []
    return sorted(int(m[1]) for m in map(_VERSION.match, os.listdir(folder)) if m)


def resolve(registry_dir: str, model_name: str, version: str = LATEST, required: bool = False) -> dict[str, Any]:
    """The registry version ``model_name@version`` (``latest``: the newest, the champion).

    Returns:
        ``found``, ``model_name``, ``version`` (``"3"``, empty when none), ``uri`` (the version
        folder, empty when none) and ``reason`` (why none was found, else empty).

    Raises:
        ModelNotFound: When ``required`` and the model or version is not in the registry.
    """
    versions = list_versions(registry_dir, model_name)
    record: dict[str, Any] = {"found": False, "model_name": model_name, "version": "", "uri": "", "reason": ""}
    if not versions:
        record["reason"] = f"the registry {os.path.abspath(registry_dir)} holds no version of model {model_name!r}"
    elif version == LATEST:
        record.update(found=True, version=str(versions[-1]))
    elif int(version) in versions:
        record.update(found=True, version=str(int(version)))
    else:
        record["reason"] = (
            f"model {model_name!r} has no version {version} in {os.path.abspath(registry_dir)} "
            f"(it has {', '.join(f'v{v}' for v in versions)})"
        )
    if record["found"]:
        record["uri"] = os.path.abspath(os.path.join(registry_dir, model_name, f"v{record['version']}"))
    elif required:
        known = (
            sorted(n for n in os.listdir(registry_dir) if list_versions(registry_dir, n))
            if os.path.isdir(registry_dir)
            else []
        )
        raise ModelNotFound(
            f"{record['reason'][0].upper()}{record['reason'][1:]}; pass one of: "
            f"{', '.join(known) if known else 'none yet (run kfx run to push a model first)'}."
        )
    return record


def check_champion(registry_dir: str, model_name: str) -> None:
    """Checks the champion's files, when there is one, against its manifest (:func:`kfx.manifest.check_version`).

    Raises:
        RegistryError: Naming the version folder and the fix, for a missing or changed file.
    """
    from kfx import manifest

    champion = resolve(registry_dir, model_name)
    if champion["found"]:
        manifest.check_version(champion["uri"])


def check_compatible(version: dict[str, Any], label_column: str, columns: list[str]) -> list[str]:
    """Checks that a version can be the champion of a table: the same label column. The features its
    model reads that ``columns`` lack are returned, not refused: a column gone from this run's table is
    a data problem that validation reports with the table's other anomalies (:mod:`kfx.validation`),
    not a reason to start a new model.

    Returns:
        The features the version's model reads that are not among ``columns``, in the model's order.

    Raises:
        ModelMismatch: If the version predicts another label column, naming both and the fix (another
            ``--model-name``).
        RegistryError: If a file of the version is not the one pushed (:mod:`kfx.manifest`).
    """
    from kfx import manifest

    # Every file later steps read from the version (its model, schema and training statistics) is
    # checked against the manifest here, once: a version changed since its push is refused up front.
    metadata = manifest.check_version(version["uri"])
    name = f"{version['model_name']} v{version['version']}"
    if label_column and metadata["label_column"] != label_column:
        raise ModelMismatch(
            f"Model {name} predicts {metadata['label_column']!r}, but this run's label column is {label_column!r}; "
            "pass --model-name with a new name for a model of this table."
        )
    return [f for f in metadata["features"] if f not in columns]


def push_model(
    model_dir: str,
    registry_dir: str,
    model_name: str,
    evaluation: dict[str, Any],
    schema_uri: Optional[str] = None,
    statistics_uri: Optional[str] = None,
    champion: Optional[dict[str, Any]] = None,
    test_uri: str = "",
) -> dict[str, Any]:
    """Copies a blessed model with its evaluation, schema and training statistics into a new registry version.

    Args:
        model_dir: Folder the trainer wrote (``model.joblib``, ``model_metadata.json``).
        registry_dir: Registry root folder.
        model_name: Name of the model in the registry.
        evaluation: Result of :func:`kfx.evaluation.evaluate_model`; decides the push.
        schema_uri: Schema text proto to keep with the model.
        statistics_uri: The run's statistics folder; its training split is kept with the model.
        champion: The version the model was compared with (:func:`resolve`); a model that is that
            version's, byte for byte (a re-run that reused the training), is not pushed again.
        test_uri: The run's test split: when a newer version than ``champion`` was pushed while this
            run ran, the model must not lose to it on these rows (:func:`kfx.evaluation.recheck`).

    Returns:
        ``pushed``, and ``version`` and ``uri`` when pushed or ``reason`` when not.
    """
    if not model_name:
        raise ConfigError("The model name is empty; pass --model-name (or a source, whose name it defaults to).")
    if not evaluation.get("blessed"):
        reason = evaluation.get("reason") or (
            f"test accuracy {evaluation.get('accuracy', float('nan')):.4f} is below min_accuracy "
            f"{evaluation.get('min_accuracy')}"
        )
        return {"pushed": False, "reason": f"not blessed: {reason}"}
    from kfx import storage

    # Read once: compared with the champion's, then copied.
    model_bytes = storage.read_bytes(f"{model_dir.rstrip('/')}/{MODEL_FILE}")
    compared = int(champion["version"]) if champion and champion.get("found") else 0
    if compared and champion and _same_model(champion["uri"], model_bytes):
        return {
            "pushed": False,
            "version": compared,
            "uri": champion["uri"],
            "reason": f"this model is already version {champion['version']}, the champion",
        }

    root = os.path.join(registry_dir, model_name)
    os.makedirs(root, exist_ok=True)
    staging = tempfile.mkdtemp(dir=root, prefix=".incoming-")
    try:
        storage.write_bytes(os.path.join(staging, MODEL_FILE), model_bytes)
        storage.write_bytes(
            os.path.join(staging, METADATA_FILE), storage.read_bytes(f"{model_dir.rstrip('/')}/{METADATA_FILE}")
        )
        with open(os.path.join(staging, EVALUATION_FILE), "w") as f:
            # In key order: the metrics come through kfp in no set order, and a version made again from the
            # same evaluation must be the same bytes (a cached push is reused only while its version is).
            json.dump(evaluation, f, indent=2, sort_keys=True)
        if schema_uri:
            storage.write_bytes(os.path.join(staging, SCHEMA_FILE), storage.read_bytes(schema_uri))
        if statistics_uri:
            source = f"{statistics_uri.rstrip('/')}/{TRAIN_STATISTICS.split('/', 1)[1]}"
            storage.write_bytes(os.path.join(staging, TRAIN_STATISTICS), storage.read_bytes(source))
        write_manifest(staging)  # inside the folder before it appears: a version is whole, manifest included
        with _turn(root):
            newest = max(list_versions(registry_dir, model_name), default=0)
            if newest and newest != compared:
                refused = _recheck(registry_dir, model_name, newest, model_dir, evaluation, test_uri)
                if refused:
                    shutil.rmtree(staging, ignore_errors=True)
                    return refused
            version = newest + 1
            while True:
                target = os.path.join(root, f"v{version}")
                try:
                    os.rename(staging, target)  # fails when the number is taken (a push that took no turn)
                    break
                except OSError:
                    if not os.path.exists(target):
                        raise
                    version += 1
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"pushed": True, "version": version, "uri": os.path.abspath(target)}


def _same_model(version_uri: str, model_bytes: bytes) -> bool:
    path = os.path.join(version_uri, MODEL_FILE)
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return f.read() == model_bytes  # compared as bytes, never unpickled


class _turn:
    """An exclusive lock on a model's registry folder (``flock`` on the folder itself): one push at a time.

    Locking the folder leaves no lock file among the versions, and the kernel drops the lock when the
    process ends, however it ends, so a killed push leaves no stale lock.
    """

    def __init__(self, root: str) -> None:
        self.root = root

    def __enter__(self) -> _turn:
        import fcntl

        self.handle = os.open(self.root, os.O_RDONLY)
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        os.close(self.handle)  # closing releases the lock


def _recheck(
    registry_dir: str,
    model_name: str,
    newest: int,
    model_dir: str,
    evaluation: dict[str, Any],
    test_uri: str,
) -> Optional[dict[str, Any]]:
    """Why a model must not be pushed over ``newest``, a version pushed after its run's evaluation
    looked for the champion; None when it still wins (see :func:`kfx.evaluation.recheck`)."""
    current = resolve(registry_dir, model_name, str(newest))
    if not test_uri:
        return {
            "pushed": False,
            "reason": (
                f"not pushed: v{newest} was pushed while this run ran and there is no test split to compare this model "
                "with it; run again to compare it with the new champion"
            ),
        }
    from kfx import evaluation as evaluations

    wins, reason = evaluations.recheck(model_dir, test_uri, current, evaluation)
    return None if wins else {"pushed": False, "reason": f"not pushed: {reason}"}
