"""The one module of kfx that knows kfp.local's private internals.

kfp's public local API is ``kfp.local.init`` and its runners. What kfx adds around a local run (listeners,
caching, clean stops, the warm process) needs more: it replaces kfp.local's task runner and its subprocess
runner, builds the executor input kfp.local would build, and reads the ``sh -ec`` command a Python component
runs. None of that is public, so it is all here, named in :data:`INTERNALS`, written for :data:`KFP_VERSION`.

A local run calls :func:`check_for_run` before anything starts: on another kfp it warns in one sentence naming
both versions, and where an internal kfx uses is gone or takes other parameters it stops with one sentence
(:class:`KfpLocalMismatch`) instead of an ``AttributeError`` half way through the run.
``tests/test_kfp_local_contract.py`` checks the same internals, and the command's shape, on the kfp installed.

Importing this module imports no kfp; each function imports what it needs.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, Optional, TextIO

from kfx.errors import KfxError

KFP_VERSION = "2.13.0"
"""The kfp whose local runner internals this module was written for (and checked against)."""

INTERNALS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (module of kfp.local, attribute, the parameters kfx passes or reads by name)
    (
        "task_dispatcher",
        "run_single_task_implementation",
        ("pipeline_resource_name", "component_name", "component_spec", "executor_spec", "arguments", "pipeline_root"),
    ),
    ("subprocess_task_handler", "run_local_subprocess", ("full_command",)),
    ("subprocess_task_handler", "SubprocessTaskHandler.run", ()),
    ("executor_input_utils", "get_local_task_resource_name", ("component_name",)),
    (
        "executor_input_utils",
        "construct_local_task_root",
        ("pipeline_root", "pipeline_resource_name", "task_resource_name"),
    ),
    (
        "executor_input_utils",
        "construct_executor_input",
        ("component_spec", "arguments", "task_root", "block_input_artifact"),
    ),
    ("executor_output_utils", "artifact_list_to_dsl_artifact", ("artifact_list", "is_artifact_list")),
    ("status", "Status.SUCCESS", ()),
    ("status", "Status.FAILURE", ()),
)
"""Every private part of kfp.local kfx uses. A task runner's keyword arguments are the parameters of
``run_single_task_implementation``; kfx reads those named here (and passes all of them on)."""

_SCRIPT = re.compile(
    r'program_path=\$\(mktemp -d\)\s+printf "%s" "\$0" > "\$program_path/ephemeral_component\.py"\s+'
    r"_KFP_RUNTIME=true (?P<python>.+?) (?P<modules>-m \S+(?: -m \S+)*)\s+--component_module_path\s+"
    r'"\$program_path/ephemeral_component\.py"\s+"\$@"\s*'
)
"""The script of a Python component's command, ``sh -ec SCRIPT SOURCE ARGS…``, as kfp 2.13 writes it
(with ``python3``, or this Python's path once kfp.local has replaced it)."""


class KfpLocalMismatch(KfxError):
    """The installed kfp lacks a part of kfp.local that kfx's local runner uses."""


def installed_version() -> str:
    """The version of the kfp this Python imports."""
    import kfp

    return str(getattr(kfp, "__version__", "unknown"))


def version_warning() -> Optional[str]:
    """One sentence naming both versions when the installed kfp is not :data:`KFP_VERSION`, else None."""
    from kfx import __version__

    installed = installed_version()
    if installed == KFP_VERSION:
        return None
    return (
        f"kfx {__version__}'s local runner was written for kfp {KFP_VERSION}, and this Python has kfp "
        f"{installed}; if a local run misbehaves, install kfp=={KFP_VERSION}."
    )


def _lookup(module_name: str, attribute: str) -> Any:
    import importlib

    found: Any = importlib.import_module(f"kfp.local.{module_name}")
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def missing() -> Optional[str]:
    """The first internal of :data:`INTERNALS` the installed kfp lacks (``module.attribute``, or
    ``module.attribute's parameter NAME``), or None when kfp has them all."""
    for module_name, attribute, parameters in INTERNALS:
        where = f"{module_name}.{attribute}"
        try:
            found = _lookup(module_name, attribute)
        except (ImportError, AttributeError):
            return where
        if parameters:
            try:
                # Follows __wrapped__: a replacement kfx (or a test) made stands for the function it wraps.
                taken = inspect.signature(found).parameters.values()
            except (TypeError, ValueError):
                return where
            if any(p.kind is p.VAR_KEYWORD for p in taken):
                continue  # a replacement that passes every keyword on takes them all
            for name in parameters:
                if name not in {p.name for p in taken}:
                    return f"{where}'s parameter {name}"
    return None


def check() -> None:
    """Checks that the installed kfp has every internal kfx's local runner uses.

    Raises:
        KfpLocalMismatch: Naming kfx's version, kfp's, the first missing internal and the fix.
    """
    lacking = missing()
    if lacking is not None:
        from kfx import __version__

        major_minor = ".".join(KFP_VERSION.split(".")[:2])
        raise KfpLocalMismatch(
            f"kfx {__version__} needs kfp {major_minor}'s local runner internals; kfp {installed_version()} "
            f"lacks {lacking}; install kfp=={KFP_VERSION}."
        )


def check_for_run(err: Optional[TextIO] = None) -> None:
    """What a local run does before it starts: :func:`check`, then the :func:`version_warning` line
    (``kfx: warning: …``) on ``err`` (stderr by default) when kfp is another version.

    Raises:
        KfpLocalMismatch: See :func:`check`.
    """
    check()
    warning = version_warning()
    if warning is not None:
        print(f"kfx: warning: {warning}", file=err or sys.stderr, flush=True)


# -- replacing kfp.local's runners -----------------------------------------------------------------


@contextlib.contextmanager
def _replaced(module_name: str, attribute: str, make: Callable[[Any], Any]) -> Iterator[None]:
    """Sets ``kfp.local.<module>.<attribute>`` to ``make(current)`` while open, then puts back what it was.

    The current one is read when the context opens, so replacements nest (and a test's own
    replacement, made before, is the one kfx's wraps)."""
    check()
    import importlib

    module = importlib.import_module(f"kfp.local.{module_name}")
    current = getattr(module, attribute)
    setattr(module, attribute, functools.wraps(current)(make(current)))
    try:
        yield
    finally:
        setattr(module, attribute, current)


def replace_task_runner(runner: Callable[..., tuple[dict[str, Any], Any]]):
    """While open, kfp.local runs each pipeline task through ``runner(run, **task)``.

    ``task`` holds the keyword arguments kfp.local's task runner takes (read them with
    :func:`task_name`, :func:`task_root`; ``arguments``, ``component_spec`` and ``executor_spec``
    are the task's inputs and declaration), and ``run(**task)`` is the runner in place before
    (kfp's own, or an outer replacement). Both return ``(outputs, status)``, status
    :data:`SUCCESS` or :data:`FAILURE`.

    Raises:
        KfpLocalMismatch: If the installed kfp lacks an internal kfx uses (:func:`check`).
    """
    return _replaced(
        "task_dispatcher", "run_single_task_implementation", lambda run: lambda **task: runner(run, **task)
    )


def replace_subprocess_runner(runner: Callable[[list[str]], int]):
    """While open, kfp.local starts each task's process with ``runner(full_command)``, which
    returns the exit status; the command is a :func:`python_command_parts` one for a Python component.

    Raises:
        KfpLocalMismatch: If the installed kfp lacks an internal kfx uses (:func:`check`).
    """
    return _replaced(
        "subprocess_task_handler", "run_local_subprocess", lambda _: lambda full_command: runner(full_command)
    )


def task_name(task: Mapping[str, Any]) -> str:
    """The task's name (``train``…) from the keyword arguments of kfp.local's task runner."""
    from kfp.local import executor_input_utils

    return executor_input_utils.get_local_task_resource_name(task["component_name"])


def task_root(task: Mapping[str, Any]) -> str:
    """The folder kfp.local gives the task: ``<pipeline root>/<pipeline job>/<task name>``."""
    from kfp.local import executor_input_utils

    return executor_input_utils.construct_local_task_root(
        pipeline_root=task["pipeline_root"],
        pipeline_resource_name=task["pipeline_resource_name"],
        task_resource_name=task_name(task),
    )


def __getattr__(name: str) -> Any:
    # SUCCESS and FAILURE are kfp.local's task statuses; read lazily so importing kfx imports no kfp.
    if name in ("SUCCESS", "FAILURE"):
        from kfp.local import status

        return getattr(status.Status, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- executor input and output, as kfp.local builds them ----------------------------------------------


def output_artifacts(component_spec: Any, arguments: Mapping[str, Any], root: str) -> dict[str, Any]:
    """The output artifacts kfp.local would hand a task whose folder is ``root``: name -> the
    ``pipeline_spec`` ``ArtifactList`` whose one artifact has the URI the task would write."""
    from kfp.local import executor_input_utils

    executor_input = executor_input_utils.construct_executor_input(
        component_spec=component_spec,
        arguments=dict(arguments),
        task_root=root,
        block_input_artifact=False,
    )
    return dict(executor_input.outputs.artifacts.items())


def dsl_artifact(artifact_list: Any) -> Any:
    """The ``dsl.Artifact`` kfp.local hands on for one output ``ArtifactList`` (of one artifact)."""
    from kfp.local import executor_output_utils

    return executor_output_utils.artifact_list_to_dsl_artifact(artifact_list, is_artifact_list=False)


# -- the command of a Python component ---------------------------------------------------------------


class PythonCommand(NamedTuple):
    """What kfp's ``sh -ec`` command for a Python component runs.

    Attributes:
        source: The component's source, which the script writes to ``ephemeral_component.py``.
        arguments: The executor's arguments after ``--component_module_path FILE``.
        modules: What ``python`` runs before them: ``("kfp.dsl.executor_main",)``, or for a kfx
            component ``("kfx.executor", "kfp.dsl.executor_main")`` (``-m kfx.executor -m …``).
    """

    source: str
    arguments: list[str]
    modules: tuple[str, ...]


def python_command_parts(full_command: list[str]) -> Optional[PythonCommand]:
    """The parts of kfp's command for a Python component, ``sh -ec SCRIPT SOURCE ARGS…``, or None for
    any other command (a container component's, or one of a kfp that writes the script otherwise)."""
    if len(full_command) < 4 or full_command[:2] != ["sh", "-ec"]:
        return None
    match = _SCRIPT.fullmatch(full_command[2])
    if match is None:
        return None
    modules = tuple(match["modules"].split()[1::2])
    return PythonCommand(full_command[3], list(full_command[4:]), modules)


def without_absent_optional_inputs(task: dict[str, Any]) -> dict[str, Any]:
    """The task without the optional input artifacts its pipeline did not pass (``champion=None``):
    kfp 2.13's local runner requires every input artifact, while kfp's executor hands the component
    None for one that is absent, as Vertex AI does."""
    spec = task["component_spec"]
    absent = [
        name
        for name, artifact in spec.input_definitions.artifacts.items()
        if artifact.is_optional and name not in task["arguments"]
    ]
    if not absent:
        return task
    trimmed = type(spec)()
    trimmed.CopyFrom(spec)
    for name in absent:
        del trimmed.input_definitions.artifacts[name]
    return {**task, "component_spec": trimmed}
