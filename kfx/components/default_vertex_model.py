"""Component: the model's default version in the Vertex AI Model Registry, for batch prediction."""

from typing import NamedTuple

from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def default_vertex_model(
    project: str,
    location: str,
    vertex_model: Output[artifact_types.VertexModel],
    model_name: str,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "DefaultModelOutputs", [("version", str), ("feature_columns", list)]
):
    """Finds the newest model called ``model_name`` and the version its ``default`` alias points at now.

    Args:
        project: Project of the model.
        location: Region of the model.
        vertex_model: That version (``projects/…/models/ID@VERSION``), for GCPC's model ops.
        model_name: The model's display name.

    Returns:
        The version id, and the model's feature columns in training order (the instances it reads).
    """
    from kfx.vertex import batch_prediction as prediction

    found = prediction.default_version(project, location, model_name)
    vertex_model.uri = prediction.api_uri(location, found["resource_name"])
    vertex_model.metadata["resourceName"] = found["resource_name"]
    vertex_model.metadata.update(
        model_name=model_name, version=found["version"], artifact_uri=found["artifact_uri"], blessed=found["blessed"]
    )
    return (found["version"], found["features"])


REPORT = Report(
    default_vertex_model,
    types={"vertex_model": "VertexModel"},
    section="prediction",
    figures=(Figure("model_version", "version"), Figure("model_uri", "vertex_model.artifact_uri")),
)
