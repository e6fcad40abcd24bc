"""A team's own pipeline for ``kfx run --pipeline``: loaded from a Python file or a compiled YAML,
and its arguments from ``--param NAME=VALUE`` typed as the pipeline declares them."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from kfx.errors import ConfigError

_HOW = "pass FILE.py:FUNCTION (a @dsl.pipeline function) or a compiled FILE.yaml"


def load_pipeline(spec: str) -> Any:
    """The pipeline ``spec`` names: ``FILE.py:FUNCTION``, ``FILE.py`` (its one pipeline) or ``FILE.yaml``.

    Raises:
        ConfigError: If the file does not exist, cannot be imported, or holds no such pipeline.
    """
    path, _, function = spec.partition(":") if not os.path.exists(spec) else (spec, "", "")
    if not os.path.isfile(path):
        raise ConfigError(f"--pipeline {spec!r}: {path!r} does not exist; {_HOW}.")
    if path.endswith((".yaml", ".yml", ".json")):
        from kfp import components

        try:
            pipeline = components.load_component_from_file(path)
        except Exception as err:  # noqa: BLE001 - whatever kfp says, the file is no pipeline
            raise ConfigError(f"--pipeline {spec!r} is not a compiled KFP pipeline ({err}); {_HOW}.") from err
        if not pipeline.component_spec.implementation.graph:
            raise ConfigError(f"--pipeline {spec!r} is a component, not a pipeline; {_HOW}.")
        return pipeline
    if not path.endswith(".py"):
        raise ConfigError(f"--pipeline {spec!r} is neither a .py nor a .yaml file; {_HOW}.")
    module = _import_file(path, spec)
    found = {name: value for name, value in vars(module).items() if _is_pipeline(value)}
    if function:
        if function not in found:
            raise ConfigError(
                f"--pipeline {spec!r}: {path} has no @dsl.pipeline function {function!r} "
                f"(it has: {', '.join(sorted(found)) or 'none'})."
            )
        return found[function]
    if len(found) != 1:
        raise ConfigError(
            f"--pipeline {spec!r}: {path} has {len(found)} @dsl.pipeline functions; name one as "
            f"{path}:FUNCTION ({', '.join(sorted(found)) or 'none'})."
        )
    return next(iter(found.values()))


def _is_pipeline(value: Any) -> bool:
    from kfp.dsl import graph_component

    return isinstance(value, graph_component.GraphComponent)


def _import_file(path: str, spec: str) -> Any:
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)  # the team's own modules beside the file import as they do there
    name = f"kfx_pipeline_{os.path.splitext(os.path.basename(path))[0]}"
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ConfigError(f"--pipeline {spec!r}: {path} cannot be imported as a Python module; {_HOW}.")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[name]
        raise ConfigError(f"--pipeline {spec!r}: importing {path} failed: {type(err).__name__}: {err}.") from err
    return module


_TYPES = {"string": str, "integer": int, "float": float, "boolean": bool, "list": list, "dict": dict}


def pipeline_arguments(pipeline: Any, options: Mapping[str, Any], params: Sequence[str]) -> dict[str, Any]:
    """The arguments of a run of ``pipeline``: each option given on the command line that names one of its
    parameters (``--source``), then each ``--param NAME=VALUE``, typed as the pipeline declares.

    Raises:
        ConfigError: For a ``--param`` without ``=``, of no parameter of the pipeline, or of the wrong type.
    """
    inputs = pipeline.component_spec.inputs or {}
    values = {name: value for name, value in options.items() if name in inputs and value is not None}
    for given in params:
        name, sep, text = given.partition("=")
        if not sep:
            raise ConfigError(f"--param {given!r} has no value; pass NAME=VALUE, such as --param svm_c=3.")
        if name not in inputs:
            raise ConfigError(
                f"--param {given!r}: the pipeline has no parameter {name!r} (it has: {', '.join(sorted(inputs))})."
            )
        values[name] = _typed(name, text, _kind(inputs[name].type))
    return values


def _kind(kfp_type: Any) -> type:
    """The Python type of a kfp parameter type (``Float``, ``Integer``…); text for any other."""
    return _TYPES.get(str(kfp_type).lower(), str)


def _typed(name: str, text: str, kind: type) -> Any:
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind in (list, dict):
            value = json.loads(text)
            if not isinstance(value, kind):
                raise ValueError(text)
            return value
        return kind(text)
    except ValueError:
        raise ConfigError(
            f"--param {name}={text!r} is not a {kind.__name__}, the type of {name!r}; pass one."
        ) from None
