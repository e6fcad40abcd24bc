"""kfx's four pipelines, each an ordinary ``@dsl.pipeline`` function, and how a run picks one.

- :func:`kfx.pipelines.local_train.beans`: the beans pipeline on this machine (``kfx run``);
- :func:`kfx.pipelines.local_predict.batch_predict`: batch prediction on this machine (``kfx predict``);
- :func:`kfx.pipelines.vertex_train.vertex_train_pipeline` and
  :func:`kfx.pipelines.vertex_predict.vertex_predict_pipeline`: the same on Vertex AI, built for a
  config (its project's images, e-mail recipients and task options).

A team's own pipeline is run the same way: ``kfx run --pipeline FILE.py:FUNCTION`` (:func:`load`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kfx.config import Config


def local_values(config: Config) -> dict[str, Any]:
    """The arguments of kfx's local pipelines for ``config``: each Config field by name, and the folders
    and names a run derives from it (absolute, so every task reads the same place)."""
    import dataclasses

    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    values.update(
        registry_dir=os.path.abspath(config.resolved_registry_dir),
        model_name=config.resolved_model_name,
        serving_env=os.path.abspath(config.resolved_serving_env),
    )
    return values


def arguments(pipeline: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``values`` that are parameters of ``pipeline``, by name."""
    return {name: values[name] for name in (pipeline.component_spec.inputs or {}) if name in values}


def defaults(pipeline: Any) -> dict[str, Any]:
    """Each parameter of ``pipeline`` with its default, by name."""
    return {name: spec.default for name, spec in (pipeline.component_spec.inputs or {}).items()}


def build_pipeline(config: Config) -> Callable:
    """The ``@dsl.pipeline`` function for ``config.target`` and ``config.pipeline`` (train or predict).

    Raises:
        ConfigError: For ``--pipeline predict`` locally (``kfx predict`` runs it), or a bad vertex option.
    """
    if config.target == "vertex":
        if config.pipeline == "predict":
            from kfx.pipelines.vertex_predict import vertex_predict_pipeline

            return vertex_predict_pipeline(config)
        from kfx.pipelines.vertex_train import vertex_train_pipeline

        return vertex_train_pipeline(config)
    if config.pipeline == "predict":
        from kfx.errors import ConfigError

        raise ConfigError(
            "--pipeline predict runs on Vertex AI only; pass --target vertex (or kfx submit --pipeline predict)."
        )
    from kfx.pipelines.local_train import beans

    return beans


def compile_pipeline(config: Config, path: str) -> str:
    """Compiles the pipeline for ``config`` to KFP IR YAML at ``path``; locally, the config's values are
    the parameters' defaults, as on Vertex AI.

    Returns:
        The path written.
    """
    from kfp import compiler

    pipeline = build_pipeline(config)
    values = arguments(pipeline, local_values(config)) if config.target == "local" else None
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    compiler.Compiler().compile(pipeline, package_path=path, pipeline_parameters=values)
    if config.target == "local":
        _set_image(path, config.image)
    return path


def _set_image(path: str, image: str) -> None:
    """Sets ``image`` on every task of the compiled YAML at ``path`` that runs kfx's base image (the
    local pipeline is defined once, so its image is set where it is compiled for a cluster)."""
    from kfx.config import DEFAULT_IMAGE

    if image == DEFAULT_IMAGE:
        return
    import yaml

    with open(path) as f:
        spec = yaml.safe_load(f)
    for executor in spec["deploymentSpec"]["executors"].values():
        if executor.get("container", {}).get("image") == DEFAULT_IMAGE:
            executor["container"]["image"] = image
    with open(path, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
