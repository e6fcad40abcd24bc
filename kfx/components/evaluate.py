"""Component: evaluate the model on the test split and decide the blessing."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from kfx.config import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def evaluate(
    model: Input[Model],
    test_data: Input[Dataset],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    evaluation_view: Output[HTML],
    min_accuracy: float = 0.9,
) -> NamedTuple("EvaluationOutputs", [("blessed", bool), ("accuracy", float), ("macro_f1", float)]):
    """Logs accuracy, macro-F1 and per-class precision / recall, the confusion matrix, and a page
    with its picture; ``blessed`` is true only when accuracy >= ``min_accuracy``.

    Args:
        model: Output of train.
        test_data: Test split.
        metrics: Scalar metrics.
        classification_metrics: The confusion matrix.
        evaluation_view: HTML page with metrics and the confusion-matrix picture.
        min_accuracy: Accuracy a model needs to be blessed. Defaults to 0.9.

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
