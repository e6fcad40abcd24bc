"""The training contract: what a training run is handed and what it leaves in the model folder.

Vertex AI hands a custom training job with a managed dataset its data through
``AIP_*`` environment variables; the trainer writes ``model.joblib`` with its
metadata and metrics into ``AIP_MODEL_DIR``. The trainer, the local ``train``
step, evaluation, the registry and the vertex training component all meet here,
so none of them imports another to learn a file name.
"""

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


def trainer_args(
    label_column: str,
    svm_c: float,
    svm_gamma: str,
    seed: int,
    svm_max_rows: int,
    boosting_learning_rate: float,
    boosting_max_iter: int,
) -> list[str]:
    """The trainer's command-line arguments, the same for the local step and the Vertex AI job
    (whose image's entrypoint is ``python -m trainer.task``)."""
    return [
        "--label-column", label_column, "--svm-c", str(svm_c), "--svm-gamma", str(svm_gamma), "--seed", str(seed),
        "--svm-max-rows", str(svm_max_rows), "--boosting-learning-rate", str(boosting_learning_rate),
        "--boosting-max-iter", str(boosting_max_iter),
    ]
