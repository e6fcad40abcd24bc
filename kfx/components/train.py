"""Component: run the kfx trainer under the Vertex AI custom-training contract."""

from typing import NamedTuple

from kfp.dsl import Dataset, Input, Model, Output

from kfx.step import Figure, Step, component


@component
def train(
    train_data: Input[Dataset],
    validation_data: Input[Dataset],
    test_data: Input[Dataset],
    model: Output[Model],
    label_column: str,
    svm_c: float,
    svm_gamma: str,
    seed: int,
) -> NamedTuple("TrainOutputs", [("validation_accuracy", float), ("test_accuracy", float)]):
    """Sets AIP_MODEL_DIR, AIP_DATA_FORMAT=csv and AIP_*_DATA_URI and runs ``trainer.task.main``,
    which writes ``model.joblib`` (what Vertex AI's prebuilt scikit-learn image serves).

    Args:
        train_data: Training split.
        validation_data: Validation split.
        test_data: Test split.
        model: Model folder (model.joblib, model_metadata.json, metrics.json).
        label_column: Class column.
        svm_c: SVM regularisation C.
        svm_gamma: RBF gamma ("scale", "auto" or a number).
        seed: Random state.

    Returns:
        Validation and test accuracy as the trainer measured them.
    """
    from kfx import steps
    from kfx.contract import MODEL_FILE

    result = steps.train(
        train_data.path, validation_data.path, test_data.path, model.path, label_column, svm_c, svm_gamma, seed
    )
    model.metadata.update(
        framework="scikit-learn", file=MODEL_FILE, label_column=label_column,
        svm_c=svm_c, svm_gamma=svm_gamma, seed=seed,
        validation_accuracy=result["validation"]["accuracy"], test_accuracy=result["test"]["accuracy"],
    )
    return (result["validation"]["accuracy"], result["test"]["accuracy"])


STEP = Step(
    train,
    section="model",
    figures=(
        Figure("uri", "model"),
        Figure("validation_accuracy", "model.validation_accuracy", name="validation_accuracy"),
    ),
)
