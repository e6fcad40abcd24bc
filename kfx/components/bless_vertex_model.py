"""Component: label a blessed model version and make it the default in the Vertex AI Model Registry."""

from typing import NamedTuple

from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Artifact, Input, Metrics, Output

from kfx.step import Step, component


@component
def bless_vertex_model(
    project: str,
    location: str,
    vertex_model: Input[artifact_types.VertexModel],
    metrics: Input[Metrics],
    blessing: Output[Artifact],
) -> NamedTuple("BlessOutputs", [("version", str)]):
    """Sets ``kfx_blessed=true`` (and the accuracy) as labels and the ``default`` alias on the model
    version; the pipeline runs it only when evaluate blessed the model.

    Args:
        project: Project of the model.
        location: Region of the model.
        vertex_model: The model version the training job uploaded.
        metrics: Output of evaluate.
        blessing: A record of what was set.

    Returns:
        The model version made default.
    """
    import json

    from kfx.vertex import registry

    result = registry.bless_model(project, location, vertex_model.metadata["resourceName"], dict(metrics.metadata))
    with open(blessing.path, "w") as f:
        json.dump(result, f, indent=2)
    blessing.metadata.update(**result)
    return (str(result["version"]),)


STEP = Step(
    bless_vertex_model,
    types={"blessing": "ModelBlessing"},
    bind={"project": "project_id", "location": "region"},
    # It moves the registry's "default" alias, which another run may have moved since: a cached
    # blessing would claim a default that no longer holds. It is idempotent and quick, so it always runs.
    cache=False,
)
