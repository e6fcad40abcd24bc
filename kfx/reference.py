"""What the model lookups (``find_model`` locally, ``find_vertex_model`` on Vertex AI, and
``find_scoring_model`` for batch prediction) share: the reference to a model version they write, and
the champion's figures."""

from typing import Any

from kfx.report import Figure

FIGURES = (
    Figure("found", "registered_model.found", cast=bool),
    Figure("model_name", "registered_model.model_name"),
    Figure("version", "registered_model.version"),
    Figure("uri", "registered_model.uri"),
    Figure("reason", "registered_model.reason"),
)
"""The ``champion`` section of the summary."""


def write(artifact: Any, found: dict) -> dict:
    """Writes the reference (``found``, ``model_name``, ``version``, ``uri``, ``reason``…) as the
    artifact's JSON file and metadata; returns it."""
    import json

    with open(artifact.path, "w") as f:
        json.dump(found, f, indent=2)
    artifact.metadata.update(found)
    return found


def describe(where: str, champion: dict) -> list[str]:
    """The console line: the champion ``where`` names (``beans v2``), or why there is none."""
    if champion.get("found"):
        return [f"champion    {where}: {champion['uri']}"]
    return [f"champion    none: {champion.get('reason')}"]
