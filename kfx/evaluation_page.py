"""The evaluation as people see it: the confusion-matrix picture and the page that shows it with the
metrics and the blessing's reason (:func:`kfx.evaluation.evaluate_model` makes the numbers)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

from kfx.metrics import MAX_SHOWN_CLASSES, capped_confusion, shown_classes


def confusion_matrix_figure(
    labels: Sequence[str],
    matrix: Sequence[Sequence[int]],
    title: str = "Confusion matrix",
    limit: int = MAX_SHOWN_CLASSES,
):
    """The confusion-matrix picture (rows true, columns predicted) as a matplotlib figure.

    Each cell shows its count, in white on the darker half of the scale. Its size grows with the
    classes, so a matrix of more than ``limit`` classes is drawn over the ``limit`` most confused
    ones and one last row and column that sum the others (:func:`kfx.metrics.capped_confusion`),
    and says so under the title: the picture stays at most ``limit + 1`` cells a side.

    Args:
        labels: Classes of the matrix, in its order.
        matrix: The confusion matrix.
        title: Title of the picture. Defaults to "Confusion matrix".
        limit: Most classes drawn. Defaults to :data:`kfx.metrics.MAX_SHOWN_CLASSES`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shown, capped = capped_confusion([str(label) for label in labels], matrix, limit)
    values = np.asarray(capped)
    fig, ax = plt.subplots(figsize=(1.1 * len(shown) + 2.5, 1.0 * len(shown) + 2), dpi=100)
    # The cell of the classes left out, predicted as one of them, would set the scale and pale every other cell.
    scaled = values if len(shown) == len(labels) else np.append(values[:-1].ravel(), values[-1, :-1])
    top = scaled.max()
    ax.imshow(values, cmap="Blues", **({} if scaled is values else {"vmin": 0, "vmax": max(top, 1)}))
    ticks = [_short(label) for label in shown]
    ax.set_xticks(range(len(shown)), ticks, rotation=45, ha="right")
    ax.set_yticks(range(len(shown)), ticks)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(shown) < len(labels):
        title = f"{title}\n{_left_out_note(len(labels), len(shown) - 1)}"
    ax.set_title(title)
    dark = top / 2
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > dark else "black", fontsize=9)
    fig.tight_layout()
    return fig


def _short(label: str, most: int = 28) -> str:
    """A tick label of at most ``most`` characters: a long class name would push the matrix off the picture."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _left_out_note(classes: int, shown: int) -> str:
    return (
        f"{shown} of {classes} classes: the most confused, then the most frequent; "
        f"the other {classes - shown} are summed in the last row and column"
    )


def confusion_matrix_png(
    labels: Sequence[str],
    matrix: Sequence[Sequence[int]],
    title: str = "Confusion matrix",
    limit: int = MAX_SHOWN_CLASSES,
) -> bytes:
    """The confusion-matrix picture (see :func:`confusion_matrix_figure`) as PNG bytes."""
    import matplotlib.pyplot as plt

    fig = confusion_matrix_figure(labels, matrix, title, limit)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def _threshold(result: dict[str, Any]) -> str:
    return f"needs accuracy >= {result['min_accuracy']}"


def evaluation_html(result: dict[str, Any], numbers: str = "", limit: int = MAX_SHOWN_CLASSES) -> str:
    """A standalone HTML page with the headline metrics, the per-class table and the confusion matrix.

    The table and the picture show at most ``limit`` classes (:func:`kfx.metrics.shown_classes`), so
    the page stays small with any number of classes; a note then says how many are left out and
    where every class's numbers are.

    Args:
        result: See :func:`evaluate_model`.
        numbers: Where the full numbers are (the evaluation's JSON), named in the note.
        limit: Most classes shown. Defaults to :data:`kfx.metrics.MAX_SHOWN_CLASSES`.
    """
    if result.get("task") == "regression":
        return regression_html(result)
    labels, matrix = result["confusion"]["labels"], result["confusion"]["matrix"]
    shown = shown_classes(labels, matrix, limit)
    png = confusion_matrix_png(labels, matrix, limit=limit)
    rows = "".join(
        f"<tr><td>{html.escape(str(label))}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td>"
        f"<td>{m['f1']:.3f}</td><td>{m['support']}</td></tr>"
        for label, m in ((label, result["per_class"][label]) for label in shown)
    )
    note = ""
    if len(shown) < len(labels):
        where = f" in {html.escape(numbers)}" if numbers else " in the evaluate step's metrics file"
        note = (
            f"<p class='left-out'>{len(shown)} of {len(labels)} classes shown here: the most confused, then the most "
            f"frequent; the other {len(labels) - len(shown)} are left out of the table and summed in the last row and "
            f"column of the matrix. Every class's precision, recall, F1 and the whole confusion matrix are{where} "
            "(JSON).</p>"
        )
    verdict = "blessed" if result["blessed"] else "not blessed"
    champion = result.get("champion")
    versus = (
        f"<p>Champion v{champion['version']} on the same rows: accuracy <b>{champion['accuracy']:.4f}</b>, "
        f"macro-F1 {champion['macro_f1']:.4f}.</p>"
        if champion
        else "<p>No champion: the threshold alone decides.</p>"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Model evaluation</title></head><body>"
        f"<h1>Model evaluation</h1><p>Test accuracy <b>{result['accuracy']:.4f}</b>, macro-F1 "
        f"<b>{result['macro_f1']:.4f}</b> on {result['rows']} rows; {verdict}: "
        f"{html.escape(result.get('reason') or _threshold(result))}.</p>{versus}{note}<table border='1' "
        "cellpadding='4'><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
        f"{rows}</table><p><img alt='confusion matrix' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        "</p></body></html>\n"
    )


def regression_png(actual: Sequence[float], predicted: Sequence[float]) -> bytes:
    """Two pictures side by side as PNG bytes: predicted against actual values (on the diagonal is right),
    and the residuals (actual minus predicted) against the predictions (a pattern there is a bias)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    true, pred = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5), dpi=100)
    left.scatter(true, pred, s=10, alpha=0.6)
    if len(true):
        low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        left.plot([low, high], [low, high], color="grey", linewidth=1)
    left.set_xlabel("actual")
    left.set_ylabel("predicted")
    left.set_title("Predicted vs. actual (test split)")
    right.scatter(pred, true - pred, s=10, alpha=0.6)
    right.axhline(0, color="grey", linewidth=1)
    right.set_xlabel("predicted")
    right.set_ylabel("actual - predicted")
    right.set_title("Residuals")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def regression_html(result: dict[str, Any]) -> str:
    """The page of a regression's evaluation: RMSE, MAE and R², the blessing, and the two pictures of
    :func:`regression_png` (over the first :data:`kfx.evaluation.MAX_POINTS` test rows)."""
    points = result.get("points") or {"actual": [], "predicted": []}
    png = base64.b64encode(regression_png(points["actual"], points["predicted"])).decode()
    verdict = "blessed" if result["blessed"] else "not blessed"
    champion = result.get("champion")
    versus = (
        f"<p>Champion v{champion['version']} on the same rows: RMSE {champion['rmse']:.4g}, MAE "
        f"{champion['mae']:.4g}, R² <b>{champion['r2']:.4f}</b>.</p>"
        if champion
        else "<p>No champion: the threshold alone decides.</p>"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Model evaluation</title></head><body>"
        f"<h1>Model evaluation</h1><p>Test RMSE <b>{result['rmse']:.4g}</b>, MAE <b>{result['mae']:.4g}</b>, "
        f"R² <b>{result['r2']:.4f}</b> on {result['rows']} rows (predicting the mean: RMSE "
        f"{result['baseline_rmse']:.4g}, MAE {result['baseline_mae']:.4g}); {verdict}: "
        f"{html.escape(result.get('reason') or '')}.</p>{versus}"
        f"<p><img alt='predicted vs. actual and residuals' src='data:image/png;base64,{png}'>"
        "</p></body></html>\n"
    )
