"""The training contract: what a training run is handed and what it leaves in the model folder.

Vertex AI hands a custom training job with a managed dataset its data through
``AIP_*`` environment variables; the trainer writes ``model.joblib`` with its
metadata and metrics into ``AIP_MODEL_DIR``. The trainer, the local ``train``
step, evaluation, the registry and the vertex training component all meet here,
so none of them imports another to learn a file name.
"""

from typing import Any

MODEL_DIR_VARIABLE = "AIP_MODEL_DIR"
DATA_FORMAT_VARIABLE = "AIP_DATA_FORMAT"
SPLIT_VARIABLES = {
    "train": "AIP_TRAINING_DATA_URI",
    "validation": "AIP_VALIDATION_DATA_URI",
    "test": "AIP_TEST_DATA_URI",
}
"""Split name to the variable that holds its data URI."""

MODEL_FILE = "model.joblib"
"""What Vertex AI's prebuilt scikit-learn serving image loads; written last, so it marks a complete folder."""
METRICS_FILE = "metrics.json"
METADATA_FILE = "model_metadata.json"


TRAINER_PARAMETERS = (
    "label_column",
    "svm_c",
    "svm_gamma",
    "seed",
    "svm_max_rows",
    "boosting_learning_rate",
    "boosting_max_iter",
)
"""The trainer's hyper-parameters and options, by their Config field names; each is ``--name-with-dashes``."""


def trainer_args(**values: Any) -> list[str]:
    """The trainer's command-line arguments, the same for the local step and the Vertex AI job
    (whose image's entrypoint is ``python -m kfx_trainer.task``).

    Args:
        values: A value for each name in :data:`TRAINER_PARAMETERS`.

    Raises:
        TypeError: If a name is missing or unknown (a programming error, not a user's).
    """
    if set(values) != set(TRAINER_PARAMETERS):
        raise TypeError(f"trainer_args takes exactly {', '.join(TRAINER_PARAMETERS)}; got {', '.join(sorted(values))}.")
    args: list[str] = []
    for name in TRAINER_PARAMETERS:
        args += ["--" + name.replace("_", "-"), str(values[name])]
    return args
