"""``@component``: ``dsl.component`` for kfx's own components.

It differs from ``dsl.component`` in three ways, each a choice for kfx's library rather than a
requirement on a team's components (which :mod:`kfx.local` runs as they are):

- the base image is kfx's (:data:`kfx.config.DEFAULT_IMAGE`) and kfp is not installed at task
  start: the image has it;
- parameters named like a :class:`~kfx.config.Config` field and written without a default take
  Config's default, so each default is written once, in Config;
- the task runs kfp's executor through :mod:`kfx.executor`, so a ``KfxError`` raised anywhere in
  the body ends it with one ``kfx-error:`` sentence and its exit code instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, Optional


def component(func: Optional[Callable] = None, **options: Any) -> Any:
    """``dsl.component`` with kfx's base image, Config's defaults and kfx's executor (see the module docstring).

    The trailing parameters named like a :class:`~kfx.config.Config` field and written
    without a default get Config's default, in the component's interface and on the
    Python function alike. kfp copies only the function's source into the task and
    fills every input from the interface, so the source needs none.

    The task runs kfp's executor through :mod:`kfx.executor`: a KfxError raised anywhere in the
    body ends it with the error's one ``kfx-error:`` sentence and exit code, not a traceback.
    """
    from kfp import dsl

    from kfx.config import DEFAULT_IMAGE, Config

    def wrap(func: Callable) -> Any:
        defaults = {
            f.name: getattr(Config, f.name) for f in dataclasses.fields(Config) if f.default is not dataclasses.MISSING
        }
        filled = list(inspect.signature(func).parameters.values())
        # Only the trailing run of parameters can take defaults; earlier ones stay required.
        for index in range(len(filled) - 1, -1, -1):
            parameter = filled[index]
            if parameter.default is parameter.empty:
                if parameter.name not in defaults:
                    break
                filled[index] = parameter.replace(default=defaults[parameter.name])
        func.__defaults__ = tuple(p.default for p in filled if p.default is not p.empty) or None
        return _through_kfx_executor(
            dsl.component(func, **{"base_image": DEFAULT_IMAGE, "install_kfp_package": False, **options})
        )

    return wrap(func) if func is not None else wrap


def _through_kfx_executor(declared: Any) -> Any:
    """The component with its command running kfp's executor through :mod:`kfx.executor`, so a
    KfxError from anywhere in its body ends the task with its one sentence and exit code."""
    from kfx.executor import COMMAND, KFP_EXECUTOR

    container = declared.component_spec.implementation.container
    kfp_command = f"python3 -m {KFP_EXECUTOR}"
    if not any(kfp_command in part for part in container.command):
        # A kfp whose command no longer reads so: the guarantee would silently be lost.
        raise RuntimeError(f"Component {declared.name}: its command does not run {kfp_command!r}; kfx cannot wrap it.")
    container.command = [part.replace(kfp_command, COMMAND) for part in container.command]
    return declared
