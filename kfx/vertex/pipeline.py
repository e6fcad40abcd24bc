"""The beans pipeline for Vertex AI: the same steps as the local target, with cloud edges.

- the whole DAG runs inside ``dsl.ExitHandler(VertexNotificationEmailOp(recipients))``
  when recipients are given (the e-mail task is ``vertex-pipelines-notification-email``);
- GCPC's ``TabularDatasetCreateOp`` makes the Vertex AI dataset from ``bq_source``;
- statistics read ``bq_source`` directly (on Dataflow with ``DataflowRunner``), then
  the same ``infer_schema`` and ``validate_statistics`` components as locally;
- ``find_vertex_model`` looks up the champion, the blessed ``default`` version of the
  model in the Model Registry (it always runs: another run may move the alias);
- ``custom_training_job`` trains the unchanged trainer image on the dataset and uploads
  nothing;
- the same ``evaluate`` component scores the held-out test split; ``push_vertex_model``
  uploads the model with its evaluation, schema and training statistics as a new version,
  the default one only when blessed (an unblessed model never starts a new model, whose
  first version Vertex AI would make the default).

Like the local pipeline, it is a list of steps that :mod:`kfx.wiring` wires by name;
the config's values become the pipeline parameters' defaults, and the kfx image is
set on every kfx task while the pipeline is built.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from kfx.config import Config
    from kfx.step import Step

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


def vertex_steps() -> tuple["Step", ...]:
    """The Vertex AI pipeline's steps, in run order (GCPC is imported here, not at module import)."""
    from google_cloud_pipeline_components.v1.dataset import TabularDatasetCreateOp

    from kfx import components
    from kfx.components import (
        custom_training_job, evaluate, find_vertex_model, generate_statistics_bq, infer_schema, push_vertex_model,
        validate_statistics,
    )
    from kfx.step import Step, of

    return (
        Step(TabularDatasetCreateOp, bind={"project": "project_id", "location": "region", "display_name": "model_name"}),
        # The champion (registered_model), read by the steps that compare with it.
        of(find_vertex_model),
        of(generate_statistics_bq).use(resources=STATISTICS_RESOURCES),
        of(infer_schema),
        of(validate_statistics),
        of(custom_training_job).use(after=(of(validate_statistics),)),  # train only on data that passed validation
        of(components.prepare_serving_check), of(components.check_serving_image),  # loads in the serving image?
        of(evaluate).use(resources=EVALUATE_RESOURCES),
        # Not gated by a condition: an unblessed model is kept as a version that is not the default.
        of(push_vertex_model),
    )


def task_options(task: Any, step: "Step", config: "Config") -> Any:
    """Sets what Vertex AI reads on a task besides its inputs: caching (off for a step declared
    ``cache=False``: the champion lookup, the push that moves the default alias), ``config.retries``
    with exponential backoff (not on a step declared ``retry=False``, the push, whose second attempt
    could upload the same version again), and the step's declared cpu and memory limits."""
    task.set_caching_options(config.enable_caching and step.cache)
    if config.retries and step.retry:
        task.set_retry(config.retries, **RETRY_BACKOFF)
    if step.resources.get("cpu"):
        task.set_cpu_limit(step.resources["cpu"])
    if step.resources.get("memory"):
        task.set_memory_limit(step.resources["memory"])
    return task


def task_hooks(config: "Config", image: str) -> tuple[Callable, Callable]:
    """What both Vertex AI pipelines (train and predict) give :func:`kfx.wiring.pipeline_function`.

    Returns:
        ``configure(step, task, is_kfx)``, which sets the kfx image on kfx's tasks (GCPC's keep
        their own) and :func:`task_options`; and ``around()``, the exit handler that e-mails
        ``config.recipients`` however the run ends (a scheduled run is watched by nobody), or
        no handler without recipients.
    """

    def configure(step: Any, task: Any, is_kfx: bool) -> Any:
        return task_options(task.set_container_image(image) if is_kfx else task, step, config)

    def around() -> Any:
        if not config.recipients:
            return contextlib.nullcontext()
        from google_cloud_pipeline_components.v1.vertex_notification_email import VertexNotificationEmailOp
        from kfp import dsl

        # An e-mail is a side effect of this run: never a cached one.
        return dsl.ExitHandler(VertexNotificationEmailOp(recipients=list(config.recipients)).set_caching_options(False))

    return configure, around


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
    from kfx.vertex import images
    from kfx.wiring import pipeline_function, plan

    image = images.kfx_image(config)
    derived = {
        "bq_dest": config.bq_dest or f"bq://{config.project_id}",
        "dataflow_image": image,
        "training_image": images.trainer_image(config),
        "serving_image": images.serving_image(config.region),
        "model_name": config.resolved_model_name,
    }

    configure, around = task_hooks(config, image)
    return pipeline_function(plan(vertex_steps(), config, derived), config.resolved_pipeline_name, DESCRIPTION, configure, around)
