"""Component: check that the model loads and predicts the same with only the serving image's packages."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Model, Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def check_serving(
    model: Input[Model],
    test_data: Input[Dataset],
    serving_check: Output[Artifact],
    serving_request: Output[Artifact],
    serving_env: str,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ServingOutputs", [("serving_ok", bool)]
):
    """Sends the test rows, as a Vertex AI prediction request, to the model loaded in the
    serving-only environment (scikit-learn of the serving image's series, joblib, NumPy, SciPy;
    no kfx, no pandas) and compares its answer with the predictions made here.

    Args:
        model: Output of train.
        test_data: Test split.
        serving_check: The check's result (JSON): ok, reason, rows, agreed, the first mismatches,
            the serving scikit-learn and Python versions.
        serving_request: The prediction request body sent: ``{"instances": [[...], ...]}``.
        serving_env: Folder of the serving-only environment, made once and kept.

    Returns:
        Whether the model loads there and every prediction agrees.
    """
    from kfx import model_steps

    result = model_steps.check_serving(
        model.path, test_data.path, serving_request.path, serving_check.path, serving_env
    )
    keys = ("ok", "reason", "rows", "agreed", "sklearn_version", "python_version", "test_rows", "serving_env")
    serving_check.metadata.update({key: result[key] for key in keys})
    serving_check.metadata["compared"] = result.get("compared", "exactly")
    serving_request.metadata.update(rows=result["rows"], format="vertex-ai-prediction-request")
    return (result["ok"],)


def _describe(serving: dict) -> list[str]:
    where = f"scikit-learn {serving.get('sklearn_version') or '?'} (serving env)"
    if serving.get("ok"):
        within = "" if serving.get("compared", "exactly") == "exactly" else f" ({serving['compared']})"
        return [f"serving     loads in {where}: {serving['agreed']:,} of {serving['rows']:,} predictions agree{within}"]
    return [f"serving     not served by {where}: {serving.get('reason')}"]


REPORT = Report(
    check_serving,
    types={"serving_check": "ServingCheck", "serving_request": "PredictionRequest"},
    section="serving",
    figures=(
        Figure("ok", "serving_check.ok", name="serving_ok", cast=bool),
        Figure("reason", "serving_check.reason"),
        Figure("rows", "serving_check.rows", cast=int),
        Figure("agreed", "serving_check.agreed", cast=int),
        Figure("compared", "serving_check.compared"),
        Figure("sklearn_version", "serving_check.sklearn_version"),
        Figure("python_version", "serving_check.python_version"),
        Figure("uri", "serving_check"),
        Figure("request", "serving_request"),
    ),
    describe=_describe,
)
