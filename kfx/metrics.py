"""Classification metrics, shared by the trainer (validation and test scores) and evaluation."""

from __future__ import annotations

from typing import Any, Optional, Sequence


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
            for label, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }
