"""Component: evaluate the model on the test split and decide the blessing."""

from typing import NamedTuple

from kfp.dsl import HTML, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from kfx.step import Figure, Step, component


@component
def evaluate(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    evaluation_view: Output[HTML],
    min_accuracy: float,
) -> NamedTuple("EvaluationOutputs", [("blessed", bool), ("accuracy", float), ("macro_f1", float)]):
    """Logs accuracy, macro-F1 and per-class precision / recall, the confusion matrix, and a page
    with its picture; ``blessed`` is true only when accuracy >= ``min_accuracy``.

    Args:
        model: Output of train.
        test_data: Test split.
        metrics: Scalar metrics.
        classification_metrics: The confusion matrix.
        evaluation_view: HTML page with metrics and the confusion-matrix picture.
        min_accuracy: Accuracy a model needs to be blessed.

    Returns:
        The blessing, test accuracy and macro-F1.
    """
    from kfx import steps

    result = steps.evaluate(model.path, test_data.path, evaluation_view.path, min_accuracy)
    metrics.log_metric("accuracy", result["accuracy"])
    metrics.log_metric("macro_f1", result["macro_f1"])
    metrics.log_metric("rows", result["rows"])
    metrics.log_metric("min_accuracy", min_accuracy)
    metrics.log_metric("blessed", result["blessed"])
    for label, scores in result["per_class"].items():
        metrics.log_metric(f"precision_{label}", scores["precision"])
        metrics.log_metric(f"recall_{label}", scores["recall"])
    classification_metrics.log_confusion_matrix(result["confusion"]["labels"], result["confusion"]["matrix"])
    return (result["blessed"], result["accuracy"], result["macro_f1"])


def _describe(model: dict) -> list[str]:
    verdict = "blessed" if model["blessed"] else "not blessed"
    return [
        f"model       test accuracy {model['test_accuracy']:.4f}, macro-F1 {model['macro_f1']:.4f} "
        f"(min {model['min_accuracy']:g}): {verdict}",
        f"            {model['uri']}",
    ]


STEP = Step(
    evaluate,
    section="model",
    figures=(
        Figure("test_accuracy", "metrics.accuracy", name="accuracy"),
        Figure("macro_f1", "metrics.macro_f1", name="macro_f1"),
        Figure("min_accuracy", "metrics.min_accuracy"),
        Figure("blessed", "metrics.blessed", name="blessed", cast=bool),
        Figure("view", "evaluation_view"),
    ),
    describe=_describe,
)
