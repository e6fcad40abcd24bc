"""The beans pipeline on Vertex AI, as plain KFP, with cloud edges: :func:`vertex_train_pipeline`.

- the whole DAG runs inside ``dsl.ExitHandler(VertexNotificationEmailOp(recipients))`` when
  recipients are given (the e-mail task is ``vertex-pipelines-notification-email``);
- GCPC's ``TabularDatasetCreateOp`` makes the Vertex AI dataset from ``bq_source``;
- statistics read ``bq_source`` directly (on Dataflow with ``DataflowRunner``), then the same
  ``infer_schema`` and ``validate_statistics`` components as locally;
- ``find_vertex_model`` looks up the champion, the blessed ``default`` version of the model in the
  Model Registry (it always runs: another run may move the alias);
- ``custom_training_job`` trains the unchanged trainer image on the dataset and uploads nothing;
- the same ``evaluate`` component scores the held-out test split; ``push_vertex_model`` uploads the
  model with its evaluation, schema and training statistics as a new version, the default one only
  when blessed (an unblessed model never starts a new model, whose first version Vertex AI would
  make the default).

The images, the e-mail recipients and the task options come from the run's
:class:`~kfx.config.Config` when the pipeline is built; the parameters' defaults are its values.
"""

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kfx.config import Config

# A failed task waits 30 s, then twice as long before each further try, for at most an hour in all
# (Vertex AI's own limit): long enough for a quota or a preempted machine to come back.
RETRY_BACKOFF = {"backoff_duration": "30s", "backoff_factor": 2.0, "backoff_max_duration": "3600s"}
# The in-memory TFDV statistics of a BigQuery table and the scoring of the test split hold the table in
# memory: they get a larger machine than Vertex AI's default (e2-standard-4: 4 vCPUs, 16 GB).
STATISTICS_RESOURCES = {"cpu": "8", "memory": "32G"}
EVALUATE_RESOURCES = {"cpu": "4", "memory": "16G"}

DESCRIPTION = (
    "Beans on Vertex AI: BigQuery dataset, TFDV statistics (Dataflow), custom training, "
    "evaluation against the champion, and the model pushed: the default version only when blessed."
)


def task_options(config: "Config", image: str) -> Callable[..., Any]:
    """``options(task, cache=True, retry=True, resources=None, kfx=True)``: sets what Vertex AI reads on
    a task besides its inputs: kfx's image on kfx's tasks (GCPC's keep their own), caching (never for
    a task whose effect is outside the run), ``config.retries`` with exponential backoff (never for a
    task whose second attempt could repeat what the first did), and cpu and memory limits."""

    def options(task: Any, cache: bool = True, retry: bool = True, resources: Any = None, kfx: bool = True) -> Any:
        if kfx:
            task.set_container_image(image)
        task.set_caching_options(config.enable_caching and cache)
        if config.retries and retry:
            task.set_retry(config.retries, **RETRY_BACKOFF)
        if resources:
            task.set_cpu_limit(resources["cpu"]).set_memory_limit(resources["memory"])
        return task

    return options


def exit_handler(config: "Config") -> Any:
    """The exit handler that e-mails ``config.recipients`` however the run ends (a scheduled run is
    watched by nobody), or no handler without recipients."""
    if not config.recipients:
        return contextlib.nullcontext()
    from google_cloud_pipeline_components.v1.vertex_notification_email import VertexNotificationEmailOp
    from kfp import dsl

    # An e-mail is a side effect of this run: never a cached one.
    return dsl.ExitHandler(VertexNotificationEmailOp(recipients=list(config.recipients)).set_caching_options(False))


def bundled_options(c: "Config") -> list[str]:
    """The run's ``--task`` and ``--exclude-columns`` as ``KEY=VALUE`` trainer options, for kfx's trainer image only."""
    from kfx.vertex import images
    from kfx.vertex.training import is_bundled_trainer

    if not is_bundled_trainer(images.trainer_image(c)):
        return []
    given = {"task": c.task, "exclude-columns": c.exclude_columns}
    return [f"{key}={value}" for key, value in given.items() if value]


def vertex_train_pipeline(config: "Config") -> Callable:
    """The ``@dsl.pipeline`` function of the Vertex AI training pipeline for ``config``.

    Raises:
        ConfigError: If a required vertex option is unset or malformed (``check_vertex_config``).
    """
    from google_cloud_pipeline_components.v1.dataset import TabularDatasetCreateOp
    from kfp import dsl

    from kfx.components.check_serving_image import check_serving_image
    from kfx.components.custom_training_job import custom_training_job
    from kfx.components.evaluate import evaluate
    from kfx.components.find_vertex_model import find_vertex_model
    from kfx.components.generate_statistics_bq import generate_statistics_bq
    from kfx.components.infer_schema import infer_schema
    from kfx.components.prepare_serving_check import prepare_serving_check
    from kfx.components.push_vertex_model import push_vertex_model
    from kfx.components.validate_statistics import validate_statistics
    from kfx.vertex import images
    from kfx.vertex.checks import check_vertex_config
    from kfx.vertex.training import is_bundled_trainer

    check_vertex_config(config)
    c, image = config, images.kfx_image(config)
    options = task_options(config, image)
    trainer_arguments = [*c.trainer_args, *bundled_options(c)]

    @dsl.pipeline(name=c.resolved_pipeline_name, description=DESCRIPTION)
    def vertex_train(
        project_id: str = c.project_id,
        region: str = c.region,
        bucket: str = c.bucket,
        bq_source: str = c.bq_source,
        bq_dest: str = c.bq_dest or f"bq://{c.project_id}",
        model_name: str = c.resolved_model_name,
        label_column: str = c.label_column,
        train_fraction: float = c.train_fraction,
        validation_fraction: float = c.validation_fraction,
        test_fraction: float = c.test_fraction,
        seed: int = c.seed,
        schema_file: str = c.schema_file,
        skew_threshold: float = c.skew_threshold,
        drift_threshold: float = c.drift_threshold,
        fail_on_anomalies: bool = c.fail_on_anomalies,
        svm_c: float = c.svm_c,
        svm_gamma: str = c.svm_gamma,
        svm_max_rows: int = c.svm_max_rows,
        boosting_learning_rate: float = c.boosting_learning_rate,
        boosting_max_iter: int = c.boosting_max_iter,
        metric: str = c.metric,
        min_accuracy: float = c.min_accuracy,
        min_r2: float = c.min_r2,
        accuracy_tolerance: float = c.accuracy_tolerance,
        beam_runner: str = c.beam_runner,
        dataflow_image: str = image,
        network: str = c.network,
        subnetwork: str = c.subnetwork,
        peering_network: str = c.peering_network,
        service_account: str = c.service_account,
        machine_type: str = c.machine_type,
        training_image: str = images.trainer_image(c),
        # --trainer-arg KEY=VALUE: the training container's own options; kfx's trainer image also takes the
        # run's --task and --exclude-columns (a team's image gets only what the team passes).
        trainer_args: list = trainer_arguments,
        serving_image: str = c.serving_image or images.serving_image(c.region),
    ):
        with exit_handler(config):
            dataset = options(
                TabularDatasetCreateOp(
                    project=project_id, location=region, display_name=model_name, bq_source=bq_source
                ),
                kfx=False,
            )
            # The champion; the Model Registry changes between runs, so the lookup always runs.
            champion = options(
                find_vertex_model(project=project_id, location=region, model_name=model_name), cache=False
            ).outputs["registered_model"]
            stats = options(
                generate_statistics_bq(
                    project=project_id,
                    region=region,
                    bucket=bucket,
                    bq_source=bq_source,
                    label_column=label_column,
                    train_fraction=train_fraction,
                    validation_fraction=validation_fraction,
                    test_fraction=test_fraction,
                    seed=seed,
                    beam_runner=beam_runner,
                    sdk_container_image=dataflow_image,
                    network=network,
                    subnetwork=subnetwork,
                    service_account=service_account,
                ),
                resources=STATISTICS_RESOURCES,
            )
            schema = options(infer_schema(statistics=stats.outputs["statistics"], schema_file=schema_file))
            checked = options(
                validate_statistics(
                    statistics=stats.outputs["statistics"],
                    schema=schema.outputs["schema"],
                    registered_model=champion,
                    skew_threshold=skew_threshold,
                    drift_threshold=drift_threshold,
                    fail_on_anomalies=fail_on_anomalies,
                )
            )
            trained = options(
                custom_training_job(
                    project=project_id,
                    location=region,
                    staging_bucket=bucket,
                    dataset=dataset.outputs["dataset"],
                    model_name=model_name,
                    label_column=label_column,
                    container_uri=training_image,
                    machine_type=machine_type,
                    service_account=service_account,
                    network=peering_network,
                    bigquery_destination=bq_dest,
                    train_fraction=train_fraction,
                    validation_fraction=validation_fraction,
                    test_fraction=test_fraction,
                    seed=seed,
                    svm_c=svm_c,
                    svm_gamma=svm_gamma,
                    svm_max_rows=svm_max_rows,
                    boosting_learning_rate=boosting_learning_rate,
                    boosting_max_iter=boosting_max_iter,
                    trainer_args=trainer_args,
                    bundled_trainer=is_bundled_trainer(images.trainer_image(c)),
                ).after(checked)
            )  # train only on data that passed validation
            model, test_data = trained.outputs["model"], trained.outputs["test_data"]
            # Does the model load and predict the same in the serving image?
            request = options(prepare_serving_check(model=model, test_data=test_data))
            serving = options(
                check_serving_image(
                    model=model,
                    serving_request=request.outputs["serving_request"],
                    expected_predictions=request.outputs["expected_predictions"],
                ),
                kfx=False,
            )
            serving.set_container_image(c.serving_image or images.serving_image(c.region))
            evaluation = options(
                evaluate(
                    model=model,
                    test_data=test_data,
                    registered_model=champion,
                    min_accuracy=min_accuracy,
                    accuracy_tolerance=accuracy_tolerance,
                    serving_ok=serving.outputs["serving_ok"],
                    metric=metric,
                    min_r2=min_r2,
                ),
                resources=EVALUATE_RESOURCES,
            )
            # Not gated by a condition: an unblessed model is kept as a version that is not the default.
            # It moves the default alias, which another run may have moved since: never cached, and never
            # retried, since a second attempt could upload the same version again.
            options(
                push_vertex_model(
                    project=project_id,
                    location=region,
                    model_name=model_name,
                    model=model,
                    metrics=evaluation.outputs["metrics"],
                    classification_metrics=evaluation.outputs["classification_metrics"],
                    schema=schema.outputs["schema"],
                    statistics=stats.outputs["statistics"],
                    registered_model=champion,
                    blessed=evaluation.outputs["blessed"],
                    serving_container_image_uri=serving_image,
                ),
                cache=False,
                retry=False,
            )

    return vertex_train
