"""The batch prediction pipeline for Vertex AI: score a BigQuery table with the model's default version.

- kfx ``find_vertex_model`` finds the champion (the blessed ``default`` version) and its
  version folder, which keeps its schema and training statistics;
- kfx ``default_vertex_model`` pins the version the ``default`` alias points at when the
  run starts, with the model's feature columns;
- the table is checked as ``kfx predict`` checks it locally, with the same components:
  ``import_scoring_data`` reads ``bq_source`` (refusing a missing feature or a wrong
  type), ``generate_scoring_statistics`` and ``validate_scoring_statistics`` (the schema,
  in TFDV's SERVING environment without the label, and drift from the training
  statistics), which stops the run on anomalies before anything is predicted;
- GCPC's ``ModelBatchPredictOp`` then runs a Vertex AI batch prediction job on that
  version from ``bq_source`` to ``bq_dest`` (instances and predictions in BigQuery),
  on ``machine_type``, sending only the feature columns, in training order;
- with ``recipients``, the whole DAG runs inside ``dsl.ExitHandler(VertexNotificationEmailOp)``.

Like the train pipeline it is a list of steps that :mod:`kfx.wiring` wires by name,
so each check of the scored table is one line.
Nothing here is cached: the alias moves and the table changes under the same name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from kfx.config import Config
    from kfx.step import Step
    from kfx.wiring import Plan

DESCRIPTION = "Batch prediction on Vertex AI: a BigQuery table scored into BigQuery by the model's default version."


def predict_steps() -> tuple["Step", ...]:
    """The prediction pipeline's steps, in run order (GCPC is imported here, not at module import)."""
    from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp

    from kfx.components import (
        default_vertex_model, find_vertex_model, generate_scoring_statistics, import_scoring_data,
        validate_scoring_statistics,
    )
    from kfx.step import Step, of

    return (
        of(find_vertex_model),
        of(default_vertex_model),
        of(import_scoring_data).use(bind={"source": "bq_source"}, cache=False),  # the table changes under its name
        of(generate_scoring_statistics),
        of(validate_scoring_statistics),
        Step(
            ModelBatchPredictOp,
            bind={
                "project": "project_id", "location": "region", "job_display_name": "prediction_job_name",
                "model": "vertex_model", "included_fields": "feature_columns",
                "instances_format": "prediction_format", "predictions_format": "prediction_format",
                "bigquery_source_input_uri": "bq_source", "bigquery_destination_output_uri": "bq_dest",
            },
            # Each run scores the table as it is now, with the version that is default now.
            cache=False,
            after=(of(validate_scoring_statistics),),  # only a table that passed its checks is scored
        ),
    )


def pipeline_name(config: "Config") -> str:
    """The prediction pipeline's name: ``--pipeline-name``, else ``kfx-<model name>-predict``."""
    return config.pipeline_name or f"kfx-{config.resolved_model_name}-predict"


def predict_plan(config: "Config") -> "Plan":
    """The wiring of :func:`predict_steps`; the config's values are the parameters' defaults."""
    from kfx.vertex.prediction import BIGQUERY_FORMAT
    from kfx.wiring import plan

    derived = {
        "bq_dest": config.bq_dest or f"bq://{config.project_id}",
        "model_name": config.resolved_model_name,
        "prediction_job_name": f"{config.resolved_model_name}-predict",
        "prediction_format": BIGQUERY_FORMAT,
        # Each row goes to model.predict as an array of the included fields, in their order.
        "instance_type": "array",
    }
    return plan(predict_steps(), config, derived)


def build_predict_pipeline(config: "Config") -> Callable:
    """Builds the ``@dsl.pipeline`` function of the batch prediction pipeline.

    Args:
        config: The configuration; checked with ``check_vertex_config`` first.

    Raises:
        ConfigError: If a required vertex option is unset or malformed.
    """
    from kfx.vertex import images
    from kfx.vertex.checks import check_vertex_config
    from kfx.vertex.pipeline import task_hooks
    from kfx.wiring import pipeline_function

    check_vertex_config(config)
    image = images.kfx_image(config)

    configure, around = task_hooks(config, image)
    return pipeline_function(predict_plan(config), pipeline_name(config), DESCRIPTION, configure, around)
