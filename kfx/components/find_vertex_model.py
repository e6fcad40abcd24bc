"""Component: find the champion in the Vertex AI Model Registry (the blessed default version)."""

from typing import NamedTuple

from kfp.dsl import Artifact, Output

from kfx.step import Figure, Step, component


@component
def find_vertex_model(
    project: str,
    location: str,
    registered_model: Output[Artifact],
    model_name: str,
) -> NamedTuple("FindOutputs", [("found", bool)]):
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
    import json

    from kfx.vertex import registry

    found = registry.find_champion(project, location, model_name)
    with open(registered_model.path, "w") as f:
        json.dump(found, f, indent=2)
    registered_model.metadata.update(found)
    return (found["found"],)


def _describe(champion: dict) -> list[str]:
    if champion.get("found"):
        return [f"champion    {champion['model_name']}@default (version {champion['version']}): {champion['uri']}"]
    return [f"champion    none: {champion.get('reason')}"]


STEP = Step(
    find_vertex_model,
    types={"registered_model": "RegisteredModel"},
    section="champion",
    figures=(
        Figure("found", "registered_model.found", cast=bool),
        Figure("model_name", "registered_model.model_name"),
        Figure("version", "registered_model.version", name="champion_version"),
        Figure("uri", "registered_model.uri"),
        Figure("reason", "registered_model.reason"),
    ),
    describe=_describe,
    bind={"project": "project_id", "location": "region"},
    # Another run may move the default alias at any time: the lookup runs every time.
    cache=False,
)
