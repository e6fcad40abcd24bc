"""Evaluating a trained model on the test split, and the blessing that gates its push."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Optional

from kfx import storage
from kfx.contract import MODEL_FILE, check_model_dir
from kfx.errors import SourceError
from kfx.metrics import classification_metrics


def load_model(model_dir: str, registry_version: bool = False):
    """Loads ``model.joblib`` and its metadata from a model folder.

    Args:
        model_dir: A folder the trainer wrote, or a local registry version.
        registry_version: The folder is a local registry version: its files are checked against
            the manifest its push wrote before the pickle is loaded (:func:`kfx.manifest.load_model`).

    Raises:
        SourceError: If the folder holds no complete model.
        RegistryError: If a registry version's files are missing, changed or unreadable.
    """
    if registry_version:
        from kfx import manifest

        return manifest.load_model(model_dir)
    import joblib

    metadata = check_model_dir(model_dir)  # one sentence for a folder that breaks the contract, before unpickling
    model = joblib.load(io.BytesIO(storage.read_bytes(f"{model_dir.rstrip('/')}/{MODEL_FILE}")))
    return model, metadata


def evaluate_model(
    model_dir: str,
    test_uri: str,
    min_accuracy: float,
    champion: Optional[Mapping[str, Any]] = None,
    accuracy_tolerance: float = 0.0,
    serving_ok: bool = True,
) -> dict[str, Any]:
    """Scores a model folder (the challenger) and the champion on the same test CSV, and decides the blessing.

    Blessed means: the serving check passed, test accuracy >= ``min_accuracy``, and (when there
    is a champion) accuracy >= the champion's on these rows minus ``accuracy_tolerance``.

    Args:
        model_dir: Folder with ``model.joblib`` and ``model_metadata.json``.
        test_uri: Test split (CSV file, wildcard or ``gs://``).
        min_accuracy: Test accuracy needed for ``blessed``.
        champion: A registry version reference (:func:`kfx.registry.resolve`); None or not
            ``found``: no champion, the threshold alone decides.
        accuracy_tolerance: How far below the champion the challenger may be.
        serving_ok: Whether the model loaded and agreed in the serving environment.

    Returns:
        :func:`classification_metrics` plus ``rows``, ``min_accuracy``, ``accuracy_tolerance``,
        ``champion`` (``version``, ``uri``, ``accuracy``, ``macro_f1``; None without one),
        ``blessed`` and ``reason`` (the decision, in words).
    """
    from kfx.model_inputs import read_split, share_cores

    # Gradient boosting predicts in parallel: the same OpenMP setting as the trainer's fit.
    share_cores()
    frame = read_split(test_uri, "csv")
    result, metadata = _score(model_dir, frame)
    result.update(rows=len(frame), min_accuracy=min_accuracy, accuracy_tolerance=accuracy_tolerance, champion=None)
    if champion and champion.get("found"):
        scored, champion_metadata = _score(champion["uri"], frame, metadata["label_column"], is_local_version(champion))
        result["champion"] = {
            "model_name": champion.get("model_name", ""),
            "version": str(champion["version"]),
            "uri": champion["uri"],
            "accuracy": scored["accuracy"],
            "macro_f1": scored["macro_f1"],
        }
    result["blessed"], result["reason"] = decide(
        result["accuracy"], min_accuracy, result["champion"], accuracy_tolerance, serving_ok
    )
    return result


def is_local_version(reference: Mapping[str, Any]) -> bool:
    """Whether a model reference names a local registry version, whose push wrote a manifest; a Vertex AI
    version lives in Cloud Storage (``gs://``), under that registry's own access control."""
    return "://" not in str(reference.get("uri") or "")


def recheck(
    model_dir: str, test_uri: str, champion: Mapping[str, Any], evaluation: Mapping[str, Any]
) -> tuple[bool, str]:
    """Whether a blessed model still wins against ``champion``, a version pushed after its evaluation
    looked for one, on the same test rows and by the same rule (:func:`decide`); and why not.

    Args:
        model_dir: The model's folder.
        test_uri: The test split its evaluation used.
        champion: The registry version now newest (:func:`kfx.registry.resolve`).
        evaluation: Its evaluation (``min_accuracy``, ``accuracy_tolerance``).

    Returns:
        Whether it still wins, and the sentence that says it lost (for the push's reason) when not.
    """
    from kfx.model_inputs import read_split, share_cores

    share_cores()
    frame = read_split(test_uri, "csv")
    scored, metadata = _score(model_dir, frame)
    theirs, _ = _score(champion["uri"], frame, metadata["label_column"], is_local_version(champion))
    version, tolerance = champion["version"], float(evaluation.get("accuracy_tolerance") or 0.0)
    wins, _ = decide(
        scored["accuracy"],
        float(evaluation.get("min_accuracy") or 0.0),
        {"version": version, "accuracy": theirs["accuracy"]},
        tolerance,
    )
    return wins, (
        f"it lost to v{version}, which was pushed while this run ran: test accuracy {scored['accuracy']:.4f} vs "
        f"v{version} {theirs['accuracy']:.4f} on the same rows, more than the tolerance {tolerance:g} below"
    )


def _score(
    model_dir: str,
    frame: Any,
    label_column: str = "",
    registry_version: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model folder's :func:`classification_metrics` on ``frame``, and the model's metadata."""
    from kfx.model_inputs import to_matrix

    model, metadata = load_model(model_dir, registry_version)
    label = metadata["label_column"]
    if label_column and label != label_column:
        raise SourceError(
            f"The champion in {model_dir!r} predicts {label!r}, not {label_column!r}; "
            "pass --model-name with a new name for a model of this table."
        )
    missing = [f for f in metadata["features"] if f not in frame.columns]
    if missing:
        raise SourceError(
            f"The test split lacks the feature(s) {', '.join(map(repr, missing))} that the model in {model_dir!r} "
            "reads; pass --model-name with a new name for a model of this table."
        )
    predicted = model.predict(to_matrix(frame, metadata["features"]))
    return classification_metrics(frame[label], predicted, labels=metadata["classes"]), metadata


def decide(
    accuracy: float,
    min_accuracy: float,
    champion: Optional[Mapping[str, Any]],
    accuracy_tolerance: float,
    serving_ok: bool = True,
) -> tuple[bool, str]:
    """The blessing and its reason, in words (the first rule the challenger breaks, else why it passes)."""
    versus = ""
    if champion:
        versus = f"champion v{champion['version']} {champion['accuracy']:.4f}"
    if not serving_ok:
        return False, "the model failed the serving check (see the serving section)"
    if accuracy < min_accuracy:
        return False, f"test accuracy {accuracy:.4f} is below min_accuracy {min_accuracy}"
    if champion and accuracy < champion["accuracy"] - accuracy_tolerance:
        return False, (
            f"lost to the champion: test accuracy {accuracy:.4f} vs {versus} on the same rows, "
            f"more than the tolerance {accuracy_tolerance} below"
        )
    if champion:
        return True, (
            f"test accuracy {accuracy:.4f} >= min_accuracy {min_accuracy}, and vs {versus} "
            f"within the tolerance {accuracy_tolerance}"
        )
    return True, f"test accuracy {accuracy:.4f} >= min_accuracy {min_accuracy}; no champion to compare with"
