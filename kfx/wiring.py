"""A list of steps made into a pipeline: the ``@dsl.pipeline`` function, and the same steps in one process.

Inputs are wired by name. A component input takes the latest earlier step's output
of the same name (``train_data``, ``statistics``, ``blessed``…); otherwise it is a
pipeline parameter whose default is the :class:`~kfx.config.Config` field of that
name (or a value the target derives, such as the registry folder). A step's
``bind`` names the output or parameter where the names differ. An input that is
neither keeps the component's own default, or is an error naming the step and
the input.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Mapping, Optional, Sequence

from kfx.step import Step

if TYPE_CHECKING:
    from kfx.config import Config

PARAMETER = "parameter"
OUTPUT = "output"


@dataclass(frozen=True)
class Wire:
    """Where one component input comes from: a pipeline parameter, or an output of an earlier step."""

    input: str
    kind: str
    source: str
    producer: str = ""


@dataclass
class Plan:
    """The wiring of a list of steps.

    Attributes:
        steps: The steps, in run order.
        wires: Each step's inputs, by step name.
        parameters: The pipeline's parameters and their defaults, in order of first use.
        conditions: For a step with ``when``, the step whose output value gates it.
        images: For a step with ``image``, its container image (the value when the pipeline is built).
    """

    steps: Sequence[Step]
    wires: dict[str, list[Wire]]
    parameters: dict[str, Any]
    conditions: dict[str, str]
    images: dict[str, str] = dataclasses.field(default_factory=dict)


def plan(steps: Sequence[Step], config: "Config", values: Optional[Mapping[str, Any]] = None) -> Plan:
    """Wires ``steps`` by name (see the module docstring).

    Args:
        steps: The steps in run order.
        config: Gives the parameters' defaults.
        values: Pipeline parameters the target derives from the config, by name.

    Raises:
        ValueError: If an input is neither an earlier output, a parameter nor optional.
    """
    values = dict(values or {})
    fields = {f.name for f in dataclasses.fields(config)}
    produced: dict[str, str] = {}
    wires: dict[str, list[Wire]] = {}
    parameters: dict[str, Any] = {}
    conditions: dict[str, str] = {}
    images: dict[str, str] = {}
    for step in steps:
        spec = step.component.component_spec
        if step.when:
            if step.when not in produced:
                raise ValueError(f"Step {step.name}: no earlier step outputs {step.when!r}, the value it runs on.")
            conditions[step.name] = produced[step.when]
        wires[step.name] = []
        for name, input_spec in (spec.inputs or {}).items():
            source = step.bind.get(name, name)
            if source in produced:
                wires[step.name].append(Wire(name, OUTPUT, source, produced[source]))
            elif source in values or source in fields:
                parameters.setdefault(source, values[source] if source in values else getattr(config, source))
                wires[step.name].append(Wire(name, PARAMETER, source))
            elif not (input_spec.optional or input_spec.default is not None):
                raise ValueError(
                    f"Step {step.name}: input {name!r} is no earlier step's output and no Config field; "
                    "bind it to one in the step list."
                )
        if step.image:
            if not (step.image in values or step.image in fields):
                raise ValueError(f"Step {step.name}: its image {step.image!r} is no derived value or Config field.")
            images[step.name] = values[step.image] if step.image in values else getattr(config, step.image)
        for name in spec.outputs or {}:
            produced[name] = step.name
    return Plan(steps, wires, parameters, conditions, images)


def _is_kfx(step: Step) -> bool:
    func = getattr(step.component, "python_func", None)
    return func is not None and func.__module__.startswith("kfx.")


def pipeline_function(
    plan: Plan,
    name: str,
    description: str,
    configure: Callable[[Step, Any, bool], Any],
    around: Callable[[], ContextManager] = contextlib.nullcontext,
) -> Callable:
    """The ``@dsl.pipeline`` function of ``plan``: its parameters are ``plan.parameters``.

    Args:
        plan: What :func:`plan` made.
        name: The pipeline's name.
        description: The pipeline's description.
        configure: Called with each step, its task and whether it is a kfx component
            (image, caching); returns the task.
        around: A context the whole DAG runs in (an exit handler on Vertex AI).
    """
    from kfp import dsl

    def pipeline(*args: Any) -> None:
        given = dict(zip(plan.parameters, args))
        tasks: dict[str, Any] = {}
        with around():
            for step in plan.steps:
                arguments = {
                    w.input: given[w.source] if w.kind == PARAMETER else tasks[w.producer].outputs[w.source]
                    for w in plan.wires[step.name]
                }
                condition: ContextManager = contextlib.nullcontext()
                if step.when:
                    gate = tasks[plan.conditions[step.name]].outputs[step.when]
                    condition = dsl.If(gate == True, name=step.when)  # noqa: E712 (a pipeline condition)
                with condition:
                    task = configure(step, step.component(**arguments), _is_kfx(step))
                    if step.name in plan.images:
                        # Fixed when the pipeline is built: a plain image name in the YAML.
                        task.set_container_image(plan.images[step.name])
                for earlier in step.after:
                    task.after(tasks[earlier.name])
                tasks[step.name] = task

    pipeline.__signature__ = inspect.Signature(
        [
            inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v, annotation=type(v))
            for p, v in plan.parameters.items()
        ]
    )
    pipeline.__name__ = name.replace("-", "_")
    return dsl.pipeline(name=name, description=description)(pipeline)


def run_in_process(plan: Plan, run_dir: str) -> dict[str, dict[str, Any]]:
    """Runs the plan's steps in this process, in order, each component's Python function
    called with artifacts under ``run_dir/<step>/<output>``; no kfp runner, no task processes.

    Returns:
        Each step's outputs (values and artifacts) by step name.
    """
    from kfp.dsl.types import type_annotations

    outputs: dict[str, dict[str, Any]] = {}
    for step in plan.steps:
        if step.when and not outputs[plan.conditions[step.name]][step.when]:
            continue
        func = step.component.python_func
        arguments: dict[str, Any] = {
            w.input: plan.parameters[w.source] if w.kind == PARAMETER else outputs[w.producer][w.source]
            for w in plan.wires[step.name]
        }
        made: dict[str, Any] = {}
        signature = inspect.signature(func)
        for name, parameter in signature.parameters.items():
            if type_annotations.is_artifact_wrapped_in_Output(parameter.annotation):
                uri = os.path.join(run_dir, step.name, name)
                os.makedirs(os.path.dirname(uri), exist_ok=True)
                made[name] = type_annotations.get_io_artifact_class(parameter.annotation)(name=name, uri=uri, metadata={})
        result = func(**arguments, **made)
        # A component returns a plain tuple in the NamedTuple's field order.
        values = dict(zip(getattr(signature.return_annotation, "_fields", ()), result or ()))
        outputs[step.name] = {**made, **values}
    return outputs
