"""Component: the registry version a table is scored with; none is an error, unlike find_model's champion."""

from typing import NamedTuple

from kfp.dsl import Artifact, Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def find_scoring_model(
    registry_dir: str,
    model_name: str,
    registered_model: Output[Artifact],
    model_version: str = "latest",
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ScoringModelOutputs", [("version", str)]
):
    """Records the registry version ``model_name@model_version`` as the reference the scoring steps read
    (the same ``registered_model`` as find_model's). find_model's optional training-data input
    is one kfp.local cannot leave unset, and a missing model is no error there; here it fails.

    Args:
        registry_dir: Root folder of the local registry.
        model_name: Name of the model in the registry.
        registered_model: JSON ``found``, ``model_name``, ``version``, ``uri`` (the version folder) and
            ``reason``; the same keys in its metadata.
        model_version: A version number, or ``latest`` (the newest).

    Returns:
        The version number found.
    """
    from kfx import reference, registry

    found = registry.resolve(registry_dir, model_name, model_version, required=True)
    return (reference.write(registered_model, found)["version"],)


def _describe(model: dict) -> list[str]:
    return [f"model       {model['model_name']} v{model['version']}: {model['uri']}"]


REPORT = Report(
    find_scoring_model,
    types={"registered_model": "RegisteredModel"},
    section="scoring_model",
    figures=(
        Figure("model_name", "registered_model.model_name", name="model_name"),
        Figure("version", "registered_model.version", name="model_version"),
        Figure("uri", "registered_model.uri"),
    ),
    describe=_describe,
)
