"""The beans pipeline on this machine, as plain KFP: ``kfx run`` runs it with kfx's local runner.

Each default is :class:`~kfx.config.Config`'s (``DEFAULTS.<field>``); ``kfx run --svm-c 3`` passes
that option's value as the argument of the parameter of the same name.
"""

from kfp import dsl

from kfx.components.check_serving import check_serving
from kfx.components.evaluate import evaluate
from kfx.components.find_model import find_model
from kfx.components.generate_statistics import generate_statistics
from kfx.components.import_dataset import import_dataset
from kfx.components.infer_schema import infer_schema
from kfx.components.push_model import push_model
from kfx.components.train import train
from kfx.components.validate_statistics import validate_statistics
from kfx.config import Config

DEFAULTS = Config()
DESCRIPTION = "Beans: import a table, check it with TFDV, train and evaluate a classifier, push when blessed."
# The description stays the beans example's; a regression label (kfx.tasks) runs the same steps.


@dsl.pipeline(name=DEFAULTS.resolved_pipeline_name, description=DESCRIPTION)
def beans(
    source: str = DEFAULTS.source,  # empty: the table shipped with kfx
    label_column: str = DEFAULTS.label_column,
    train_fraction: float = DEFAULTS.train_fraction,
    validation_fraction: float = DEFAULTS.validation_fraction,
    test_fraction: float = DEFAULTS.test_fraction,
    seed: int = DEFAULTS.seed,
    sample_rows: int = DEFAULTS.sample_rows,
    task: str = DEFAULTS.task,
    exclude_columns: str = DEFAULTS.exclude_columns,
    stats_engine: str = DEFAULTS.stats_engine,
    schema_file: str = DEFAULTS.schema_file,
    skew_threshold: float = DEFAULTS.skew_threshold,
    drift_threshold: float = DEFAULTS.drift_threshold,
    fail_on_anomalies: bool = DEFAULTS.fail_on_anomalies,
    svm_c: float = DEFAULTS.svm_c,
    svm_gamma: str = DEFAULTS.svm_gamma,
    svm_max_rows: int = DEFAULTS.svm_max_rows,
    boosting_learning_rate: float = DEFAULTS.boosting_learning_rate,
    boosting_max_iter: int = DEFAULTS.boosting_max_iter,
    trainer_module: str = DEFAULTS.trainer_module,  # kfx run --trainer: a team's module instead of kfx's
    trainer_args: list = DEFAULTS.trainer_args,  # kfx run --trainer-arg KEY=VALUE
    trainer_code: str = "",  # kfx run sets a digest of a team trainer's source: edited code trains again
    metric: str = DEFAULTS.metric,
    min_accuracy: float = DEFAULTS.min_accuracy,
    min_r2: float = DEFAULTS.min_r2,
    accuracy_tolerance: float = DEFAULTS.accuracy_tolerance,
    serving_env: str = DEFAULTS.resolved_serving_env,
    registry_dir: str = DEFAULTS.resolved_registry_dir,
    model_name: str = DEFAULTS.resolved_model_name,
):
    data = import_dataset(
        source=source,
        label_column=label_column,
        train_fraction=train_fraction,
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
        seed=seed,
        sample_rows=sample_rows,
        task=task,
    )
    splits = {name: data.outputs[name] for name in ("train_data", "validation_data", "test_data")}
    # The champion: the registry's newest version. The registry changes between runs, so the lookup
    # always runs; the steps that read it are reused only while it names the same version.
    champion = find_model(
        registry_dir=registry_dir,
        model_name=model_name,
        table=data.outputs["train_data"],
        label_column=label_column,
    ).set_caching_options(False)
    stats = generate_statistics(**splits, stats_engine=stats_engine)
    schema = infer_schema(statistics=stats.outputs["statistics"], schema_file=schema_file)
    checked = validate_statistics(
        statistics=stats.outputs["statistics"],
        schema=schema.outputs["schema"],
        registered_model=champion.outputs["registered_model"],
        skew_threshold=skew_threshold,
        drift_threshold=drift_threshold,
        fail_on_anomalies=fail_on_anomalies,
    )
    trained = train(
        **splits,
        label_column=label_column,
        svm_c=svm_c,
        svm_gamma=svm_gamma,
        seed=seed,
        svm_max_rows=svm_max_rows,
        boosting_learning_rate=boosting_learning_rate,
        boosting_max_iter=boosting_max_iter,
        trainer_module=trainer_module,
        trainer_args=trainer_args,
        trainer_code=trainer_code,
        task=data.outputs["task"],
        exclude_columns=exclude_columns,
    ).after(checked)  # train only on data that passed validation
    serving = check_serving(
        model=trained.outputs["model"], test_data=data.outputs["test_data"], serving_env=serving_env
    )
    evaluation = evaluate(
        model=trained.outputs["model"],
        test_data=data.outputs["test_data"],
        registered_model=champion.outputs["registered_model"],
        min_accuracy=min_accuracy,
        accuracy_tolerance=accuracy_tolerance,
        serving_ok=serving.outputs["serving_ok"],
        metric=metric,
        min_r2=min_r2,
    )
    push_model(  # the gate is the blessed input, not a condition: kfp.local runs no conditions
        model=trained.outputs["model"],
        metrics=evaluation.outputs["metrics"],
        schema=schema.outputs["schema"],
        statistics=stats.outputs["statistics"],
        registered_model=champion.outputs["registered_model"],
        test_data=data.outputs["test_data"],
        blessed=evaluation.outputs["blessed"],
        reason=evaluation.outputs["reason"],
        registry_dir=registry_dir,
        model_name=model_name,
    )
