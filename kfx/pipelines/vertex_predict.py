"""Batch prediction on Vertex AI, as plain KFP: :func:`vertex_predict_pipeline`.

The table is checked first, as locally: the Model Registry's ``default`` version (the blessed one)
is found, the BigQuery table imported, described with TFDV and validated against that version's
schema, with drift from its training statistics; only a table that passed is scored, by GCPC's
``ModelBatchPredictOp``, into BigQuery.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kfx.config import Config

DESCRIPTION = "Batch prediction on Vertex AI: a BigQuery table scored into BigQuery by the model's default version."


def pipeline_name(config: "Config") -> str:
    """The prediction pipeline's name: ``--pipeline-name``, else ``kfx-<model name>-predict``."""
    return config.pipeline_name or f"kfx-{config.resolved_model_name}-predict"


def vertex_predict_pipeline(config: "Config") -> Callable:
    """The ``@dsl.pipeline`` function of the Vertex AI batch prediction pipeline for ``config``.

    Raises:
        ConfigError: If a required vertex option is unset or malformed (``check_vertex_config``).
    """
    from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp
    from kfp import dsl

    from kfx.components.default_vertex_model import default_vertex_model
    from kfx.components.find_vertex_model import find_vertex_model
    from kfx.components.generate_scoring_statistics import generate_scoring_statistics
    from kfx.components.import_scoring_data import import_scoring_data
    from kfx.components.validate_scoring_statistics import validate_scoring_statistics
    from kfx.pipelines.vertex_train import exit_handler, task_options
    from kfx.vertex import images
    from kfx.vertex.batch_prediction import BIGQUERY_FORMAT
    from kfx.vertex.checks import check_vertex_config

    check_vertex_config(config)
    c = config
    options = task_options(config, images.kfx_image(config))

    @dsl.pipeline(name=pipeline_name(c), description=DESCRIPTION)
    def vertex_predict(
        project_id: str = c.project_id,
        region: str = c.region,
        bq_source: str = c.bq_source,
        bq_dest: str = c.bq_dest or f"bq://{c.project_id}",
        model_name: str = c.resolved_model_name,
        drift_threshold: float = c.drift_threshold,
        fail_on_anomalies: bool = c.fail_on_anomalies,
        machine_type: str = c.machine_type,
        service_account: str = c.service_account,
        prediction_job_name: str = f"{c.resolved_model_name}-predict",
        prediction_format: str = BIGQUERY_FORMAT,
        instance_type: str = "array",  # each row goes to model.predict as an array of the included fields
    ):
        with exit_handler(config):
            # What the table is checked against, and what scores it: both looked up every run.
            champion = options(
                find_vertex_model(project=project_id, location=region, model_name=model_name), cache=False
            ).outputs["registered_model"]
            default = options(
                default_vertex_model(project=project_id, location=region, model_name=model_name), cache=False
            )
            # The table changes under its name: imported every run.
            table = options(import_scoring_data(source=bq_source, registered_model=champion), cache=False)
            stats = options(
                generate_scoring_statistics(scoring_data=table.outputs["scoring_data"], registered_model=champion)
            )
            checked = options(
                validate_scoring_statistics(
                    scoring_statistics=stats.outputs["scoring_statistics"],
                    registered_model=champion,
                    labelled=table.outputs["labelled"],
                    drift_threshold=drift_threshold,
                    fail_on_anomalies=fail_on_anomalies,
                )
            )
            options(
                ModelBatchPredictOp(
                    project=project_id,
                    location=region,
                    job_display_name=prediction_job_name,
                    model=default.outputs["vertex_model"],
                    included_fields=default.outputs["feature_columns"],
                    instances_format=prediction_format,
                    predictions_format=prediction_format,
                    instance_type=instance_type,
                    bigquery_source_input_uri=bq_source,
                    bigquery_destination_output_uri=bq_dest,
                    machine_type=machine_type,
                    service_account=service_account,
                ).after(checked),
                cache=False,
                kfx=False,
            )  # scores the table as it is now, with today's default

    return vertex_predict
