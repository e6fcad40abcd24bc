"""The tasks of any KFP pipeline, as kfx's local runner sees them, read from its compiled spec.

kfx's runner needs nothing of a pipeline but what KFP itself compiles: each task's name (as
kfp.local names it: its component's name), its outputs, whether its caching is on
(``task.set_caching_options(False)``), and, for a task whose component is one of kfx's, that
component's :class:`~kfx.report.Report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from kfx.report import Report, report_for


@dataclass(frozen=True)
class PipelineTasks:
    """The tasks of one pipeline.

    Attributes:
        names: Every task that runs a component, by the name kfp.local gives it, parents before children.
        reports: The report of each task whose component is kfx's, by task name.
        uncached: The tasks whose caching the pipeline turned off: they run every time.
    """

    names: tuple[str, ...]
    reports: dict[str, Report]
    uncached: frozenset[str]

    def report(self, name: str) -> Optional[Report]:
        """The task's report, or None (a component kfx knows nothing about)."""
        return self.reports.get(name)


def _local_name(component_ref: str) -> str:
    # kfp.local names a task after its component ("comp-train" -> "train").
    return component_ref[len("comp-") :] if component_ref.startswith("comp-") else component_ref


def tasks_of(pipeline: Any) -> PipelineTasks:
    """The tasks of a ``@dsl.pipeline`` function (or a pipeline loaded from YAML), in run order.

    Tasks inside a condition or an exit handler count too; the group itself does not, nor does an
    importer (``dsl.importer``), which kfp.local resolves without running anything.
    """
    spec = pipeline.pipeline_spec
    executors = spec.deployment_spec["executors"] if "executors" in spec.deployment_spec else {}
    names: list[str] = []
    reports: dict[str, Report] = {}
    uncached: set[str] = set()

    def walk(dag: Any) -> None:
        order = _run_order(dag)
        for task_name in order:
            task = dag.tasks[task_name]
            component = spec.components[task.component_ref.name]
            if component.HasField("dag"):
                walk(component.dag)
                continue
            if component.executor_label in executors and "importer" in executors[component.executor_label]:
                continue  # kfp.local imports the artifact itself: no process, no step of kfx's
            name = _local_name(task.component_ref.name)
            names.append(name)
            outputs = [*component.output_definitions.artifacts, *component.output_definitions.parameters]
            report = report_for(name, outputs)
            if report is not None:
                reports[name] = report
            if not task.caching_options.enable_cache:
                uncached.add(name)

    walk(spec.root.dag)
    return PipelineTasks(tuple(names), reports, frozenset(uncached))


def _run_order(dag: Any) -> list[str]:
    """The DAG's task names with each after the tasks it depends on, otherwise in name order."""
    done: list[str] = []
    pending = sorted(dag.tasks)
    while pending:
        ready = [n for n in pending if all(d in done or d not in dag.tasks for d in dag.tasks[n].dependent_tasks)]
        if not ready:  # a cycle cannot compile; keep the rest in name order
            ready = pending
        done.append(ready[0])
        pending.remove(ready[0])
    return done
