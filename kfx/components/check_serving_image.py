"""Component: load the model in Vertex AI's prebuilt scikit-learn serving image and answer the request
there (vertex target).

A container component: its task runs in the serving image itself (the pipeline sets the image of
the model's scikit-learn series when it is built, :func:`kfx.vertex.images.serving_image`), where
neither kfx nor kfp is installed. Its command hands the source of :mod:`kfx.serving_check`, read
from kfx's own file when this module is imported, to ``python -c``.
"""

import os

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output, OutputPath

from kfx.report import Figure, Report
from kfx.vertex.images import serving_image

SCRIPT_SOURCE = open(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "serving_check.py")
).read()
# The image's `python` when it has one (its serving environment), else `python3`.
_RUN = 'exec "$(command -v python || command -v python3)" -c "$0" "$@"'
_IMAGE = serving_image()  # us-central1's; the pipeline sets its region's when it is built


@dsl.container_component
def check_serving_image(
    model: Input[Model],
    serving_request: Input[Artifact],
    expected_predictions: Input[Artifact],
    serving_check: Output[Artifact],
    serving_ok: OutputPath(bool),  # type: ignore[valid-type]  # kfp reads this call as an output path
):
    """Loads model.joblib in the serving image, predicts the request as its server does
    (``np.asarray(instances)``, ``model.predict``) and compares with the expected predictions.

    Args:
        model: The model folder (model.joblib).
        serving_request: The prediction request body (``prepare_serving_check``).
        expected_predictions: The predictions the kfx image made.
        serving_check: The result (JSON): ok, reason, rows, agreed, the first mismatches, versions.
        serving_ok: Whether the model loads there and every prediction agrees.
    """
    return dsl.ContainerSpec(
        image=_IMAGE,
        command=["sh", "-c", _RUN, SCRIPT_SOURCE],
        args=[
            "--model-dir",
            model.path,
            "--request",
            serving_request.path,
            "--expected",
            expected_predictions.path,
            "--result",
            serving_check.path,
            "--ok",
            serving_ok,
        ],
    )


REPORT = Report(
    check_serving_image,
    types={"serving_check": "ServingCheck"},
    section="serving",
    figures=(Figure("ok", "serving_ok", name="serving_ok", cast=bool), Figure("uri", "serving_check")),
)
