"""The beans pipeline for Vertex AI: the same steps as the local target, with cloud edges.

- the whole DAG runs inside ``dsl.ExitHandler(VertexNotificationEmailOp(recipients))``
  when recipients are given;
- GCPC's ``TabularDatasetCreateOp`` makes the Vertex AI dataset from ``bq_source``;
- statistics read ``bq_source`` directly (on Dataflow with ``DataflowRunner``), then
  the same ``infer_schema`` and ``validate_statistics`` components as locally;
- ``custom_training_job`` trains the unchanged trainer image on the dataset;
- the same ``evaluate`` component scores the held-out test split, and only a blessed
  model becomes the default version in the Model Registry (``dsl.If``; Vertex AI
  runs conditions, unlike kfp.local).

The config's values become the pipeline parameters' defaults; the kfx image is set
on every kfx task while the pipeline is built.
"""

import contextlib
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from kfx.config import Config

# Task display names in run order (the exit handler's e-mail task comes last).
STEPS = (
    "create dataset",
    "statistics",
    "schema",
    "validate",
    "train",
    "evaluate",
    "bless model",
)


def build_vertex_pipeline(config: "Config") -> Callable:
    """Builds the ``@dsl.pipeline`` function of the vertex target.

    Args:
        config: The run's configuration; checked with ``check_vertex_config`` first.

    Returns:
        The pipeline function, ready to compile.

    Raises:
        ConfigError: If a required vertex option is unset or malformed.
    """
    from kfx.vertex.checks import check_vertex_config

    check_vertex_config(config)
    from google_cloud_pipeline_components.v1.dataset import TabularDatasetCreateOp
    from google_cloud_pipeline_components.v1.vertex_notification_email import VertexNotificationEmailOp
    from kfp import dsl

    from kfx import components as c
    from kfx.fragments import add_schema_and_validation
    from kfx.vertex import images

    image = images.kfx_image(config)
    caching = config.enable_caching

    def kfx_task(op, name: str):
        # The image comes from the config when the pipeline is built.
        return op.set_container_image(image).set_display_name(name).set_caching_options(caching)

    @dsl.pipeline(
        name=config.pipeline_name,
        description="Beans on Vertex AI: BigQuery dataset, TFDV statistics (Dataflow), custom training, "
        "evaluation, and the blessed model made default.",
    )
    def pipeline(
        project_id: str = config.project_id,
        region: str = config.region,
        bucket: str = config.bucket,
        bq_source: str = config.bq_source,
        bq_dest: str = config.bq_dest or f"bq://{config.project_id}",
        label_column: str = config.label_column,
        train_fraction: float = config.train_fraction,
        validation_fraction: float = config.validation_fraction,
        test_fraction: float = config.test_fraction,
        seed: int = config.seed,
        beam_runner: str = config.beam_runner,
        network: str = config.network,
        subnetwork: str = config.subnetwork,
        peering_network: str = config.peering_network,
        dataflow_image: str = image,
        schema_file: str = config.schema_file,
        skew_threshold: float = config.skew_threshold,
        fail_on_anomalies: bool = config.fail_on_anomalies,
        training_image: str = images.trainer_image(config),
        serving_image: str = images.serving_image(config.region),
        machine_type: str = config.machine_type,
        service_account: str = config.service_account,
        svm_c: float = config.svm_c,
        svm_gamma: str = config.svm_gamma,
        min_accuracy: float = config.min_accuracy,
        model_name: str = config.model_name,
    ):
        notify = (
            dsl.ExitHandler(VertexNotificationEmailOp(recipients=list(config.recipients)).set_display_name("notify"))
            if config.recipients
            else contextlib.nullcontext()
        )
        with notify:
            dataset = TabularDatasetCreateOp(
                project=project_id, location=region, display_name=model_name, bq_source=bq_source
            ).set_display_name("create dataset").set_caching_options(caching)
            stats = kfx_task(
                c.generate_statistics_bq(
                    bq_source=bq_source, label_column=label_column, train_fraction=train_fraction,
                    validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed,
                    beam_runner=beam_runner, project=project_id, region=region, bucket=bucket,
                    network=network, subnetwork=subnetwork, sdk_container_image=dataflow_image,
                    service_account=service_account,
                ),
                "statistics",
            )
            _, validated = add_schema_and_validation(
                kfx_task, stats.outputs["statistics"], schema_file, skew_threshold, fail_on_anomalies
            )
            trained = kfx_task(
                c.custom_training_job(
                    project=project_id, location=region, dataset=dataset.outputs["dataset"],
                    container_uri=training_image, staging_bucket=bucket, bigquery_destination=bq_dest,
                    display_name=f"{config.pipeline_name}-train", model_display_name=model_name,
                    label_column=label_column, svm_c=svm_c, svm_gamma=svm_gamma, seed=seed,
                    train_fraction=train_fraction, validation_fraction=validation_fraction,
                    test_fraction=test_fraction, machine_type=machine_type, service_account=service_account,
                    network=peering_network, serving_container_image_uri=serving_image,
                ),
                "train",
            )
            # Train only on data that passed validation.
            trained.after(validated)
            evaluated = kfx_task(
                c.evaluate(
                    model=trained.outputs["model"], test_data=trained.outputs["test_data"], min_accuracy=min_accuracy
                ),
                "evaluate",
            )
            with dsl.If(evaluated.outputs["blessed"] == True, name="blessed"):  # noqa: E712 (a pipeline condition)
                kfx_task(
                    c.bless_vertex_model(
                        project=project_id, location=region, vertex_model=trained.outputs["vertex_model"],
                        metrics=evaluated.outputs["metrics"],
                    ),
                    "bless model",
                )

    return pipeline
