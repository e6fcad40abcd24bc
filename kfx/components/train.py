"""Component: run the kfx trainer under the Vertex AI custom-training contract."""

from typing import NamedTuple

from kfp.dsl import Dataset, Input, Model, Output

from kfx.component import component
from kfx.report import Figure, Report


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
    svm_max_rows: int,
    boosting_learning_rate: float,
    boosting_max_iter: int,
    task: str = "",
    exclude_columns: str = "",
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "TrainOutputs", [("validation_accuracy", float), ("test_accuracy", float)]
):
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
        svm_max_rows: Training rows up to which the model is the exact RBF SVC; gradient boosting above.
        boosting_learning_rate: Gradient boosting's learning rate.
        boosting_max_iter: Gradient boosting's most rounds.
        task: classification or regression (import-dataset's); empty: the trainer infers it.
        exclude_columns: Columns, separated by commas, the model does not learn from.

    Returns:
        Validation and test accuracy as the trainer measured them (NaN for a regression, whose RMSE,
        MAE and R² the model's metadata holds).
    """
    from kfx import model_steps
    from kfx.contract import MODEL_FILE

    hyperparameters = dict(
        label_column=label_column,
        svm_c=svm_c,
        svm_gamma=svm_gamma,
        seed=seed,
        svm_max_rows=svm_max_rows,
        boosting_learning_rate=boosting_learning_rate,
        boosting_max_iter=boosting_max_iter,
    )
    result = model_steps.train(
        train_data.path,
        validation_data.path,
        test_data.path,
        model.path,
        task=task,
        exclude_columns=exclude_columns,
        **hyperparameters,
    )
    if exclude_columns:
        model.metadata["exclude_columns"] = exclude_columns
    if result["task"] == "regression":
        for split in ("validation", "test"):
            model.metadata.update({f"{split}_{name}": result[split][name] for name in ("rmse", "mae", "r2")})
    model.metadata.update(
        task=result["task"],
        framework="scikit-learn",
        file=MODEL_FILE,
        **hyperparameters,
        estimator=result["model"]["estimator"],
        train_rows=result["train_rows"],
        fit_seconds=result["fit_seconds"],
        id_columns=result["id_columns"],
    )
    if result["task"] == "regression":
        return (float("nan"), float("nan"))  # not measured: a regression has no accuracy
    model.metadata.update(
        validation_accuracy=result["validation"]["accuracy"], test_accuracy=result["test"]["accuracy"]
    )
    if "boosting_rounds" in result["model"]:
        model.metadata["boosting_rounds"] = result["model"]["boosting_rounds"]
    return (result["validation"]["accuracy"], result["test"]["accuracy"])


def _describe(model: dict) -> list[str]:
    estimator, rows, limit = model["estimator"], model["train_rows"], model["svm_max_rows"]
    if model.get("task") == "regression":
        estimator = {"svc": "svr", "hist_gradient_boosting": "hist_gradient_boosting"}.get(estimator, estimator)
        estimator += " (regression)"
    rounds = f", {model['boosting_rounds']} rounds" if model.get("boosting_rounds") is not None else ""
    lines = [
        f"trainer     {estimator} on {rows:,} training rows ({'<=' if rows <= limit else '>'} svm_max_rows "
        f"{limit:,}), fit {model['fit_seconds']:.1f} s{rounds}"
    ]
    if model.get("id_columns"):
        lines.append(
            f"            left out ID-like column(s) {', '.join(model['id_columns'])}: nearly one value per row"
        )
    return lines


REPORT = Report(
    train,
    section="model",
    figures=(
        Figure("uri", "model"),
        Figure("validation_accuracy", "model.validation_accuracy", name="validation_accuracy"),
        Figure("validation_r2", "model.validation_r2", name="validation_r2"),
        Figure("estimator", "model.estimator"),
        Figure("task", "model.task"),
        Figure("train_rows", "model.train_rows", cast=int),
        Figure("svm_max_rows", "model.svm_max_rows", cast=int),
        Figure("boosting_rounds", "model.boosting_rounds", cast=int),
        Figure("fit_seconds", "model.fit_seconds"),
        Figure("id_columns", "model.id_columns", cast=list),
    ),
    describe=_describe,
)
