"""kfx's pipelines without kfp's runner: each task's Python function called in this one process.

The benchmark compares a kfx run with it (:mod:`benchmarks.bench_pipeline`): the same step
functions, the same wiring (read from the compiled spec), no task processes and no runner.
Only kfx's own components can run so: their Python functions are known by name.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any


def run_in_process(pipeline: Any, arguments: Mapping[str, Any], run_dir: str) -> dict[str, dict[str, Any]]:
    """Runs ``pipeline``'s tasks in this process, in run order, each component's Python function called
    with its output artifacts under ``run_dir/<task>/<output>``.

    Args:
        pipeline: A ``@dsl.pipeline`` function of kfx's components.
        arguments: Its arguments by parameter name; the rest keep their defaults.
        run_dir: Where the outputs go.

    Returns:
        Each task's outputs (values and artifacts) by task name.
    """
    from kfp.dsl.types import type_annotations

    from kfx.pipeline_tasks import _run_order
    from kfx.report import declared

    functions = {r.name: r.component.python_func for r in declared() if hasattr(r.component, "python_func")}
    spec = pipeline.pipeline_spec
    given = {**{name: p.default for name, p in (pipeline.component_spec.inputs or {}).items()}, **arguments}
    outputs: dict[str, dict[str, Any]] = {}
    for name in _run_order(spec.root.dag):
        task = spec.root.dag.tasks[name]
        func = functions[task.component_ref.name[len("comp-") :]]
        kwargs: dict[str, Any] = {}
        for key, value in task.inputs.parameters.items():
            if value.HasField("component_input_parameter"):
                kwargs[key] = given[value.component_input_parameter]
            elif value.HasField("task_output_parameter"):
                kwargs[key] = outputs[value.task_output_parameter.producer_task][
                    value.task_output_parameter.output_parameter_key
                ]
            else:
                from google.protobuf import json_format

                kwargs[key] = json_format.MessageToDict(value.runtime_value.constant)
        for key, value in task.inputs.artifacts.items():
            kwargs[key] = outputs[value.task_output_artifact.producer_task][
                value.task_output_artifact.output_artifact_key
            ]
        signature = inspect.signature(func)
        made: dict[str, Any] = {}
        for key, parameter in signature.parameters.items():
            if type_annotations.is_artifact_wrapped_in_Output(parameter.annotation):
                uri = os.path.join(run_dir, name, key)
                os.makedirs(os.path.dirname(uri), exist_ok=True)
                made[key] = type_annotations.get_io_artifact_class(parameter.annotation)(name=key, uri=uri, metadata={})
        result = func(**kwargs, **made)
        # A component returns a plain tuple in the NamedTuple's field order.
        values = dict(zip(getattr(signature.return_annotation, "_fields", ()), result or (), strict=False))
        outputs[name] = {**made, **values}
    return outputs


def beans_in_process(config: Any, run_dir: str) -> dict[str, dict[str, Any]]:
    """The beans pipeline in this process, with ``config``'s values as its arguments (as ``kfx run`` passes them)."""
    from kfx.pipelines import arguments, local_values
    from kfx.pipelines.local_train import beans

    return run_in_process(beans, arguments(beans, local_values(config)), run_dir)
