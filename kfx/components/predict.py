"""Component: predict every row of a table with a registry model, and the accuracy when the table has the label."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def predict(
    scoring_data: Input[Dataset],
    registered_model: Input[Artifact],
    predictions: Output[Dataset],
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "PredictOutputs", [("predicted_rows", int)]
):
    """Loads the registry version's ``model.joblib`` and predicts each row of the table.

    The predictions CSV holds the table's columns, cells as they were, then ``predicted_<label>``,
    ``model_name`` and ``model_version``; its metadata records the model, the version and, when the
    table holds the label, the accuracy and macro-F1 on the rows that have one.

    Args:
        scoring_data: The table to score (import_scoring_data's output).
        registered_model: The registry version (find_model's reference).
        predictions: The predictions (CSV).

    Returns:
        The number of rows predicted.
    """
    from kfx import scoring

    reference = scoring.read_reference(registered_model.path)
    result = scoring.predict(scoring_data.path, reference, predictions.path)
    predictions.metadata.update(format="csv", model_uri=reference["uri"], **result)
    return (result["rows"],)


def _describe(predicted: dict) -> list[str]:
    by = f"{predicted['model_name']} v{predicted['version']}"
    lines = [f"predictions {predicted['rows']} rows by {by}: {predicted['file']}"]
    if predicted.get("accuracy") is not None:
        lines.append(
            f"            accuracy {predicted['accuracy']:.4f}, macro-F1 {predicted['macro_f1']:.4f} on "
            f"{predicted['labelled_rows']} labelled rows"
        )
    if predicted.get("r2") is not None:
        lines.append(
            f"            RMSE {predicted['rmse']:.4g}, MAE {predicted['mae']:.4g}, R² {predicted['r2']:.4f} on "
            f"{predicted['labelled_rows']} labelled rows"
        )
    if predicted.get("output"):
        lines.append(f"            copied to {predicted['output']}")
    return lines


REPORT = Report(
    predict,
    section="predictions",
    figures=(
        Figure("rows", "predicted_rows", name="predicted_rows", cast=int),
        Figure("model_name", "predictions.model_name"),
        Figure("version", "predictions.version"),
        Figure("model_uri", "predictions.model_uri"),
        Figure("label_column", "predictions.label_column"),
        Figure("prediction_column", "predictions.prediction_column"),
        Figure("labelled_rows", "predictions.labelled_rows", cast=int),
        Figure("accuracy", "predictions.accuracy", name="accuracy"),
        Figure("macro_f1", "predictions.macro_f1", name="macro_f1"),
        Figure("rmse", "predictions.rmse", name="rmse"),
        Figure("mae", "predictions.mae", name="mae"),
        Figure("r2", "predictions.r2", name="r2"),
        Figure("file", "predictions"),
    ),
    describe=_describe,
    # What it read outside the run folder: earlier predictions are reused only while the version folder (its
    # model) is as it was, so a registry made again with the same version numbers is not mistaken for the old one.
    outside=("predictions.model_uri",),
)
