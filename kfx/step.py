"""What a pipeline step is, declared once, next to its component.

Each module of :mod:`kfx.components` holds one component and its :class:`Step`:
the component (its name, inputs and outputs with their kfp types), the lineage
type of each output artifact, and the figures the step reports. Everything that
needs to know about steps reads these declarations instead of naming steps:

- the pipelines (:mod:`kfx.pipeline`, :mod:`kfx.vertex.pipeline`) are lists of
  steps that :mod:`kfx.wiring` turns into a ``@dsl.pipeline`` function, and the
  in-process runner walks the same list;
- the console lines and ``summary.json`` (:mod:`kfx.summary`) come from each
  step's figures; the lineage recorder types artifacts and stores the run's
  figures from them; the lineage queries read the same figures back.

:func:`component` is ``dsl.component`` with kfx's base image and, for every
parameter named like a :class:`~kfx.config.Config` field, Config's default: the
defaults are written once, in Config.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

DATA = "data"
METRIC = "metric"


@dataclass(frozen=True)
class Figure:
    """One value a step reports.

    Attributes:
        key: Its key in the step's ``summary.json`` section; empty: not in the summary.
        ref: Where the value is: ``<output>`` (an output value, or an output artifact's
            URI), ``<output>.<key>`` (a key of an output artifact's metadata) or
            ``input.<name>`` (an input parameter's value).
        name: Its name on the run (``kfx lineage runs`` and ``diff``); empty: summary only.
        kind: ``data`` or ``metric``: where ``kfx lineage diff`` shows it.
        cast: Applied to the value found (stores hand numbers back as floats).
    """

    key: str
    ref: str
    name: str = ""
    kind: str = METRIC
    cast: Optional[Callable[[Any], Any]] = None


_DECLARED: dict[str, "Step"] = {}


@dataclass(frozen=True)
class Step:
    """A pipeline step: a component and what kfx knows about its outputs.

    Attributes:
        component: The kfp component; the step's name is the component's (``import-dataset``).
        types: Lineage type of each output artifact whose kfp type says too little
            (``statistics`` is an ``Artifact`` to kfp, an ``ExampleStatistics`` to kfx).
        section: The ``summary.json`` section the step's figures fill.
        figures: The values the step reports.
        describe: The console lines of the step's summary section, when the run ends.
        checks_data: Its outputs check data (shown with a model's lineage, though
            training does not read them).
        bind: Component input to the pipeline parameter or earlier output it takes,
            where their names differ (inputs are otherwise matched by name).
        after: Steps this one waits for without reading their outputs.
        when: An earlier output value that must be true for the step to run (Vertex
            AI runs conditions; kfp 2.13's local runner cannot).
        cache: An earlier execution's outputs may stand in for this step when nothing it
            depends on changed (:mod:`kfx.cache`); False for a step whose effect outside
            the run folder cannot be checked, so it runs every time.
        outside: Where the step writes outside the run folder, as references like a
            figure's (``pushed_model.uri``: a path in an output's metadata). An earlier
            execution is reused only while what it wrote there is still unchanged.
        image: The derived value or Config field that is the task's container image when
            the pipeline is built (a container component that runs in another image than
            kfx's, such as the serving image); empty: the target sets the image.
        resources: The task's ``cpu`` and ``memory`` limits on Vertex AI (``{"cpu": "8", "memory":
            "32G"}``), from which Vertex AI picks the machine; empty: Vertex AI's default machine.
            kfp.local runs every task as a process of this machine and ignores them.
        retry: The task may run again after a failure when ``Config.retries`` asks for it;
            False for a step whose second attempt could repeat what the first already did
            outside the run (the push uploads a model version before its last calls).
    """

    component: Any
    types: Mapping[str, str] = field(default_factory=dict)
    section: str = ""
    figures: tuple[Figure, ...] = ()
    describe: Optional[Callable[[dict[str, Any]], list[str]]] = None
    checks_data: bool = False
    bind: Mapping[str, str] = field(default_factory=dict)
    after: tuple["Step", ...] = ()
    when: str = ""
    cache: bool = True
    outside: tuple[str, ...] = ()
    image: str = ""
    resources: Mapping[str, str] = field(default_factory=dict)
    retry: bool = True

    def __post_init__(self) -> None:
        # Every declared step is known by name to the summary and the lineage queries.
        _DECLARED.setdefault(self.name, self)

    @property
    def name(self) -> str:
        """The task name kfp gives the step (``import-dataset``)."""
        return self.component.name

    def use(self, **changes: Any) -> "Step":
        """The step changed for one pipeline (``bind``, ``after``, ``when``, ``resources``)."""
        return dataclasses.replace(self, **changes)

    def artifact_type(self, key: str, schema_title: str) -> str:
        """The lineage type of output ``key``: declared, or kfp's own type (``Dataset``, ``HTML``…)."""
        return self.types.get(key) or schema_title.split("@")[0].split(".")[-1]


def resolve(ref: str, outputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> Any:
    """The value ``ref`` (see :class:`Figure`) names among a step's outputs and parameters, or None.

    ``outputs`` holds output values and artifacts: kfp artifacts (``uri``, ``metadata``)
    while a run goes, lineage records (``uri``, ``properties``) when it is read back.
    """
    if ref.startswith("input."):
        return parameters.get(ref[len("input."):])
    key, _, meta = ref.partition(".")
    value = outputs.get(key)
    if value is None or not hasattr(value, "uri"):
        return None if meta else value
    if not meta:
        return value.uri
    properties = getattr(value, "metadata", None)
    if properties is None:
        properties = getattr(value, "properties", {})
    return (properties or {}).get(meta)


def figures(step: Step, outputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[tuple[Figure, Any]]:
    """Each of the step's figures with the value found (None when absent)."""
    found = []
    for figure in step.figures:
        value = resolve(figure.ref, outputs, parameters)
        if value is not None and figure.cast is not None:
            value = figure.cast(value)
        found.append((figure, value))
    return found


def component(func: Optional[Callable] = None, **options: Any) -> Any:
    """``dsl.component`` for kfx: the kfx base image, no kfp install, and Config's defaults.

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
        defaults = {f.name: getattr(Config, f.name) for f in dataclasses.fields(Config) if f.default is not dataclasses.MISSING}
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
            dsl.component(func, **{"base_image": DEFAULT_IMAGE, "install_kfp_package": False, **options}))

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


def of(component: Any) -> Step:
    """The :class:`Step` a kfx component's module declares (``STEP``)."""
    import importlib

    # A container component has no Python function; its module is the pipeline_func's.
    func = getattr(component, "python_func", None) or component.pipeline_func
    return importlib.import_module(func.__module__).STEP


def named(name: str) -> Optional[Step]:
    """The declared step of that name (``import-dataset``…), or None."""
    return next((step for step in declared() if step.name == name), None)


def declared() -> list[Step]:
    """Every step declared so far: kfx's component library (one per module of
    :mod:`kfx.components`, imported here) and any step a user's own module declared."""
    import kfx.components  # noqa: F401 - importing it declares its steps

    return list(_DECLARED.values())
