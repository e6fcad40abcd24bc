"""The questions lineage answers, the same for the local store and Vertex ML Metadata.

- :meth:`Lineage.runs`: the runs, newest first, with status and key metrics;
- :meth:`Lineage.show`: everything a model or artifact was made from (source,
  splits, statistics, schema, anomalies, the trainer's parameters);
- :meth:`Lineage.diff`: what changed between two runs (parameters, data counts, metrics).

A backend (:class:`~kfx.lineage.store.LineageStore` locally,
:class:`~kfx.lineage.vertex.VertexMetadata` on Vertex AI) turns its store into
the plain records of :mod:`kfx.lineage.model`; everything here works on those.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Protocol

from kfx.lineage.errors import LineageError
from kfx.lineage.figures import figures
from kfx.lineage.model import INPUT, OUTPUT, ArtifactRecord, ExecutionRecord, Graph, RunRecord

if TYPE_CHECKING:
    from kfx.lineage.diff import RunDiff

DATASET_TYPE = "Dataset"
"""kfp's type of a table artifact (``system.Dataset``): the splits a model is made from."""
MODEL_TYPE = "Model"
"""kfp's type of a model artifact (``system.Model``)."""


def _steps():
    from kfx.report import declared

    return declared()


def check_types() -> tuple[str, ...]:
    """Artifact types that check data (the outputs of steps declared ``checks_data``): shown with a
    model although training reads only the splits."""
    return tuple(dict.fromkeys(t for s in _steps() if s.checks_data for t in s.types.values()))


def check_sections() -> list[tuple[str, str, str]]:
    """Each data check's summary section with its output and artifact type (``statistics``,
    ``statistics``, ``ExampleStatistics``…)."""
    return list(dict.fromkeys((s.section, key, t) for s in _steps() if s.checks_data for key, t in s.types.items()))


def check_artifact(graph: Graph, output: str, kind: str) -> Optional[ArtifactRecord]:
    """The graph's check artifact of that output and type, if any: a training run's ``statistics``
    and a prediction run's ``scoring_statistics`` share a type but not a section."""
    found = [a for a in graph.of_type(kind) if a.output == output]
    return found[-1] if found else None


def check_figures(graph: Graph) -> list[tuple[str, ArtifactRecord, dict[str, Any]]]:
    """Each data check in the graph: its section, its artifact, and the figures its step declares
    for that artifact (``{"features": 17, "curated": False}``)."""
    from kfx.report import figures as step_figures

    found = []
    for section, output, kind in check_sections():
        artifact = check_artifact(graph, output, kind)
        if artifact is None:
            continue
        step = next(s for s in _steps() if s.section == section and s.types.get(output) == kind)
        own = [f for f in step.figures if f.key and f.ref.partition(".")[0] == artifact.output and "." in f.ref]
        values = dict(step_figures(dataclasses.replace(step, figures=tuple(own)), {artifact.output: artifact}, {}))
        # An empty value (no champion to measure drift from) is left out, not printed blank.
        found.append((section, artifact, {f.key: v for f, v in values.items() if v not in (None, "", [])}))
    return found


class Backend(Protocol):
    """What a lineage store must answer; see :class:`~kfx.lineage.store.LineageStore`."""

    def runs(self, limit: Optional[int] = None) -> list[RunRecord]: ...

    def run(self, run_id: str) -> RunRecord: ...

    def run_graph(self, run_id: str) -> Graph: ...

    def find_artifacts(self, ref: str) -> list[ArtifactRecord]: ...

    def upstream(self, artifact_id: str) -> Graph: ...


@dataclass
class Upstream:
    """What an artifact was made from.

    Attributes:
        artifact: The artifact asked about.
        run_id: The run that made it, when known.
        graph: The artifact, what it was made from, and the checks run on that data.
    """

    artifact: ArtifactRecord
    run_id: str
    graph: Graph

    @property
    def source_uri(self) -> Optional[str]:
        """The table the data came from."""
        return figures(self.graph).get("source")

    @property
    def splits(self) -> list[ArtifactRecord]:
        """The Dataset artifacts (one per split)."""
        from kfx.splitting import SPLITS

        order = {split: index for index, split in enumerate(SPLITS)}
        return sorted(self.graph.of_type(DATASET_TYPE), key=lambda a: order.get(str(a.properties.get("split")), 9))

    def first(self, type_name: str) -> Optional[ArtifactRecord]:
        """The graph's artifact of one type, if any."""
        found = self.graph.of_type(type_name)
        return found[-1] if found else None

    @property
    def trainer_parameters(self) -> dict[str, Any]:
        """The parameters of the step that made the model (empty when the artifact was not made from one)."""
        model = self.first(MODEL_TYPE)
        trainer = self.graph.producer(model.id) if model is not None else None
        return dict(trainer.parameters) if trainer else {}

    @property
    def steps(self) -> list[ExecutionRecord]:
        """The executions, in the order they started."""
        return sorted(self.graph.executions.values(), key=lambda x: (x.started or 0, x.step))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""

        def art(a: Optional[ArtifactRecord]):
            return (
                None
                if a is None
                else {"id": a.id, "name": a.name, "type": a.type, "uri": a.uri, "properties": a.properties}
            )

        return {
            "artifact": art(self.artifact),
            "run_id": self.run_id,
            "source": self.source_uri,
            "splits": [art(a) for a in self.splits],
            **{section: art(check_artifact(self.graph, output, kind)) for section, output, kind in check_sections()},
            "trainer_parameters": self.trainer_parameters,
            "steps": [
                {
                    "step": x.step,
                    "state": x.state,
                    "seconds": x.seconds,
                    "parameters": x.parameters,
                    "outputs": x.outputs,
                }
                for x in self.steps
            ],
        }


def with_checks(run: Graph, upstream: Graph) -> Graph:
    """Adds to ``upstream`` the statistics, schema and anomalies ``run`` made from its datasets.

    Training reads only the splits (validation gates it by order, not by data), so
    the checks on those splits are not upstream of a model through events; they are
    what a reader of a model's lineage wants to see all the same.
    """
    artifacts = dict(upstream.artifacts)
    executions = dict(upstream.executions)
    events = list(upstream.events)
    checking = check_types()
    frontier = [a for a in artifacts if artifacts[a].type in (DATASET_TYPE, *checking)]
    seen = set(frontier)
    while frontier:
        current = frontier.pop()
        for read in [e for e in run.events if e.artifact_id == current and e.kind == INPUT]:
            made = [e for e in run.events if e.execution_id == read.execution_id and e.kind == OUTPUT]
            checks = [
                e for e in made if e.artifact_id in run.artifacts and run.artifacts[e.artifact_id].type in checking
            ]
            if not checks or read.execution_id not in run.executions:
                continue
            executions[read.execution_id] = run.executions[read.execution_id]
            for edge in run.events:
                if edge.execution_id == read.execution_id and edge.kind == INPUT and edge.artifact_id in artifacts:
                    if edge not in events:
                        events.append(edge)
            for edge in checks:
                artifacts[edge.artifact_id] = run.artifacts[edge.artifact_id]
                if edge not in events:
                    events.append(edge)
                if edge.artifact_id not in seen:
                    seen.add(edge.artifact_id)
                    frontier.append(edge.artifact_id)
    if not any(a.type in checking for a in artifacts.values()):
        # On Vertex AI the checks read the source table itself, not a dataset the model was made
        # from, so no event leads to them; they are the run's checks on that data all the same.
        checked = {k for k, a in run.artifacts.items() if a.type in checking}
        makers = {e.execution_id for e in run.events if e.artifact_id in checked and e.kind == OUTPUT}
        artifacts.update({k: run.artifacts[k] for k in checked})
        executions.update({k: run.executions[k] for k in makers if k in run.executions})
        linked = [e for e in run.events if e.execution_id in executions and e.artifact_id in artifacts]
        events += [e for e in linked if e not in events]
    return Graph(artifacts, executions, events)


class Lineage:
    """The lineage questions over one backend.

    Args:
        backend: A :class:`~kfx.lineage.store.LineageStore` or a
            :class:`~kfx.lineage.vertex.VertexMetadata`.
    """

    def __init__(self, backend: Backend):
        self.backend = backend

    def runs(self, limit: Optional[int] = None) -> list[RunRecord]:
        """The runs, newest first (at most ``limit``)."""
        return self.backend.runs(limit)

    def run_graph(self, run_id: str) -> Graph:
        """Every artifact, execution and event of one run."""
        return self.backend.run_graph(run_id)

    def resolve(self, ref: str) -> ArtifactRecord:
        """The artifact ``ref`` names.

        Args:
            ref: An artifact id, an artifact name (``RUN/STEP/OUTPUT``), an artifact URI,
                a run id (that run's model), or ``latest`` (the model of the newest complete run that made one).

        Raises:
            LineageError: If nothing matches, or the run made no model.
        """
        if ref == "latest":
            runs = self.runs()
            complete = [r for r in runs if r.status == "complete"] or runs
            if not complete:
                raise LineageError("The lineage store holds no runs yet; run `kfx run` first.")
            # The newest model: a prediction run (`kfx predict`) makes none, so it is passed over.
            ref = next(
                (r.run_id for r in complete if self.backend.run_graph(r.run_id).of_type(MODEL_TYPE)), complete[0].run_id
            )
        run = self._run_or_none(ref)
        if run is not None:
            graph = self.backend.run_graph(ref)
            models = graph.of_type(MODEL_TYPE)
            if not models:
                where = (
                    f" (it failed at {run.failed_step})"
                    if run.failed_step
                    else (f" (it was {run.status} during {run.stopped_step})" if run.stopped_step else "")
                )
                made = sorted(graph.artifacts.values(), key=lambda a: a.id)
                example = f"e.g. {made[0].name}, " if made else ""
                raise LineageError(
                    f"Run {ref!r} made no model{where}; pass an artifact of it instead, {example}or another run."
                )
            return models[-1]
        found = self.backend.find_artifacts(ref)
        if not found:
            raise LineageError(
                f"No artifact or run called {ref!r} in the lineage store; pass a run id, an artifact id, "
                "a name such as RUN/STEP/OUTPUT, or an artifact URI (`kfx lineage runs` lists the runs)."
            )
        return found[-1]

    def _run_or_none(self, ref: str) -> Optional[RunRecord]:
        try:
            return self.backend.run(ref)
        except LineageError:
            return None

    def show(self, ref: str) -> Upstream:
        """Everything upstream of a model or artifact (see :meth:`resolve` for ``ref``)."""
        artifact = self.resolve(ref)
        run_id = str(artifact.properties.get("run_id") or "")
        upstream = self.backend.upstream(artifact.id)
        if run_id and self._run_or_none(run_id) is not None:
            upstream = with_checks(self.backend.run_graph(run_id), upstream)
        return Upstream(artifact, run_id, upstream)

    def diff(self, run_a: str, run_b: str) -> RunDiff:
        """What changed from ``run_a`` to ``run_b``: parameters, data counts and metrics."""
        from kfx.lineage.diff import diff_runs

        a, b = self.backend.run(run_a), self.backend.run(run_b)
        return diff_runs(a, b, self.backend.run_graph(run_a), self.backend.run_graph(run_b))

    def draw(self, run_id: str, path: str) -> list[str]:
        """Draws a run's lineage graph into ``path`` (``.png`` also gets an ``.svg`` beside it)."""
        from kfx.lineage import graph

        return graph.draw(self.backend.run_graph(run_id), path, title=f"Lineage of {run_id}")
