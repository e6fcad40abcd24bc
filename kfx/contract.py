"""The training contract: what a training run is handed and what it leaves in the model folder.

Vertex AI hands a custom training job with a managed dataset its data through
``AIP_*`` environment variables; the trainer writes ``model.joblib`` with its
metadata and metrics into ``AIP_MODEL_DIR``. The trainer, the local ``train``
step, evaluation, the registry and the vertex training component all meet here,
so none of them imports another to learn a file name. ``docs/model-contract.md``
writes the contract out; :func:`check_model_dir` holds a model folder to it.
"""

import re
from collections.abc import Sequence
from typing import Any

MODEL_DIR_VARIABLE = "AIP_MODEL_DIR"
DATA_FORMAT_VARIABLE = "AIP_DATA_FORMAT"
SPLIT_VARIABLES = {
    "train": "AIP_TRAINING_DATA_URI",
    "validation": "AIP_VALIDATION_DATA_URI",
    "test": "AIP_TEST_DATA_URI",
}
"""Split name to the variable that holds its data URI."""

MODEL_FILE = "model.joblib"
"""What Vertex AI's prebuilt scikit-learn serving image loads; written last, so it marks a complete folder."""
METRICS_FILE = "metrics.json"
"""Optional: the trainer's own figures (``validation`` and ``test``, each with ``accuracy``), shown by train."""
METADATA_FILE = "model_metadata.json"
"""Required: a JSON object with at least :data:`REQUIRED_METADATA`."""

CONTRACT_VERSION = 1
"""The version of the model contract (``docs/model-contract.md``) this kfx writes and reads.

A trainer records it as ``contract_version`` in ``model_metadata.json``; a folder without it
is read as version 1 (the models trained before the contract was written follow it).
"""
CONTRACT_DOC = "docs/model-contract.md"
REQUIRED_METADATA = ("label_column", "features")
"""Keys ``model_metadata.json`` must hold: the label's column and the feature columns in the model's order."""
TASKS = ("classification", "regression")
"""Values of the metadata's ``task``; a folder without it holds a classifier (and so needs ``classes``)."""

BUNDLED_TRAINER = "kfx_trainer.task"
"""The module ``kfx run`` trains with unless ``--trainer`` names a team's own."""
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


TRAINER_PARAMETERS = (
    "label_column",
    "svm_c",
    "svm_gamma",
    "seed",
    "svm_max_rows",
    "boosting_learning_rate",
    "boosting_max_iter",
)
"""The trainer's hyper-parameters and options, by their Config field names; each is ``--name-with-dashes``."""


def trainer_args(**values: Any) -> list[str]:
    """The trainer's command-line arguments, the same for the local step and the Vertex AI job
    (whose image's entrypoint is ``python -m kfx_trainer.task``).

    Args:
        values: A value for each name in :data:`TRAINER_PARAMETERS`.

    Raises:
        TypeError: If a name is missing or unknown (a programming error, not a user's).
    """
    if set(values) != set(TRAINER_PARAMETERS):
        raise TypeError(f"trainer_args takes exactly {', '.join(TRAINER_PARAMETERS)}; got {', '.join(sorted(values))}.")
    args: list[str] = []
    for name in TRAINER_PARAMETERS:
        args += ["--" + name.replace("_", "-"), str(values[name])]
    return args


def extra_args(pairs: Sequence[str]) -> list[str]:
    """A team trainer's arguments from ``--trainer-arg KEY=VALUE`` options: ``--KEY VALUE`` each, in order.

    Raises:
        ConfigError: Naming the first option that is not ``KEY=VALUE``.
    """
    from kfx.errors import ConfigError

    args: list[str] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lstrip("-")
        if not sep or not key or any(c.isspace() for c in key):
            raise ConfigError(f"--trainer-arg {pair!r} is not KEY=VALUE; pass one such as --trainer-arg epochs=10.")
        args += ["--" + key, value]
    return args


def check_trainer_module(module: str) -> str:
    """``module`` if it is a dotted Python module name (``trainer.task``) that ``python -m`` can take.

    Raises:
        ConfigError: If it is not one (a path, a file name, a space).
    """
    if not _MODULE.match(module or ""):
        from kfx.errors import ConfigError

        raise ConfigError(
            f"--trainer {module!r} is not a Python module name; pass PACKAGE.MODULE as python -m takes it, "
            "such as trainer.task, from the folder that holds the package."
        )
    return module


def check_model_dir(model_dir: str) -> dict[str, Any]:
    """Holds a model folder to the model contract before anything loads it, and returns its metadata.

    Evaluate, the serving check and the push call it, so a folder a trainer left incomplete
    is refused with one sentence instead of a ``KeyError`` from deep inside a step.

    Args:
        model_dir: The folder (local path or ``gs://``).

    Returns:
        ``model_metadata.json``, as a dict.

    Raises:
        SourceError: Naming the folder, the missing file or key, and the fix.
    """
    import json

    from kfx import storage
    from kfx.errors import SourceError

    folder = model_dir.rstrip("/")
    see = f"(see {CONTRACT_DOC})"
    for name in (MODEL_FILE, METADATA_FILE):
        if not storage.exists(f"{folder}/{name}"):
            raise SourceError(
                f"The model folder {model_dir!r} holds no {name}; pass the folder a training run wrote, whose "
                f"trainer writes {MODEL_FILE} and {METADATA_FILE} into AIP_MODEL_DIR {see}."
            )
    try:
        metadata = json.loads(storage.read_text(f"{folder}/{METADATA_FILE}"))
    except (ValueError, UnicodeDecodeError):
        metadata = None
    where = f"{METADATA_FILE} in {model_dir!r}"
    if not isinstance(metadata, dict):
        raise SourceError(
            f"{where} is not a JSON object; have the trainer write one with {', '.join(REQUIRED_METADATA)} {see}."
        )
    version = metadata.get("contract_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= CONTRACT_VERSION:
        raise SourceError(
            f"{where} says contract_version {version!r}, and this kfx reads model contract versions 1 to "
            f"{CONTRACT_VERSION}; write contract_version {CONTRACT_VERSION} or upgrade kfx {see}."
        )
    task = metadata.get("task", "classification")
    needed = [*REQUIRED_METADATA, *(["classes"] if task == "classification" else [])]
    missing = [key for key in needed if key not in metadata]
    if missing:
        raise SourceError(
            f"{where} lacks {', '.join(repr(k) for k in missing)}; have the trainer write "
            f"{', '.join(needed)} there {see}."
        )
    if task not in TASKS:
        raise SourceError(f"{where} says task {task!r}; write one of {', '.join(TASKS)} {see}.")
    label, features = metadata["label_column"], metadata["features"]
    if not isinstance(label, str) or not label:
        raise SourceError(f"{where} has label_column {label!r}; write the label's column name as a string {see}.")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise SourceError(
            f"{where} has features {features!r}; write the feature column names, in the order the model takes "
            f"them, as a list of strings {see}."
        )
    if task == "classification" and (not isinstance(metadata["classes"], list) or not metadata["classes"]):
        raise SourceError(
            f"{where} has classes {metadata['classes']!r}; write the classes the model predicts as a list {see}."
        )
    return metadata
