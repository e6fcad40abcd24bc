"""Reading lineage from Vertex ML Metadata, so the vertex target answers the same questions.

Vertex AI Pipelines records every run itself: a ``system.PipelineRun`` context
per run, a ``system.ContainerExecution`` per task (parameters in its metadata as
``input:<name>``, output values as ``output:<name>``, the same keys kfx uses
locally) and an artifact per output, typed as the step that made it declares.
:class:`VertexMetadata` reads those through the ``aiplatform`` package's
``MetadataServiceClient`` (google-cloud-aiplatform) and hands back the records
of :mod:`kfx.lineage.model`; it writes nothing.
"""

from __future__ import annotations

from typing import Any, Optional

from kfx.lineage.errors import LineageError
from kfx.lineage.model import INPUT, OUTPUT, ArtifactRecord, EventRecord, ExecutionRecord, Graph, RunRecord

RUN_SCHEMA = "system.PipelineRun"
DAG_SCHEMA = "system.Run"
# A condition or exit handler inside the run: a group of steps, not a step of its own.
SUB_DAG_SCHEMAS = ("system.DagExecution", "system.DAGExecution")
_STATES = {
    "COMPLETE": "complete",
    "FAILED": "failed",
    "RUNNING": "running",
    "NEW": "running",
    "CACHED": "cached",
    "CANCELLED": "failed",
}


def _client(region: str):
    """The Vertex ML Metadata client for ``region`` (the one place kfx talks to the service)."""
    from google.cloud import aiplatform_v1

    return aiplatform_v1.MetadataServiceClient(client_options={"api_endpoint": f"{region}-aiplatform.googleapis.com"})


def _metadata(message: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    return json_format.MessageToDict(type(message).pb(message).metadata)


def _time(value: Any) -> Optional[float]:
    return value.timestamp() if value else None


def _short_type(schema_title: str) -> str:
    return schema_title.split(".", 1)[-1] if schema_title else "Artifact"


def _declared_types(
    artifacts: dict[str, ArtifactRecord], executions: dict[str, ExecutionRecord], events: list[EventRecord]
) -> None:
    """Types each output artifact as the step that made it declares (``ExampleStatistics``…)."""
    import dataclasses

    from kfx.report import report_for as step_named

    for event in events:
        if event.kind == OUTPUT and event.artifact_id in artifacts:
            step = step_named(executions[event.execution_id].step)
            artifact = artifacts[event.artifact_id]
            if step is not None and artifact.output in step.types:
                artifacts[event.artifact_id] = dataclasses.replace(artifact, type=step.types[artifact.output])


class VertexMetadata:
    """Lineage read from Vertex ML Metadata (the ``default`` metadata store of a project and region).

    Args:
        project_id: Google Cloud project.
        region: Region of the Vertex AI pipeline runs.

    Raises:
        LineageError: If no project is given.
    """

    def __init__(self, project_id: str, region: str = "us-central1"):
        if not project_id:
            raise LineageError("Reading Vertex ML Metadata needs a project; pass --project-id (or set project_id).")
        self.parent = f"projects/{project_id}/locations/{region}/metadataStores/default"
        self.client = _client(region)
        self._graphs: dict[str, Graph] = {}
        self._dag_state: dict[str, str] = {}

    # -- runs ------------------------------------------------------------------------------------

    def _run_contexts(self) -> list[Any]:
        request = {"parent": self.parent, "filter": f'schema_title="{RUN_SCHEMA}"'}
        return list(self.client.list_contexts(request=request))

    def runs(self, limit: Optional[int] = None) -> list[RunRecord]:
        """The pipeline runs, newest first (at most ``limit``), with status and key metrics."""
        contexts = sorted(self._run_contexts(), key=lambda c: (_time(c.create_time) or 0, c.name), reverse=True)
        # Status and metrics take one lineage query per run, so only for the runs shown.
        return [self._run_record(c) for c in (contexts[:limit] if limit else contexts)]

    def run(self, run_id: str) -> RunRecord:
        """One run by its pipeline job id.

        Raises:
            LineageError: If Vertex ML Metadata has no run of that id.
        """
        return self._run_record(self._context(run_id))

    def _context(self, run_id: str) -> Any:
        from google.api_core import exceptions

        try:
            context = self.client.get_context(name=f"{self.parent}/contexts/{run_id}")
        except exceptions.NotFound:
            context = None
        if context is None or context.schema_title != RUN_SCHEMA:
            raise LineageError(
                f"No pipeline run {run_id!r} in Vertex ML Metadata ({self.parent}); "
                "`kfx lineage runs --target vertex` lists them."
            )
        return context

    def _run_record(self, context: Any) -> RunRecord:
        from kfx.lineage.figures import figures

        run_id = context.name.rsplit("/", 1)[-1]
        graph = self.run_graph(run_id, context=context)
        steps = list(graph.executions.values())
        failed = next((x for x in steps if x.state == "failed"), None)
        if run_id in self._dag_state:
            status = self._dag_state[run_id]
        elif failed:
            status = "failed"
        else:
            status = "complete" if steps and all(x.state in ("complete", "cached") for x in steps) else "running"
        ends = [x.ended for x in steps if x.ended]
        return RunRecord(
            run_id=run_id,
            pipeline=str(_metadata(context).get("pipeline_name") or context.display_name or ""),
            status="complete" if status == "cached" else status,
            started=_time(context.create_time),
            ended=max(ends) if ends and status in ("complete", "failed", "cached") else None,
            metrics=figures(graph),
            failed_step=failed.step if failed else "",
            error=failed.error if failed else "",
            target="vertex",
            cached_steps=sum(1 for x in steps if x.state == "cached"),
        )

    # -- graphs ----------------------------------------------------------------------------------

    def run_graph(self, run_id: str, context: Any = None) -> Graph:
        """Every artifact, execution and event of one run."""
        if run_id not in self._graphs:
            context = context or self._context(run_id)
            subgraph = self.client.query_context_lineage_subgraph(context=context.name)
            self._graphs[run_id] = self._graph(subgraph, run_id)
        return self._graphs[run_id]

    def upstream(self, artifact_id: str) -> Graph:
        """The artifact and everything it was made from."""
        subgraph = self.client.query_artifact_lineage_subgraph(artifact=artifact_id)
        return self._graph(subgraph, "").upstream_of(artifact_id)

    def find_artifacts(self, ref: str) -> list[ArtifactRecord]:
        """Artifacts whose resource name or URI is ``ref``."""
        if ref.startswith("projects/"):
            from google.api_core import exceptions

            try:
                return [self._artifact(self.client.get_artifact(name=ref), "")]
            except exceptions.NotFound:
                return []
        found = self.client.list_artifacts(request={"parent": self.parent, "filter": f'uri="{ref}"'})
        return [self._artifact(a, "") for a in found]

    def _graph(self, subgraph: Any, run_id: str) -> Graph:
        from google.cloud import aiplatform_v1

        kinds = {aiplatform_v1.Event.Type.INPUT: INPUT, aiplatform_v1.Event.Type.OUTPUT: OUTPUT}
        events = []
        for event in subgraph.events:
            if event.type_ in kinds:
                key = event.labels.get("kfx_key", "") if event.labels else ""
                events.append(EventRecord(event.artifact, event.execution, kinds[event.type_], key))
        artifacts = {a.name: self._artifact(a, run_id) for a in subgraph.artifacts}
        executions = {}
        for execution in subgraph.executions:
            record = self._execution(execution)
            if execution.schema_title == DAG_SCHEMA:
                # The whole pipeline's own execution: its state is the run's, it is not a step.
                self._dag_state[run_id] = record.state
            elif execution.schema_title not in SUB_DAG_SCHEMAS:
                executions[execution.name] = record
        events = [e for e in events if e.execution_id in executions]
        _declared_types(artifacts, executions, events)
        return Graph(artifacts, executions, events)

    @staticmethod
    def _artifact(artifact: Any, run_id: str) -> ArtifactRecord:
        meta = _metadata(artifact)
        # Runs made before the step declarations carry their type as kfx_type metadata.
        kind = str(meta.pop("kfx_type", "") or _short_type(artifact.schema_title))
        properties = {**meta, "output": artifact.display_name}
        if run_id:
            properties["run_id"] = run_id
        return ArtifactRecord(artifact.name, artifact.display_name, kind, artifact.uri, properties)

    @staticmethod
    def _execution(execution: Any) -> ExecutionRecord:
        meta = _metadata(execution)
        state = _STATES.get(execution.state.name, "running")
        return ExecutionRecord(
            id=execution.name,
            name=execution.name,
            step=execution.display_name,
            state=state,
            started=_time(execution.create_time),
            ended=_time(execution.update_time) if state in ("complete", "failed", "cached") else None,
            parameters={k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("input:")},
            outputs={k.split(":", 1)[1]: v for k, v in meta.items() if k.startswith("output:")},
            error=str(meta.get("error", "")),
        )
