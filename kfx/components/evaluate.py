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

    Returns:
        The blessing, test accuracy, macro-F1 and the decision's reason.
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
    )
    metrics.log_metric("accuracy", result["accuracy"])
    metrics.log_metric("macro_f1", result["macro_f1"])
    metrics.log_metric("rows", result["rows"])
    metrics.log_metric("min_accuracy", min_accuracy)
    metrics.log_metric("accuracy_tolerance", accuracy_tolerance)
    metrics.log_metric("blessed", result["blessed"])
    if result["champion"]:
        metrics.log_metric("champion_version", int(result["champion"]["version"]))
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


def _describe(model: dict) -> list[str]:
    verdict = "blessed" if model["blessed"] else "not blessed"
    lines = [
        f"model       test accuracy {model['test_accuracy']:.4f}, macro-F1 {model['macro_f1']:.4f} "
        f"(min {model['min_accuracy']:g}): {verdict}",
    ]
    if model.get("champion_version") is not None:
        lines.append(
            f"            champion v{model['champion_version']}: test accuracy "
            f"{model['champion_accuracy']:.4f} on the same rows"
        )
    if model.get("reason"):
        lines.append(f"            {verdict}: {model['reason']}")
    classes, shown = model.get("classes"), model.get("classes_shown")
    if classes and shown is not None and shown < classes:
        lines.append(
            f"            {shown} of {classes} classes in the page and the confusion matrix; every class: "
            f"{model.get('numbers')}"
        )
    return lines + [f"            {model['uri']}"]


REPORT = Report(
    evaluate,
    section="model",
    figures=(
        Figure("test_accuracy", "metrics.accuracy", name="accuracy"),
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
