"""Component: run the bundled trainer, or a team's own module, under the Vertex AI custom-training contract."""

from typing import Any, NamedTuple

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
    trainer_module: str,
    trainer_args: list = [],
    trainer_code: str = "",
    task: str = "",
    exclude_columns: str = "",
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "TrainOutputs", [("validation_accuracy", float), ("test_accuracy", float)]
):
    """Sets AIP_MODEL_DIR, AIP_DATA_FORMAT=csv and AIP_*_DATA_URI and runs the trainer, which writes
    ``model.joblib`` and ``model_metadata.json`` (docs/model-contract.md): ``kfx_trainer.task.main`` with
    the svm/boosting options, or a team's ``python -m trainer_module --label-column ... [--KEY VALUE]``.

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
        trainer_module: The trainer's module (PACKAGE.MODULE); the bundled ``kfx_trainer.task`` by default.
        trainer_args: ``KEY=VALUE`` options handed to the trainer as ``--KEY VALUE``.
        trainer_code: A digest of a team trainer's source (``kfx run`` sets it), so that the step's cache
            key changes when the trainer does, and the model's lineage says which code trained it.
        task: classification or regression (import-dataset's); empty: the trainer infers it.
        exclude_columns: Columns, separated by commas, the model does not learn from.

    Returns:
        Validation and test accuracy as the trainer measured them (NaN for a regression, whose RMSE,
        MAE and R² the model's metadata holds).
    """
    from kfx import model_steps
    from kfx.contract import BUNDLED_TRAINER, MODEL_FILE

    hyperparameters: dict[str, Any] = dict(
        label_column=label_column,
        svm_c=svm_c,
        svm_gamma=svm_gamma,
        seed=seed,
        svm_max_rows=svm_max_rows,
        boosting_learning_rate=boosting_learning_rate,
        boosting_max_iter=boosting_max_iter,
    )
    splits = (train_data.path, validation_data.path, test_data.path)
    result = model_steps.run_trainer(
        *splits, model.path, trainer_module, trainer_args, task=task, exclude_columns=exclude_columns, **hyperparameters
    )
    bundled = trainer_module == BUNDLED_TRAINER
    trained_task = result.get("task", "classification")
    if exclude_columns:
        model.metadata["exclude_columns"] = exclude_columns
    if trained_task == "regression":
        for split in ("validation", "test"):
            measured = result[split]
            model.metadata.update(
                {f"{split}_{name}": measured[name] for name in ("rmse", "mae", "r2") if name in measured}
            )
    model.metadata.update(
        task=trained_task,
        framework=result.get("framework", "scikit-learn"),
        file=MODEL_FILE,
        trainer=trainer_module,
        trainer_args=list(trainer_args),
        **({"trainer_code": trainer_code} if trainer_code else {}),
        # A team's trainer takes the label and its own options only: the svm/boosting ones are not its.
        **(hyperparameters if bundled else {"label_column": label_column}),
        estimator=result["model"]["estimator"],
        id_columns=result["id_columns"],
        **{key: result[key] for key in ("train_rows", "fit_seconds") if key in result},
    )
    if "boosting_rounds" in result["model"]:
        model.metadata["boosting_rounds"] = result["model"]["boosting_rounds"]
    if trained_task == "regression":
        return (float("nan"), float("nan"))  # not measured: a regression has no accuracy
    model.metadata.update(
        validation_accuracy=result["validation"]["accuracy"], test_accuracy=result["test"]["accuracy"]
    )
    return (result["validation"]["accuracy"], result["test"]["accuracy"])


def _describe(model: dict) -> list[str]:
    if model.get("svm_max_rows") is None or model.get("train_rows") is None:  # a team's trainer
        return [f"trainer     {model.get('estimator')} (--trainer {model.get('trainer')})"]
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
        Figure("trainer", "model.trainer"),
        Figure("task", "model.task"),
        Figure("train_rows", "model.train_rows", cast=int),
        Figure("svm_max_rows", "model.svm_max_rows", cast=int),
        Figure("boosting_rounds", "model.boosting_rounds", cast=int),
        Figure("fit_seconds", "model.fit_seconds"),
        Figure("id_columns", "model.id_columns", cast=list),
    ),
    describe=_describe,
)
