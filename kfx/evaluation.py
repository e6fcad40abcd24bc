"""Evaluating a trained model on the test split, and the blessing that gates its push."""

from __future__ import annotations

import base64
import io
import json
from typing import Any, Sequence

from kfx import storage
from kfx.contract import METADATA_FILE, MODEL_FILE
from kfx.errors import SourceError
from kfx.metrics import classification_metrics


def load_model(model_dir: str):
    """Loads ``model.joblib`` and its metadata from a model folder.

    Raises:
        SourceError: If the folder holds no complete model.
    """
    import joblib

    path = f"{model_dir.rstrip('/')}/{MODEL_FILE}"
    if not storage.exists(path):
        raise SourceError(f"{model_dir!r} holds no {MODEL_FILE}; pass the folder a training run wrote.")
    model = joblib.load(io.BytesIO(storage.read_bytes(path)))
    metadata = json.loads(storage.read_text(f"{model_dir.rstrip('/')}/{METADATA_FILE}"))
    return model, metadata


def evaluate_model(model_dir: str, test_uri: str, min_accuracy: float) -> dict[str, Any]:
    """Scores a model folder on a test CSV and decides the blessing.

    Args:
        model_dir: Folder with ``model.joblib`` and ``model_metadata.json``.
        test_uri: Test split (CSV file, wildcard or ``gs://``).
        min_accuracy: Test accuracy needed for ``blessed``.

    Returns:
        :func:`classification_metrics` plus ``rows``, ``min_accuracy`` and ``blessed``.
    """
    from trainer.model import share_cores, to_matrix
    from trainer.task import read_split

    # Gradient boosting predicts in parallel: the same OpenMP setting as the trainer's fit.
    share_cores()
    model, metadata = load_model(model_dir)
    frame = read_split(test_uri, "csv")
    predicted = model.predict(to_matrix(frame, metadata["features"]))
    result = classification_metrics(frame[metadata["label_column"]], predicted, labels=metadata["classes"])
    result.update(rows=len(frame), min_accuracy=min_accuracy, blessed=bool(result["accuracy"] >= min_accuracy))
    return result


def confusion_matrix_figure(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str = "Confusion matrix"):
    """The confusion-matrix picture (rows true, columns predicted) as a matplotlib figure.

    Each cell shows its count, in white on the darker half of the scale.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    values = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2.5, 1.0 * len(labels) + 2), dpi=100)
    ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    limit = values.max() / 2
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > limit else "black", fontsize=9)
    fig.tight_layout()
    return fig


def confusion_matrix_png(labels: Sequence[str], matrix: Sequence[Sequence[int]], title: str = "Confusion matrix") -> bytes:
    """The confusion-matrix picture (see :func:`confusion_matrix_figure`) as PNG bytes."""
    import matplotlib.pyplot as plt

    fig = confusion_matrix_figure(labels, matrix, title)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def evaluation_html(result: dict[str, Any]) -> str:
    """A standalone HTML page with the headline metrics, the per-class table and the confusion matrix."""
    png = confusion_matrix_png(result["confusion"]["labels"], result["confusion"]["matrix"])
    rows = "".join(
        f"<tr><td>{label}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td><td>{m['f1']:.3f}</td><td>{m['support']}</td></tr>"
        for label, m in result["per_class"].items()
    )
    verdict = "blessed" if result["blessed"] else "not blessed"
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Model evaluation</title></head><body>"
        f"<h1>Model evaluation</h1><p>Test accuracy <b>{result['accuracy']:.4f}</b>, macro-F1 <b>{result['macro_f1']:.4f}</b> "
        f"on {result['rows']} rows; {verdict} (needs accuracy &ge; {result['min_accuracy']}).</p>"
        "<table border='1' cellpadding='4'><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
        f"{rows}</table><p><img alt='confusion matrix' src='data:image/png;base64,{base64.b64encode(png).decode()}'></p>"
        "</body></html>\n"
    )
