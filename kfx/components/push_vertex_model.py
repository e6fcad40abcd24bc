"""Component: push the model to the Vertex AI Model Registry, the default version only when blessed."""

from typing import NamedTuple

from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Artifact, ClassificationMetrics, Input, Metrics, Model, Output

from kfx.component import component
from kfx.report import Figure, Report

# GCPC's google.VertexModel output lets GCPC's model ops (batch prediction, deployment) take the
# version; the module loads only kfp, not the aiplatform client.


@component
def push_vertex_model(
    project: str,
    location: str,
    model: Input[Model],
    metrics: Input[Metrics],
    classification_metrics: Input[ClassificationMetrics],
    statistics: Input[Artifact],
    schema: Input[Artifact],
    registered_model: Input[Artifact],
    blessed: bool,
    serving_container_image_uri: str,
    pushed_model: Output[Artifact],
    vertex_model: Output[artifact_types.VertexModel],
    model_name: str,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "PushOutputs", [("pushed", bool), ("version", str)]
):
    """Copies the model, its evaluation, the schema and the training statistics into a version folder
    and uploads it as a new version of ``model_name``: labelled ``kfx_blessed`` and made the default
    (the champion) only when ``blessed``. An unblessed model that would start a new model is not
    uploaded (Vertex AI makes a first version the default); the record says why. The evaluation of
    every uploaded version is imported into the Model Registry.

    Args:
        project: Project of the Model Registry.
        location: Region of the Model Registry.
        model: Output of custom_training_job (gs:// folder).
        metrics: Output of evaluate.
        classification_metrics: Output of evaluate (the confusion matrix).
        statistics: Output of generate_statistics_bq; its training split is kept with the version.
        schema: Output of infer_schema, kept with the version.
        registered_model: The champion evaluate compared with (find_vertex_model's reference).
        blessed: The blessing from evaluate.
        serving_container_image_uri: Prebuilt scikit-learn serving image of the trained series.
        pushed_model: A record of the push (version, folder, default or not, or why not).
        vertex_model: The uploaded version (``resourceName`` ``projects/…/models/ID@VERSION``).
        model_name: Display name of the model in the Model Registry.

    Returns:
        Whether a version was uploaded, and its version id (empty when not).
    """
    import json

    from kfx import storage
    from kfx.vertex import registry

    evaluation = registry.evaluation_record(dict(metrics.metadata), blessed, dict(registered_model.metadata))
    # The version's files go to a folder of this task alone, beside the push record.
    folder = f"{pushed_model.uri.rsplit('/', 1)[0]}/model_version"
    result = registry.push_version(
        project,
        location,
        model_name,
        folder,
        model.uri,
        evaluation,
        dict(classification_metrics.metadata),
        schema.uri,
        statistics.uri,
        serving_container_image_uri,
    )
    # Through the storage client, not the task's /gcs mount: the version folder beside it is written the same way.
    storage.write_text(pushed_model.uri, json.dumps(result, indent=2))
    pushed_model.metadata.update(result)
    if result["pushed"]:
        vertex_model.uri = f"https://{location}-aiplatform.googleapis.com/v1/{result['resource_name']}"
        vertex_model.metadata["resourceName"] = result["resource_name"]
    return (result["pushed"], result["version"])


def _version(value) -> int | None:
    # The record holds Vertex AI's version id, a number written as text; empty when nothing was pushed.
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _describe(push: dict) -> list[str]:
    if not push.get("pushed"):
        return [f"pushed      no: {push.get('reason')}"]
    default = "the default version" if push.get("default") else f"not the default ({push.get('reason')})"
    return [f"pushed      version {push['version']}, {default}: {push['uri']}"]


REPORT = Report(
    push_vertex_model,
    types={"pushed_model": "PushedModel"},
    section="push",
    figures=(
        Figure("pushed", "pushed_model.pushed", cast=bool),
        Figure("version", "pushed_model.version", name="pushed_version", cast=_version),
        Figure("default", "pushed_model.default", cast=bool),
        Figure("uri", "pushed_model.uri"),
        Figure("model", "pushed_model.resource_name"),
        Figure("reason", "pushed_model.reason"),
    ),
    describe=_describe,
)
