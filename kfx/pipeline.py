"""The beans pipeline: the list of its steps, and :func:`build_pipeline` for either target.

The list is the pipeline: :mod:`kfx.wiring` wires each step's inputs by name to an
earlier step's outputs or to a pipeline parameter whose default comes from the
:class:`~kfx.config.Config`. The local target runs it with kfp.local (or in one
process); :mod:`kfx.vertex.pipeline` lists the Vertex AI steps the same way. The
container image is set on every kfx task while the pipeline is built, never at
import time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable

from kfx.components import (
    check_serving, evaluate, find_model, generate_statistics, import_dataset, infer_schema, push_model, train,
    validate_statistics,
)
from kfx.step import of

if TYPE_CHECKING:
    from kfx.config import Config
    from kfx.wiring import Plan

DESCRIPTION = "Beans: import a table, check it with TFDV, train and evaluate a classifier, push when blessed."

STEPS = (
    of(import_dataset),
    of(find_model).use(bind={"table": "train_data"}),  # the champion: the registry's newest version of this model
    of(generate_statistics),
    of(infer_schema),
    of(validate_statistics),
    of(train).use(after=(of(validate_statistics),)),  # train only on data that passed validation
    of(check_serving),
    of(evaluate),  # reads check-serving's verdict, find-model's champion and train's model
    of(push_model),
)
"""The local pipeline's steps, in run order."""


def local_plan(config: "Config") -> "Plan":
    """The wiring of :data:`STEPS` with ``config``'s values as the parameters' defaults."""
    from kfx.wiring import plan

    return plan(STEPS, config, {
        "registry_dir": os.path.abspath(config.resolved_registry_dir), "model_name": config.resolved_model_name,
        "serving_env": os.path.abspath(config.resolved_serving_env),
    })


def build_pipeline(config: "Config") -> Callable:
    """Builds the pipeline function for ``config.target``.

    Args:
        config: The run's configuration.

    Returns:
        A ``@dsl.pipeline`` function; call it under ``kfp.local`` or compile it.
    """
    if config.target == "vertex" and config.pipeline == "predict":
        from kfx.vertex.predict_pipeline import build_predict_pipeline

        return build_predict_pipeline(config)
    if config.pipeline == "predict":
        from kfx.errors import ConfigError

        raise ConfigError("--pipeline predict runs on Vertex AI only; pass --target vertex (or kfx submit --pipeline predict).")
    if config.target == "vertex":
        from kfx.vertex.pipeline import build_vertex_pipeline

        return build_vertex_pipeline(config)
    from kfx.wiring import pipeline_function

    return pipeline_function(local_plan(config), config.resolved_pipeline_name, DESCRIPTION, local_task(config))


def local_task(config: "Config") -> Callable[[Any, Any, bool], Any]:
    """How a local pipeline sets each task: the image and caching options (see :func:`kfx.wiring.pipeline_function`)."""

    def configure(step: Any, task: Any, is_kfx: bool) -> Any:
        # kfp.local runs each task in this Python; the image is a label it keeps. kfp.local ignores
        # caching options (kfx.cache does the caching); the compiled YAML says what the run does.
        return task.set_container_image(config.image).set_caching_options(config.enable_caching and step.cache)

    return configure


def run_in_process(config: "Config", run_dir: str) -> dict[str, dict[str, Any]]:
    """Runs the local pipeline's steps in this one process, writing under ``run_dir``: what the
    pipeline does without kfp's runner and one process per step (the benchmark compares the two).

    Returns:
        Each step's outputs (values and artifacts) by step name.
    """
    from kfx.wiring import run_in_process as run

    return run(local_plan(config), run_dir)


def compile_pipeline(config: "Config", path: str) -> str:
    """Compiles the pipeline for ``config.target`` to KFP IR YAML at ``path``.

    Returns:
        The path written.
    """
    from kfp import compiler

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    compiler.Compiler().compile(build_pipeline(config), package_path=path)
    return path
