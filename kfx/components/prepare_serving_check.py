"""Component: the serving check's prediction request and the predictions the model makes in the kfx
image (vertex target)."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def prepare_serving_check(
    model: Input[Model],
    test_data: Input[Dataset],
    serving_request: Output[Artifact],
    expected_predictions: Output[Artifact],
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ServingRequestOutputs", [("rows", int)]
):
    """Writes the test rows as a Vertex AI prediction request (the model's features in order, a
    missing value as null) and the predictions the model makes on them here, for
    ``check_serving_image`` to compare with the serving image's.

    Args:
        model: The model folder (model.joblib, model_metadata.json).
        test_data: Test split.
        serving_request: The prediction request body: ``{"instances": [[...], ...]}``.
        expected_predictions: JSON list of the model's predictions in the kfx image.

    Returns:
        The rows in the request.
    """
    from kfx import model_steps

    result = model_steps.prepare_serving_check(
        model.path, test_data.path, serving_request.path, expected_predictions.path
    )
    serving_request.metadata.update(
        rows=result["rows"], features=result["features"], format="vertex-ai-prediction-request"
    )
    expected_predictions.metadata.update(rows=result["rows"])
    return (result["rows"],)


REPORT = Report(
    prepare_serving_check,
    types={"serving_request": "PredictionRequest", "expected_predictions": "Predictions"},
    section="serving",
    figures=(Figure("request", "serving_request"), Figure("rows", "rows", cast=int)),
)
