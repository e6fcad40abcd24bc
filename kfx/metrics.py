"""Classification and regression metrics, shared by the trainer (validation and test scores) and evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional


def classification_metrics(y_true: Sequence, y_pred: Sequence, labels: Optional[Sequence] = None) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision / recall / F1 and the confusion matrix.

    Args:
        y_true: True classes.
        y_pred: Predicted classes.
        labels: Class order of the matrix; defaults to the sorted classes seen.

    Returns:
        ``accuracy``, ``macro_f1``, ``per_class`` (class to precision, recall, f1,
        support) and ``confusion`` (``labels`` and ``matrix``, rows true, columns predicted).
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = sorted({str(v) for v in y_true} | {str(v) for v in y_pred}) if labels is None else [str(v) for v in labels]
    y_true = [str(v) for v in y_true]
    y_pred = [str(v) for v in y_pred]
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }


def regression_metrics(y_true: Sequence, y_pred: Sequence) -> dict[str, Any]:
    """RMSE, MAE and R², and the RMSE and MAE of predicting the mean of ``y_true`` (the baselines that a
    regression's threshold is set against, see :func:`kfx.tasks.threshold`).

    Returns:
        ``rmse``, ``mae``, ``r2``, ``baseline_rmse`` (the labels' standard deviation) and ``baseline_mae``
        (their mean absolute deviation from their mean).
    """
    import numpy as np
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    true = np.asarray(y_true, dtype=float)
    pred = np.asarray(y_pred, dtype=float)
    return {
        "rmse": float(np.sqrt(mean_squared_error(true, pred))),
        "mae": float(mean_absolute_error(true, pred)),
        "r2": float(r2_score(true, pred)) if len(true) > 1 else 0.0,
        "baseline_rmse": float(np.std(true)),
        "baseline_mae": float(np.mean(np.abs(true - true.mean()))) if len(true) else 0.0,
    }


def headline_metrics(task: str, y_true: Sequence, y_pred: Sequence) -> dict[str, float]:
    """The figures the trainer reports per split: accuracy and macro-F1, or for a regression RMSE, MAE and R²."""
    if task == "regression":
        scores = regression_metrics(y_true, y_pred)
        return {name: scores[name] for name in ("rmse", "mae", "r2")}
    scores = classification_metrics(y_true, y_pred)
    return {"accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}


def roc_auc(y_true: Sequence, scores: Sequence, positive: str) -> float:
    """ROC AUC of a binary classifier's scores for the class ``positive``; 0.5 when the test rows hold one class."""
    from sklearn.metrics import roc_auc_score

    hits = [str(v) == positive for v in y_true]
    if len(set(hits)) < 2:
        return 0.5
    return float(roc_auc_score(hits, scores))


MAX_SHOWN_CLASSES = 25
"""Classes a picture, a page or a record of per-class figures shows at most.

A confusion-matrix picture grows with the square of the classes, and kfp's
``ClassificationMetrics``, the lineage store and the console copy what they are given:
500 classes made a 550-inch figure with 250,000 texts that took 23 GB. The full
numbers stay in the evaluation's JSON; the views show this many classes.
"""


def shown_classes(labels: Sequence[str], matrix: Sequence[Sequence[int]], limit: int = MAX_SHOWN_CLASSES) -> list[str]:
    """The classes a bounded view shows: every class when there are at most ``limit``, else the ``limit``
    most confused ones (test rows wrongly predicted as or from the class), then the most frequent.

    Args:
        labels: Classes of the confusion matrix, in its order.
        matrix: The confusion matrix (rows true, columns predicted).
        limit: Most classes to show. Defaults to :data:`MAX_SHOWN_CLASSES`.

    Returns:
        The classes shown, in the matrix's order.
    """
    import numpy as np

    if len(labels) <= limit:
        return list(labels)
    values = np.asarray(matrix, dtype=np.int64)
    right = np.diag(values)
    errors = values.sum(axis=1) - right + values.sum(axis=0) - right
    support = values.sum(axis=1)
    # np.lexsort sorts by its last key first: most errors, then most rows, then the matrix's order.
    order = np.lexsort((np.arange(len(labels)), -support, -errors))
    return [labels[i] for i in sorted(order[:limit])]


def other_label(count: int) -> str:
    """The name of the row and column that sum the classes a bounded matrix leaves out."""
    return f"({count} other class{'es' if count != 1 else ''})"


def capped_confusion(
    labels: Sequence[str], matrix: Sequence[Sequence[int]], limit: int = MAX_SHOWN_CLASSES
) -> tuple[list[str], list[list[int]]]:
    """The confusion matrix over :func:`shown_classes`, with one last row and column that sum the rest.

    Every test row is still counted once: the last row holds the rows of the classes left out
    (by what was predicted), the last column the predictions of them. A matrix of at most
    ``limit`` classes comes back as it is.

    Returns:
        ``(labels, matrix)``: at most ``limit + 1`` of each.
    """
    import numpy as np

    shown = shown_classes(labels, matrix, limit)
    if len(shown) == len(labels):
        return list(labels), [list(map(int, row)) for row in matrix]
    values = np.asarray(matrix, dtype=np.int64)
    position = {label: i for i, label in enumerate(labels)}
    keep = [position[label] for label in shown]
    rest = np.setdiff1d(np.arange(len(labels)), keep)
    # One more group, "the rest": sum rows and columns by group.
    group = np.full(len(labels), len(keep))
    group[keep] = np.arange(len(keep))
    capped = np.zeros((len(keep) + 1, len(keep) + 1), dtype=np.int64)
    np.add.at(capped, (group[:, None], group[None, :]), values)
    return [*shown, other_label(len(rest))], capped.tolist()
