"""What a task reports: for any component, what kfp already gives; for kfx's own, a little more.

kfx's local runner (:mod:`kfx.local`) fills the console lines, ``summary.json`` and the
lineage store from every task's outputs. For a component kfx knows nothing about, that
is what every KFP component already gives (:func:`generic_figures`): its output values,
the numbers its ``Metrics`` artifacts logged, and its artifacts' URIs. A component may
also have a :class:`Report`, found by the component's name (:func:`report_for`): the
lineage types of its artifacts, the figures it reports under which keys, and console
lines of its own. kfx's components each declare one next to the component, in their
module of :mod:`kfx.components`; every reference a report makes is checked when it is
made.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

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


@dataclass(frozen=True)
class Report:
    """What kfx knows about a component's outputs beyond their kfp types: optional for any component.

    A task whose component has no report is reported generically (:func:`generic`): its output
    values, its ``Metrics`` artifacts' numbers and its artifacts' URIs.

    Attributes:
        component: The kfp component; the report is found by the component's name (``import-dataset``).
        types: Lineage type of each output artifact whose kfp type says too little
            (``statistics`` is an ``Artifact`` to kfp, an ``ExampleStatistics`` to kfx).
        section: The ``summary.json`` section the task's figures fill.
        figures: The values the task reports.
        describe: The console lines of the task's summary section, when the run ends.
        checks_data: Its outputs check data (shown with a model's lineage, though
            training does not read them).
        outside: Where the task writes outside the run folder, as references like a
            figure's (``pushed_model.uri``: a path in an output's metadata; only an output's
            metadata key, never an input). An earlier execution is reused only while what it
            wrote there is still unchanged.
    """

    component: Any
    types: Mapping[str, str] = field(default_factory=dict)
    section: str = ""
    figures: tuple[Figure, ...] = ()
    describe: Optional[Callable[[dict[str, Any]], list[str]]] = None
    checks_data: bool = False
    outside: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        outputs = set(self.component.component_spec.outputs or {})
        inputs = set(self.component.component_spec.inputs or {})
        for ref in (*(f.ref for f in self.figures), *self.outside):
            # A reference that names nothing would silently yield None: refused where it is written.
            if ref.startswith("input."):
                known = ref[len("input.") :] in inputs
            else:
                known = ref.partition(".")[0] in outputs
            if not known:
                raise ValueError(f"Report of {self.name}: {ref!r} names no output or input of the component.")
        for ref in self.outside:
            # Only a place an output's metadata names is recorded (``digest:<key>``) and checked before reuse.
            name, _, meta = ref.partition(".")
            if name == "input" or not meta:
                raise ValueError(
                    f"Report of {self.name}: outside {ref!r} names no output's metadata key: "
                    "the only places recorded and checked before a step is reused."
                )
        for key in self.types:
            if key not in outputs:
                raise ValueError(f"Report of {self.name}: type given for {key!r}, which is not an output.")

    @property
    def name(self) -> str:
        """The task name kfp gives the component (``import-dataset``)."""
        return self.component.name

    @property
    def outputs(self) -> frozenset[str]:
        """The component's output names: a task's component is this one only if it has the same."""
        return frozenset(self.component.component_spec.outputs or {})

    def artifact_type(self, key: str, schema_title: str) -> str:
        """The lineage type of output ``key``: declared, or kfp's own type (``Dataset``, ``HTML``…)."""
        return self.types.get(key) or schema_title.split("@")[0].split(".")[-1]


def resolve(ref: str, outputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> Any:
    """The value ``ref`` (see :class:`Figure`) names among a step's outputs and parameters, or None.

    ``outputs`` holds output values and artifacts: kfp artifacts (``uri``, ``metadata``)
    while a run goes, lineage records (``uri``, ``properties``) when it is read back.
    """
    if ref.startswith("input."):
        return parameters.get(ref[len("input.") :])
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


def figures(step: Report, outputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[tuple[Figure, Any]]:
    """Each of the step's figures with the value found (None when absent)."""
    found = []
    for figure in step.figures:
        value = resolve(figure.ref, outputs, parameters)
        if value is not None and figure.cast is not None:
            value = figure.cast(value)
        found.append((figure, value))
    return found


def generic_figures(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """What any task reports without a :class:`Report`: each output value that is a plain scalar,
    each number a ``Metrics`` artifact logged (under its own key), and each artifact's URI."""
    found: dict[str, Any] = {}
    for key, value in outputs.items():
        if not hasattr(value, "uri"):
            if isinstance(value, (bool, int, float, str)):
                found[key] = value
            continue
        found[key] = value.uri
        metadata = getattr(value, "metadata", None)
        if metadata is None:
            metadata = getattr(value, "properties", {})
        if str(getattr(value, "schema_title", getattr(value, "type", ""))).endswith("Metrics"):
            found.update({k: v for k, v in (metadata or {}).items() if isinstance(v, (bool, int, float))})
    return found


def describe_generic(name: str, section: Mapping[str, Any]) -> list[str]:
    """The console lines of a task without a report: its values on one line, its artifacts below."""
    values = [
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in section.items()
        if not (isinstance(v, str) and os.sep in v)
    ]
    paths = [v for v in section.values() if isinstance(v, str) and os.sep in v]
    lines = [f"{name:<11} {', '.join(values) or 'done'}"]
    return lines + [f"{'':<11} {path}" for path in paths]


def declared() -> list[Report]:
    """The reports of kfx's components: each module of :mod:`kfx.components` declares its ``REPORT``."""
    return list(_declared().values())


@functools.lru_cache(maxsize=1)
def _declared() -> dict[str, Report]:
    from kfx import components

    return components.reports()


def report_for(name: str, outputs: Optional[Iterable[str]] = None) -> Optional[Report]:
    """The report of a task: that of the kfx component of its name (kfp names a second task of the
    same component ``train-2``), or None.

    Args:
        name: The task's name.
        outputs: The task component's output names, when known: a team's component that happens to
            share a kfx component's name but not its outputs has no report.
    """
    reports = _declared()
    report = reports.get(name) or reports.get(re.sub(r"-\d+$", "", name))
    if report is not None and outputs is not None and frozenset(outputs) != report.outputs:
        return None
    return report
