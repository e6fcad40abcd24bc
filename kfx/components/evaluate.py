"""Component: evaluate the model on the test split and decide the blessing."""

from typing import NamedTuple, Optional

from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def evaluate(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    evaluation_view: Output[HTML],
    min_accuracy: float,
    accuracy_tolerance: float,
    serving_ok: bool = True,
    registered_model: Optional[Input[Artifact]] = None,
    metric: str = "",
    min_r2: float = 0.0,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "EvaluationOutputs", [("blessed", bool), ("accuracy", float), ("macro_f1", float), ("reason", str)]
):
    """Scores the new model (the challenger) and the champion on the same test rows, logs accuracy,
    macro-F1, per-class precision / recall, the confusion matrix and a page with its picture, and
    decides the blessing: the serving check passed, accuracy >= ``min_accuracy``, and not more than
    ``accuracy_tolerance`` below the champion.

    Args:
        model: Output of train.
        test_data: Test split.
        metrics: Scalar metrics (the champion's version and accuracy too, when there is one), and the
            precision and recall of the classes shown (see :func:`kfx.metrics.shown_classes`); its file
            holds the whole evaluation as JSON, every class included.
        classification_metrics: The confusion matrix; over more than
            :data:`kfx.metrics.MAX_SHOWN_CLASSES` classes, the most confused ones and one row and
            column that sum the others.
        evaluation_view: HTML page with metrics and the confusion-matrix picture.
        min_accuracy: Accuracy a model needs to be blessed.
        accuracy_tolerance: How far below the champion's accuracy the model may be.
        registered_model: The champion (find_model's reference); none found: the threshold alone decides.
        serving_ok: The serving check's verdict.
        metric: The metric that decides the blessing; empty: accuracy, or r2 for a regression model.
        min_r2: The R² a regression model needs (see :func:`kfx.tasks.threshold`).

    A regression model logs RMSE, MAE and R² (and the champion's) instead of the classes' figures,
    and its page shows predicted against actual values and the residuals; its accuracy and macro-F1
    outputs are NaN (not measured).

    Returns:
        The blessing, test accuracy, macro-F1 and the decision's reason (the primary metric and its
        value are in ``metrics``: ``metric`` and ``score``).
    """
    from kfx import model_steps
    from kfx.metrics import capped_confusion, shown_classes

    champion = dict(registered_model.metadata) if registered_model is not None else {}
    # The metrics file holds every number; what kfp, the lineage store and the console copy is bounded.
    result = model_steps.evaluate(
        model.path,
        test_data.path,
        evaluation_view.path,
        min_accuracy,
        champion,
        accuracy_tolerance,
        serving_ok,
        metrics.path,
        metric=metric,
        min_r2=min_r2,
    )
    metrics.metadata.update(task=result["task"], metric=result["metric"])
    metrics.log_metric("score", result["score"])
    metrics.log_metric("threshold", result["threshold"])
    metrics.log_metric("rows", result["rows"])
    metrics.log_metric("accuracy_tolerance", accuracy_tolerance)
    metrics.log_metric("blessed", result["blessed"])
    if result["champion"]:
        metrics.log_metric("champion_version", int(result["champion"]["version"]))
        metrics.log_metric("champion_score", result["champion"][result["metric"]])
    if result["task"] == "regression":
        for name in ("rmse", "mae", "r2"):
            metrics.log_metric(name, result[name])
        metrics.log_metric("min_r2", min_r2)
        nan = float("nan")  # not measured: a regression has no accuracy
        return (result["blessed"], nan, nan, result["reason"])
    metrics.log_metric("accuracy", result["accuracy"])
    metrics.log_metric("macro_f1", result["macro_f1"])
    if "roc_auc" in result:
        metrics.log_metric("roc_auc", result["roc_auc"])
    metrics.log_metric("min_accuracy", min_accuracy)
    if result["champion"]:
        metrics.log_metric("champion_accuracy", result["champion"]["accuracy"])
    labels, matrix = result["confusion"]["labels"], result["confusion"]["matrix"]
    shown = shown_classes(labels, matrix)
    metrics.log_metric("classes", len(labels))
    metrics.log_metric("classes_shown", len(shown))
    for label in shown:
        metrics.log_metric(f"precision_{label}", result["per_class"][label]["precision"])
        metrics.log_metric(f"recall_{label}", result["per_class"][label]["recall"])
    classification_metrics.log_confusion_matrix(*capped_confusion(labels, matrix))
    return (result["blessed"], result["accuracy"], result["macro_f1"], result["reason"])


_TITLES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "roc_auc": "ROC AUC",
    "r2": "R²",
    "rmse": "RMSE",
    "mae": "MAE",
}


def _describe(model: dict) -> list[str]:
    verdict = "blessed" if model["blessed"] else "not blessed"
    metric = model.get("metric") or "accuracy"
    if model.get("task") == "regression":
        lines = [
            f"model       test RMSE {model['rmse']:.4g}, MAE {model['mae']:.4g}, R² {model['r2']:.4f} "
            f"({_TITLES[metric]} decides, threshold {model['threshold']:.4g}): {verdict}",
        ]
    else:
        lines = [
            f"model       test accuracy {model['test_accuracy']:.4f}, macro-F1 {model['macro_f1']:.4f} "
            f"(min {model['min_accuracy']:g}): {verdict}",
        ]
    if model.get("champion_version") is not None and model.get("champion_score") is not None:
        lines.append(
            f"            champion v{model['champion_version']}: test {_TITLES[metric]} "
            f"{model['champion_score']:.4f} on the same rows"
        )
    if model.get("reason"):
        lines.append(f"            {verdict}: {model['reason']}")
    classes, shown = model.get("classes"), model.get("classes_shown")
    if classes and shown is not None and shown < classes:
        lines.append(
            f"            {shown} of {classes} classes in the page and the confusion matrix; every class: "
            f"{model.get('numbers')}"
        )
    # The model's folder is the train step's figure: a pipeline with a trainer of its own may not report it.
    return lines + ([f"            {model['uri']}"] if model.get("uri") else [])


REPORT = Report(
    evaluate,
    section="model",
    figures=(
        Figure("task", "metrics.task"),
        Figure("metric", "metrics.metric", name="metric"),
        Figure("score", "metrics.score", name="score"),
        Figure("threshold", "metrics.threshold"),
        Figure("test_accuracy", "metrics.accuracy", name="accuracy"),
        Figure("rmse", "metrics.rmse", name="rmse"),
        Figure("mae", "metrics.mae", name="mae"),
        Figure("r2", "metrics.r2", name="r2"),
        Figure("roc_auc", "metrics.roc_auc", name="roc_auc"),
        Figure("min_r2", "metrics.min_r2"),
        Figure("champion_score", "metrics.champion_score", name="champion_score"),
        Figure("macro_f1", "metrics.macro_f1", name="macro_f1"),
        Figure("min_accuracy", "metrics.min_accuracy"),
        Figure("blessed", "metrics.blessed", name="blessed", cast=bool),
        Figure("reason", "reason"),
        Figure("champion_version", "metrics.champion_version", name="champion_version", cast=int),
        Figure("champion_accuracy", "metrics.champion_accuracy", name="champion_accuracy"),
        Figure("accuracy_tolerance", "metrics.accuracy_tolerance"),
        Figure("view", "evaluation_view"),
        Figure("classes", "metrics.classes", cast=int),
        Figure("classes_shown", "metrics.classes_shown", cast=int),
        Figure("numbers", "metrics"),
    ),
    describe=_describe,
)
