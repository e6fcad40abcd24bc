"""Evaluating a trained model on the test split, and the blessing that gates its push."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Optional

from kfx import storage
from kfx.contract import MODEL_FILE, check_model_dir
from kfx.errors import SourceError
from kfx.metrics import classification_metrics, regression_metrics, roc_auc


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
    *,
    metric: str = "",
    min_r2: float = 0.0,
) -> dict[str, Any]:
    """Scores a model folder (the challenger) and the champion on the same test CSV, and decides the blessing.

    Blessed means: the serving check passed, the primary test metric reaches its threshold, and (when
    there is a champion) it is no worse than the champion's on these rows by more than the tolerance
    (see :mod:`kfx.tasks`: accuracy >= ``min_accuracy`` for classes, R² >= ``min_r2`` for a regression).

    Args:
        model_dir: Folder with ``model.joblib`` and ``model_metadata.json``.
        test_uri: Test split (CSV file, wildcard or ``gs://``).
        min_accuracy: The test value a classification's primary metric needs for ``blessed``.
        champion: A registry version reference (:func:`kfx.registry.resolve`); None or not
            ``found``: no champion, the threshold alone decides.
        accuracy_tolerance: How far below the champion the challenger may be (:func:`kfx.tasks.holds_against`).
        serving_ok: Whether the model loaded and agreed in the serving environment.
        metric: The primary metric; empty: the task's default (accuracy, r2).
        min_r2: A regression's threshold (:func:`kfx.tasks.threshold`).

    Returns:
        The metrics (:func:`classification_metrics`, or RMSE, MAE and R²) plus ``task``, ``metric``,
        ``score`` (the primary metric's value), ``threshold``, ``rows``, ``min_accuracy`` (or ``min_r2``),
        ``accuracy_tolerance``, ``champion`` (``version``, ``uri`` and its metrics; None without one),
        ``blessed`` and ``reason`` (the decision, in words).
    """
    from kfx import tasks
    from kfx.model_inputs import read_split, share_cores

    # Gradient boosting predicts in parallel: the same OpenMP setting as the trainer's fit.
    share_cores()
    frame = read_split(test_uri, "csv")
    result, metadata = _score(model_dir, frame)
    task = tasks.resolved(metadata.get("task"))
    primary = tasks.primary_metric(task, metric)
    if primary.name not in result:  # ROC AUC ranks two classes
        from kfx.errors import ConfigError

        raise ConfigError(
            f"--metric {primary.name} measures a model of two classes, and this one predicts "
            f"{len(metadata['classes'])}; pass --metric accuracy or macro_f1."
        )
    bound, how = tasks.threshold(primary, min_accuracy, min_r2, result)
    result.update(rows=len(frame), accuracy_tolerance=accuracy_tolerance, champion=None, task=task)
    result.update(metric=primary.name, score=result[primary.name], threshold=bound, threshold_rule=how)
    result.update({"min_accuracy": min_accuracy} if task == tasks.CLASSIFICATION else {"min_r2": min_r2})
    if champion and champion.get("found"):
        scored, champion_metadata = _score(champion["uri"], frame, metadata["label_column"], is_local_version(champion))
        theirs = tasks.resolved(champion_metadata.get("task"))
        if theirs != task:
            raise SourceError(
                f"The champion in {champion['uri']!r} is a {theirs} model and this run's a {task}; pass --model-name "
                f"with a new name for a {task} model, or --task {theirs}."
            )
        result["champion"] = {
            "model_name": champion.get("model_name", ""),
            "version": str(champion["version"]),
            "uri": champion["uri"],
            **{name: scored[name] for name in _SCALARS[task] if name in scored},
        }
    result["blessed"], result["reason"] = decide(
        result[primary.name], bound, result["champion"], accuracy_tolerance, serving_ok, primary.name, how
    )
    return result


_SCALARS = {"classification": ("accuracy", "macro_f1", "roc_auc"), "regression": ("rmse", "mae", "r2")}
"""The champion's figures the evaluation keeps, by task."""


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
        evaluation: Its evaluation (``metric``, ``threshold`` or ``min_accuracy``, ``accuracy_tolerance``).

    Returns:
        Whether it still wins, and the sentence that says it lost (for the push's reason) when not.
    """
    from kfx import tasks
    from kfx.model_inputs import read_split, share_cores

    share_cores()
    frame = read_split(test_uri, "csv")
    scored, metadata = _score(model_dir, frame)
    theirs, _ = _score(champion["uri"], frame, metadata["label_column"], is_local_version(champion))
    version, tolerance = champion["version"], float(evaluation.get("accuracy_tolerance") or 0.0)
    primary = tasks.primary_metric(tasks.resolved(metadata.get("task")), str(evaluation.get("metric") or ""))
    bound = evaluation.get("threshold", evaluation.get("min_accuracy"))
    name = primary.name
    wins, _ = decide(
        scored[name],
        float(bound or 0.0),
        {"version": version, name: theirs[name]},
        tolerance,
        metric=name,
    )
    worse = "below" if primary.higher_is_better else "above"
    return wins, (
        f"it lost to v{version}, which was pushed while this run ran: test {primary.title} {scored[name]:.4f} vs "
        f"v{version} {theirs[name]:.4f} on the same rows, more than the tolerance {tolerance:g} {worse}"
    )


def _score(
    model_dir: str,
    frame: Any,
    label_column: str = "",
    registry_version: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model folder's metrics on ``frame`` (:func:`classification_metrics` with ``roc_auc`` for two
    classes, or :func:`regression_metrics`), and the model's metadata."""
    from kfx import tasks
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
    matrix = to_matrix(frame, metadata["features"])
    predicted = model.predict(matrix)
    if tasks.resolved(metadata.get("task")) == tasks.REGRESSION:
        scores = regression_metrics(frame[label], predicted)
        # A sample of the points, for the predicted-vs-actual and residual pictures.
        shown = min(len(frame), MAX_POINTS)
        scores["points"] = {
            "actual": [float(v) for v in frame[label].iloc[:shown]],
            "predicted": [float(v) for v in predicted[:shown]],
        }
        return scores, metadata
    scores = classification_metrics(frame[label], predicted, labels=metadata["classes"])
    if len(metadata["classes"]) == 2 and hasattr(model, "decision_function"):
        scores["roc_auc"] = roc_auc(frame[label], model.decision_function(matrix), metadata["classes"][1])
    return scores, metadata


MAX_POINTS = 2000
"""Test rows whose label and prediction a regression's evaluation keeps for its pictures."""


def decide(
    score: float,
    threshold: float,
    champion: Optional[Mapping[str, Any]],
    tolerance: float,
    serving_ok: bool = True,
    metric: str = "accuracy",
    how: str = "min_accuracy",
) -> tuple[bool, str]:
    """The blessing and its reason, in words (the first rule the challenger breaks, else why it passes).

    Args:
        score: The challenger's primary metric on the test rows.
        threshold: The value it must reach (:func:`kfx.tasks.threshold`), in the metric's direction.
        champion: ``version`` and the champion's value of ``metric``; None without a champion.
        tolerance: How much worse than the champion the challenger may be (:func:`kfx.tasks.holds_against`).
        serving_ok: Whether the serving check passed.
        metric: The primary metric's name (:data:`kfx.tasks.METRICS`).
        how: How the threshold was set, named in the reason (``min_accuracy``).
    """
    from kfx import tasks

    primary = tasks.METRICS[metric]
    said = f"test {primary.title} {score:.4f}"
    reaches, misses, worse = (">=", "below", "below") if primary.higher_is_better else ("<=", "above", "above")
    bound = f"{how} {threshold}" if how.startswith("min_") else f"{threshold:.4f} ({how})"
    versus = ""
    if champion:
        versus = f"champion v{champion['version']} {champion[metric]:.4f}"
    if not serving_ok:
        return False, "the model failed the serving check (see the serving section)"
    if not tasks.passes(primary, score, threshold):
        return False, f"{said} is {misses} {bound}"
    if champion and not tasks.holds_against(primary, score, champion[metric], tolerance):
        return False, (
            f"lost to the champion: {said} vs {versus} on the same rows, more than the tolerance {tolerance} {worse}"
        )
    if champion:
        return True, f"{said} {reaches} {bound}, and vs {versus} within the tolerance {tolerance}"
    return True, f"{said} {reaches} {bound}; no champion to compare with"
