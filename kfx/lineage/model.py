"""The lineage records every backend reads into: runs, artifacts, executions, events.

The local ML Metadata store and Vertex ML Metadata name things differently; both
readers turn what they find into these plain records, so the questions in
:mod:`kfx.lineage.queries` are answered by the same code on either target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

INPUT = "input"
OUTPUT = "output"
SOURCE_TYPE = "DataSource"
"""Type of the artifact that stands for the table a run read."""


@dataclass
class ArtifactRecord:
    """One artifact.

    Attributes:
        id: Store id (a number locally, a resource name on Vertex AI), as text.
        name: ``<run_id>/<step>/<output>`` locally; the display name on Vertex AI.
        type: ``Dataset``, ``ExampleStatistics``, ``Schema``, ``ExampleAnomalies``,
            ``Model``, ``PushedModel``, ``Metrics``, ``ClassificationMetrics``,
            ``HTML``, ``Markdown`` or ``DataSource``.
        uri: Where the artifact's content is.
        properties: Key properties (rows, split, accuracy, blessed, …).
    """

    id: str
    name: str
    type: str
    uri: str
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        """The output name the step gave this artifact (last part of the name)."""
        return str(self.properties.get("output") or self.name.rsplit("/", 1)[-1])


@dataclass
class ExecutionRecord:
    """One step of one run.

    Attributes:
        id: Store id, as text.
        name: ``<run_id>/<step>`` locally; the task's resource name on Vertex AI.
        step: Task name (``import-dataset``, ``train``, …).
        state: ``running``, ``complete``, ``failed``, ``cached``, or ``canceled`` (a stop cut it short).
        started: Start time in seconds since the epoch, if known.
        ended: End time, if known.
        parameters: Input parameter values.
        outputs: Output parameter values (row counts, accuracy, blessed, …).
        error: The step's error sentence, for a failed step.
        cached_from: For a cached step, the execution that made the outputs it reused
            (``<run_id>/<step>`` locally).
    """

    id: str
    name: str
    step: str
    state: str
    started: Optional[float] = None
    ended: Optional[float] = None
    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    cached_from: str = ""

    @property
    def seconds(self) -> Optional[float]:
        """How long the step took, when both times are known."""
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass(frozen=True)
class EventRecord:
    """An edge: ``execution`` read (``input``) or wrote (``output``) ``artifact`` under ``key``."""

    artifact_id: str
    execution_id: str
    kind: str
    key: str


@dataclass
class RunRecord:
    """One pipeline run.

    Attributes:
        run_id: The run id (the local run folder's name, or the Vertex pipeline job id).
        pipeline: Pipeline name.
        status: ``running``, ``complete``, ``failed``, ``interrupted`` (Ctrl-C or SIGTERM stopped
            it), or ``abandoned`` (recorded as running, but its process is gone: killed outright).
        started: Start time in seconds since the epoch, if known.
        ended: End time, if known.
        metrics: Key figures: ``accuracy``, ``macro_f1``, ``blessed``, ``train_rows``, …
        failed_step: The step that failed, for a failed run.
        error: The failed step's sentence.
        lineage_graph: Path of the lineage picture, when one was drawn.
        target: ``local`` or ``vertex``.
        stopped_step: The step an interrupted or abandoned run was running when it stopped.
        stopped_by: The signal that stopped an interrupted run (``SIGINT``, ``SIGTERM``).
        cached_steps: How many of its steps reused an earlier execution's outputs.
    """

    run_id: str
    pipeline: str = ""
    status: str = ""
    started: Optional[float] = None
    ended: Optional[float] = None
    metrics: dict[str, Any] = field(default_factory=dict)
    failed_step: str = ""
    error: str = ""
    lineage_graph: str = ""
    target: str = "local"
    stopped_step: str = ""
    stopped_by: str = ""
    cached_steps: int = 0

    @property
    def seconds(self) -> Optional[float]:
        """How long the run took, when both times are known."""
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass
class Graph:
    """Artifacts and executions joined by events: a run, or what lies upstream of an artifact."""

    artifacts: dict[str, ArtifactRecord] = field(default_factory=dict)
    executions: dict[str, ExecutionRecord] = field(default_factory=dict)
    events: list[EventRecord] = field(default_factory=list)

    def producer(self, artifact_id: str) -> Optional[ExecutionRecord]:
        """The execution that wrote the artifact, if it is in the graph."""
        for event in self.events:
            if event.artifact_id == artifact_id and event.kind == OUTPUT and event.execution_id in self.executions:
                return self.executions[event.execution_id]
        return None

    def inputs_of(self, execution_id: str) -> list[tuple[str, ArtifactRecord]]:
        """The (key, artifact) pairs the execution read."""
        return [
            (e.key, self.artifacts[e.artifact_id])
            for e in self.events
            if e.execution_id == execution_id and e.kind == INPUT and e.artifact_id in self.artifacts
        ]

    def outputs_of(self, execution_id: str) -> list[tuple[str, ArtifactRecord]]:
        """The (key, artifact) pairs the execution wrote."""
        return [
            (e.key, self.artifacts[e.artifact_id])
            for e in self.events
            if e.execution_id == execution_id and e.kind == OUTPUT and e.artifact_id in self.artifacts
        ]

    def step(self, name: str) -> Optional[ExecutionRecord]:
        """The execution of the named step, if the graph holds one."""
        return next((x for x in self.executions.values() if x.step == name), None)

    def of_type(self, type_name: str) -> list[ArtifactRecord]:
        """The artifacts of one type, in id order."""
        return [a for a in self.artifacts.values() if a.type == type_name]

    def upstream_of(self, artifact_id: str) -> Graph:
        """The part of this graph that ``artifact_id`` was made from, the artifact included."""
        keep_artifacts = {artifact_id}
        keep_executions: set[str] = set()
        frontier = [artifact_id]
        while frontier:
            current = frontier.pop()
            for event in self.events:
                if event.artifact_id == current and event.kind == OUTPUT and event.execution_id not in keep_executions:
                    keep_executions.add(event.execution_id)
                    for edge in self.events:
                        if edge.execution_id == event.execution_id and edge.kind == INPUT:
                            if edge.artifact_id not in keep_artifacts:
                                keep_artifacts.add(edge.artifact_id)
                                frontier.append(edge.artifact_id)
        return Graph(
            artifacts={k: v for k, v in self.artifacts.items() if k in keep_artifacts},
            executions={k: v for k, v in self.executions.items() if k in keep_executions},
            events=[e for e in self.events if e.execution_id in keep_executions and e.artifact_id in keep_artifacts],
        )
