"""Component: evaluate the model on the test split and decide the blessing."""

from typing import NamedTuple

from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from kfx.step import Figure, Step, component


@component
def evaluate(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    evaluation_view: Output[HTML],
    registered_model: Input[Artifact],
    min_accuracy: float,
    accuracy_tolerance: float,
    serving_ok: bool = True,
) -> NamedTuple("EvaluationOutputs", [("blessed", bool), ("accuracy", float), ("macro_f1", float), ("reason", str)]):
    """Scores the new model (the challenger) and the champion on the same test rows, logs accuracy,
    macro-F1, per-class precision / recall, the confusion matrix and a page with its picture, and
    decides the blessing: the serving check passed, accuracy >= ``min_accuracy``, and not more than
    ``accuracy_tolerance`` below the champion.

    Args:
        model: Output of train.
        test_data: Test split.
        metrics: Scalar metrics (the champion's version and accuracy too, when there is one).
        classification_metrics: The confusion matrix.
        evaluation_view: HTML page with metrics and the confusion-matrix picture.
        min_accuracy: Accuracy a model needs to be blessed.
        accuracy_tolerance: How far below the champion's accuracy the model may be.
        registered_model: The champion (find_model's reference); none found: the threshold alone decides.
        serving_ok: The serving check's verdict.

    Returns:
        The blessing, test accuracy, macro-F1 and the decision's reason.
    """
    from kfx import steps

    champion = dict(registered_model.metadata)
    result = steps.evaluate(
        model.path, test_data.path, evaluation_view.path, min_accuracy, champion, accuracy_tolerance, serving_ok
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
    for label, scores in result["per_class"].items():
        metrics.log_metric(f"precision_{label}", scores["precision"])
        metrics.log_metric(f"recall_{label}", scores["recall"])
    classification_metrics.log_confusion_matrix(result["confusion"]["labels"], result["confusion"]["matrix"])
    return (result["blessed"], result["accuracy"], result["macro_f1"], result["reason"])


def _describe(model: dict) -> list[str]:
    verdict = "blessed" if model["blessed"] else "not blessed"
    lines = [
        f"model       test accuracy {model['test_accuracy']:.4f}, macro-F1 {model['macro_f1']:.4f} "
        f"(min {model['min_accuracy']:g}): {verdict}",
    ]
    if model.get("champion_version") is not None:
        lines.append(f"            champion v{model['champion_version']}: test accuracy {model['champion_accuracy']:.4f} on the same rows")
    if model.get("reason"):
        lines.append(f"            {verdict}: {model['reason']}")
    return lines + [f"            {model['uri']}"]


STEP = Step(
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
    ),
    describe=_describe,
)
