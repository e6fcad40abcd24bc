"""Component: find the champion in the Vertex AI Model Registry (the blessed default version)."""

from typing import NamedTuple

from kfp.dsl import Artifact, Output

from kfx import reference
from kfx.component import component
from kfx.report import Report


@component
def find_vertex_model(
    project: str,
    location: str,
    registered_model: Output[Artifact],
    model_name: str,
) -> NamedTuple("FindOutputs", [("found", bool)]):  # type: ignore[valid-type]  # kfp reads this call as the outputs
    """Records the champion, ``model_name@default`` when that version is labelled ``kfx_blessed=true``,
    as a reference later steps read: the model a new one is compared with, and whose training
    statistics drift is measured against. None found is not an error; the reference says why.

    Args:
        project: Project of the Model Registry.
        location: Region of the Model Registry.
        registered_model: JSON ``found``, ``model_name``, ``version``, ``uri`` (the version's gs://
            artifact folder) and ``reason``; the same keys in its metadata.
        model_name: Display name of the model in the Model Registry.

    Returns:
        Whether a champion was found.
    """
    from kfx import reference
    from kfx.vertex import registry

    return (reference.write(registered_model, registry.find_champion(project, location, model_name))["found"],)


def _describe(champion: dict) -> list[str]:
    return reference.describe(f"{champion.get('model_name')}@default (version {champion.get('version')})", champion)


REPORT = Report(
    find_vertex_model,
    types={"registered_model": "RegisteredModel"},
    section="champion",
    figures=reference.FIGURES,
    describe=_describe,
)
