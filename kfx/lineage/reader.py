"""The reads of the local lineage store: its runs, a run's graph, what an artifact was made from.

:class:`StoreReader` turns what :class:`~kfx.lineage.store.LineageStore` finds in
ML Metadata into the plain records of :mod:`kfx.lineage.model` (through
:mod:`kfx.lineage.convert`), which is what :mod:`kfx.lineage.queries` works on.
Opening the store, checking its layout marker and writing stay in :mod:`kfx.lineage.store`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from kfx.lineage.convert import event_key, event_kind, execution_record, props_of, run_record
from kfx.lineage.errors import LineageError
from kfx.lineage.layout import CACHE_KEY, EXACT_OUTPUTS, RUN_TYPE, STEP_TYPE
from kfx.lineage.model import INPUT, OUTPUT, ArtifactRecord, EventRecord, ExecutionRecord, Graph, RunRecord
from kfx.lineage.sqlite import with_retry


class StoreReader:
    """The read methods of :class:`~kfx.lineage.store.LineageStore`, on its open ML Metadata store.

    Attributes:
        path: The SQLite file, for error messages.
        mlmd: The open ``MetadataStore``.
    """

    path: str
    mlmd: Any

    def runs(self, limit: Optional[int] = None) -> list[RunRecord]:
        """The runs in the store, newest first (at most ``limit``)."""
        if not self._has_type("context", RUN_TYPE):
            return []
        contexts = with_retry(self.mlmd.get_contexts_by_type, RUN_TYPE, path=self.path)
        runs = sorted((self._run_record(c) for c in contexts), key=lambda r: (r.started or 0, r.run_id), reverse=True)
        return runs[:limit] if limit else runs

    def run(self, run_id: str) -> RunRecord:
        """One run.

        Raises:
            LineageError: If the store holds no run of that id.
        """
        return self._run_record(self._run_context(run_id))

    def _run_record(self, context: Any) -> RunRecord:
        """A run as recorded, except that a ``running`` run whose process is gone is ``abandoned``.

        Decided on every read and not written back: the questions open the store read-only, and
        a process on another host, or one that cannot be checked, leaves the run ``running``.
        """
        from kfx import processes

        record = run_record(context)
        if record.status == "running":
            props = props_of(context)
            if processes.is_gone(props.get("pid"), props.get("host"), props.get("process_started")):
                if _ended_in_summary(record, str(props.get("run_dir") or "")):
                    return record
                record.status = "abandoned"
                executions = with_retry(self.mlmd.get_executions_by_context, context.id, path=self.path)
                running = [x.step for x in map(execution_record, executions) if x.state == "running"]
                record.stopped_step = ", ".join(running)
        return record

    def _run_context(self, run_id: str):
        context = None
        if self._has_type("context", RUN_TYPE):
            context = with_retry(self.mlmd.get_context_by_type_and_name, RUN_TYPE, run_id, path=self.path)
        if context is None:
            raise LineageError(
                f"No run {run_id!r} in lineage store {self.path!r}; `kfx lineage runs` lists the runs it holds."
            )
        return context

    def run_graph(self, run_id: str) -> Graph:
        """The artifacts, executions and events of one run.

        Raises:
            LineageError: If the store holds no run of that id.
        """
        context = self._run_context(run_id)
        executions = with_retry(self.mlmd.get_executions_by_context, context.id, path=self.path)
        artifacts = with_retry(self.mlmd.get_artifacts_by_context, context.id, path=self.path)
        events = with_retry(self.mlmd.get_events_by_execution_ids, [e.id for e in executions], path=self.path)
        return self._graph(artifacts, executions, events)

    def upstream(self, artifact_id: str) -> Graph:
        """The artifact and everything it was made from: executions, their inputs, and so on up."""
        artifact_ids, execution_ids, events = {int(artifact_id)}, set(), []
        frontier = [int(artifact_id)]
        while frontier:
            made = [
                e
                for e in with_retry(self.mlmd.get_events_by_artifact_ids, frontier, path=self.path)
                if event_kind(e) == OUTPUT and e.execution_id not in execution_ids
            ]
            new_executions = {e.execution_id for e in made}
            execution_ids |= new_executions
            frontier = []
            if new_executions:
                step_events = with_retry(self.mlmd.get_events_by_execution_ids, sorted(new_executions), path=self.path)
                for event in step_events:
                    if event_kind(event) == INPUT and event.artifact_id not in artifact_ids:
                        artifact_ids.add(event.artifact_id)
                        frontier.append(event.artifact_id)
                events.extend(step_events)
        artifacts = with_retry(self.mlmd.get_artifacts_by_id, sorted(artifact_ids), path=self.path)
        executions = with_retry(self.mlmd.get_executions_by_id, sorted(execution_ids), path=self.path)
        graph = self._graph(artifacts, executions, [e for e in events if e.artifact_id in artifact_ids])
        return graph.upstream_of(str(artifact_id))

    def artifact(self, artifact_id: str) -> ArtifactRecord:
        """One artifact by id."""
        found = with_retry(self.mlmd.get_artifacts_by_id, [int(artifact_id)], path=self.path)
        if not found:
            raise LineageError(
                f"No artifact with id {artifact_id} in lineage store {self.path!r}; `kfx lineage runs` lists the runs."
            )
        return self._artifact_records(found)[0]

    def find_artifacts(self, ref: str) -> list[ArtifactRecord]:
        """Artifacts whose id, name (``RUN/STEP/OUTPUT``) or URI is ``ref``, oldest first."""
        found = []
        if ref.isdigit():
            found = with_retry(self.mlmd.get_artifacts_by_id, [int(ref)], path=self.path)
        if not found:
            found = self._filter(f"name = {_quote(ref)}")
        if not found:
            uri = (ref if "://" in ref else os.path.abspath(ref)).rstrip("/")
            found = with_retry(self.mlmd.get_artifacts_by_uri, uri, path=self.path)
            # A model copied into the registry is found by the registry path its push recorded.
            found = found or self._filter(f"custom_properties.uri.string_value = {_quote(uri)}")
        return self._artifact_records(sorted(found, key=lambda a: a.id))

    def reusable_executions(
        self,
        cache_key: str,
    ) -> list[tuple[ExecutionRecord, dict[str, ArtifactRecord], dict[str, Any]]]:
        """The executions recorded with ``cache_key`` whose outputs exist: those that ran (state
        complete) newest first, then those that reused another's (cached), newest first. Running,
        failed and interrupted executions are never among them.

        Returns:
            Each execution, its output artifacts by output name, and its exact outputs
            (``values`` and each artifact's ``metadata``, see :data:`~kfx.lineage.layout.EXACT_OUTPUTS`).
        """
        if not self._has_type("execution", STEP_TYPE):
            return []
        from ml_metadata.metadata_store.metadata_store import ListOptions, OrderByField
        from ml_metadata.proto import metadata_store_pb2 as pb

        options = ListOptions(
            filter_query=f"custom_properties.{CACHE_KEY}.string_value = {_quote(cache_key)}",
            order_by=OrderByField.ID,
            is_asc=False,
        )
        found = with_retry(self.mlmd.get_executions, list_options=options, path=self.path)
        found = [x for x in found if EXACT_OUTPUTS in x.custom_properties]
        done = [x for x in found if x.last_known_state == pb.Execution.COMPLETE]
        done += [x for x in found if x.last_known_state == pb.Execution.CACHED]
        if not done:
            return []
        events = with_retry(self.mlmd.get_events_by_execution_ids, [x.id for x in done], path=self.path)
        made = [e for e in events if event_kind(e) == OUTPUT]
        ids = sorted({e.artifact_id for e in made})
        artifacts = {
            a.id: a for a in self._artifact_records(with_retry(self.mlmd.get_artifacts_by_id, ids, path=self.path))
        }
        return [
            (
                execution_record(x),
                {event_key(e): artifacts[str(e.artifact_id)] for e in made if e.execution_id == x.id},
                json.loads(x.custom_properties[EXACT_OUTPUTS].string_value),
            )
            for x in done
        ]

    def _filter(self, query: str) -> list[Any]:
        from ml_metadata.metadata_store.metadata_store import ListOptions

        return with_retry(self.mlmd.get_artifacts, list_options=ListOptions(filter_query=query), path=self.path)

    def _has_type(self, kind: str, name: str) -> bool:
        from ml_metadata import errors

        try:
            with_retry(getattr(self.mlmd, f"get_{kind}_type"), name, path=self.path)
            return True
        except errors.NotFoundError:
            return False

    def _artifact_records(self, artifacts: list[Any]) -> list[ArtifactRecord]:
        type_ids = sorted({a.type_id for a in artifacts})
        names = (
            {t.id: t.name for t in with_retry(self.mlmd.get_artifact_types_by_id, type_ids, path=self.path)}
            if type_ids
            else {}
        )
        return [ArtifactRecord(str(a.id), a.name, names.get(a.type_id, ""), a.uri, props_of(a)) for a in artifacts]

    def _graph(self, artifacts: list[Any], executions: list[Any], events: list[Any]) -> Graph:
        known = {a.id for a in artifacts}
        missing = sorted({e.artifact_id for e in events} - known)
        if missing:
            artifacts = list(artifacts) + list(with_retry(self.mlmd.get_artifacts_by_id, missing, path=self.path))
        return Graph(
            artifacts={a.id: a for a in self._artifact_records(artifacts)},
            executions={str(e.id): execution_record(e) for e in executions},
            events=[
                EventRecord(str(e.artifact_id), str(e.execution_id), event_kind(e), event_key(e))
                for e in events
                if event_kind(e)
            ],
        )


def _quote(text: str) -> str:
    """A string literal for an ML Metadata filter query."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ended_in_summary(record: RunRecord, run_dir: str) -> bool:
    """Fills ``record``'s end from the run folder's ``summary.json`` when the store could not record it
    (its disk was full) but the run did end; without it, a run that failed at one step would read as
    abandoned in another, the last one the store heard of."""
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        return False
    if not isinstance(summary, dict) or summary.get("run_id") != record.run_id or summary.get("status") == "running":
        return False
    record.status = str(summary.get("status") or "")
    record.failed_step = str(summary.get("failed_step") or "")
    record.error = str(summary.get("error") or "")
    record.stopped_step = str(summary.get("stopped_step") or "")
    record.stopped_by = str(summary.get("stopped_by") or "")
    if record.started is not None and summary.get("seconds") is not None:
        record.ended = record.started + float(summary["seconds"])
    return True
