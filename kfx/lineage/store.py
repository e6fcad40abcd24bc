"""The local lineage store: ML Metadata (``ml_metadata``) on one SQLite file.

What kfx writes there:

- a ``kfx.LineageStore`` context named ``kfx-lineage`` whose ``schema_version``
  says which layout this is, so a store from an older kfx is refused instead of
  misread or rewritten;
- a ``kfx.Pipeline`` context per pipeline and a ``kfx.PipelineRun`` context per
  run (its child), with the run's status, timing and key metrics;
- a ``kfx.Step`` execution per task (parameters as ``input:<name>``, output values
  as ``output:<name>``), an artifact per output artifact typed by its
  ``kfx_type``, and INPUT / OUTPUT events between them.

SQLite lets one writer in at a time; a second process that finds the file locked
waits (ml-metadata itself retries for about 18 s) and then tries again
(:func:`with_retry`, up to ``BUSY_SECONDS``) instead of failing the run. Nothing
here ever deletes, migrates or replaces a store: a store kfx cannot use is
reported in one sentence and left as it is.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from typing import Any, Callable, Iterable, Optional, TypeVar

from kfx.lineage.errors import LineageError, StoreBusy
from kfx.lineage.model import INPUT, OUTPUT, ArtifactRecord, EventRecord, ExecutionRecord, Graph, RunRecord

STORE_SCHEMA_VERSION = 1
"""Layout of what kfx writes into the store; raise it when that layout changes."""

MARKER_TYPE = "kfx.LineageStore"
MARKER_NAME = "kfx-lineage"
PIPELINE_TYPE = "kfx.Pipeline"
RUN_TYPE = "kfx.PipelineRun"
STEP_TYPE = "kfx.Step"
SOURCE_TYPE = "DataSource"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_SECONDS = 120.0
"""How long a writer waits for a store another process holds locked."""

T = TypeVar("T")

_STATES = {"running": "RUNNING", "complete": "COMPLETE", "failed": "FAILED", "cached": "CACHED"}


_FIX = "move it aside or pass --metadata-path with a new file (kfx never overwrites a store)"


def check_store_file(path: str, create: bool) -> bool:
    """Checks, without changing it, that ``path`` can hold a kfx lineage store.

    Args:
        path: The SQLite file.
        create: Whether a missing file may be created (recording) or not (reading).

    Returns:
        Whether the file already holds data.

    Raises:
        LineageError: For a missing store when reading, a folder, a file that is not a
            database, or an SQLite database that is not an ML Metadata store.
    """
    if os.path.isdir(path):
        raise LineageError(f"Lineage store {path!r} is a folder; pass --metadata-path with a file name such as metadata.sqlite.")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        if create:
            return False
        if os.path.exists(path):
            raise LineageError(f"Lineage store {path!r} is empty; run `kfx run` to record a run into it first.")
        raise LineageError(
            f"No lineage store at {path!r}; run `kfx run` first (it records lineage unless --no-record-lineage) "
            "or pass --metadata-path / --runs-dir where the store is."
        )
    with open(path, "rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise LineageError(f"Lineage store {path!r} is not a database; {_FIX}.")
    try:
        # Read-only and with a busy timeout: this check must not change or block on the file.
        # It runs before ML Metadata opens the file and holds no lock afterwards, which matters
        # because two SQLite libraries in one process do not see each other's file locks.
        with contextlib_closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_SECONDS)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:
        raise LineageError(f"Lineage store {path!r} cannot be read as a database ({err}); {_FIX}.") from None
    if tables and "MLMDEnv" not in tables:
        raise LineageError(f"Lineage store {path!r} is an SQLite database but not an ML Metadata store; {_FIX}.")
    return bool(tables)


def contextlib_closing(db: sqlite3.Connection):
    """Closes the connection on exit (``sqlite3``'s own context manager only commits)."""
    import contextlib

    return contextlib.closing(db)


def _is_busy(err: Exception) -> bool:
    """Whether an error means another writer holds the file, so trying again later can succeed."""
    from ml_metadata import errors

    text = str(err).lower()
    # ml-metadata waits and retries on a locked SQLite file itself (about 18 s), then gives up
    # with AbortedError "Concurrent writes aborted after max number of retries".
    return isinstance(err, errors.AbortedError) or "locked" in text or "busy" in text


def with_retry(call: Callable[..., T], *args: Any, path: str = "", **kwargs: Any) -> T:
    """Calls an ML Metadata operation, waiting and trying again while another process holds the file.

    Args:
        call: The operation.
        *args: Its arguments.
        path: The store, for the error message.
        **kwargs: Its keyword arguments.

    Returns:
        What the operation returns.

    Raises:
        StoreBusy: If the store stayed locked for ``BUSY_SECONDS``.
    """
    from ml_metadata import errors

    deadline = time.monotonic() + BUSY_SECONDS
    delay = 0.02
    while True:
        try:
            return call(*args, **kwargs)
        except errors.StatusError as err:
            if not _is_busy(err):
                raise
            if time.monotonic() > deadline:
                raise StoreBusy(
                    f"Lineage store {path!r} stayed locked by another process for {BUSY_SECONDS:.0f} s; "
                    "try again when the other run has finished."
                ) from None
            # Jitter keeps two waiting writers from retrying in lockstep.
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)


def to_value(value: Any, target: Any) -> bool:
    """Writes a Python value into an ML Metadata ``Value``; returns False for ``None``."""
    if value is None:
        return False
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    else:
        # Lists and dicts: the same "__value__" wrapping TFX uses for JSON values.
        target.struct_value.update({"__value__": json.loads(json.dumps(value, default=str))})
    return True


def from_value(value: Any) -> Any:
    """Reads an ML Metadata ``Value`` back into a Python value."""
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        from google.protobuf import json_format

        data = json_format.MessageToDict(value.struct_value)
        return data.get("__value__", data) if isinstance(data, dict) else data
    return getattr(value, kind) if kind else None


def _props(message: Any) -> dict[str, Any]:
    values = {k: from_value(v) for k, v in message.properties.items()}
    values.update({k: from_value(v) for k, v in message.custom_properties.items()})
    return values


def _set_props(message: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        to_value(value, message.custom_properties[key])


class LineageStore:
    """A kfx lineage store in one SQLite file.

    Args:
        path: The SQLite file.
        create: Create the file and the kfx layout if missing (recording); when
            False (reading) the file is opened read-only and must exist.

    Raises:
        LineageError: If the store is missing (reading), not a database, not an ML
            Metadata store, or written by another kfx or ml-metadata version.
    """

    def __init__(self, path: str, create: bool = False):
        self.path = os.path.abspath(path)
        self.writable = create
        has_data = check_store_file(self.path, create)
        if create:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.mlmd = self._connect(create)
        self._types: dict[str, int] = {}
        self.version = self._check_marker(create, has_data)

    # -- opening ---------------------------------------------------------------------------------

    def _connect(self, create: bool):
        from ml_metadata import errors
        from ml_metadata.metadata_store import metadata_store
        from ml_metadata.proto import metadata_store_pb2

        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = self.path
        mode = metadata_store_pb2.SqliteMetadataSourceConfig
        config.sqlite.connection_mode = mode.READWRITE_OPENCREATE if create else mode.READONLY
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                # enable_upgrade_migration stays False: a store from another ml-metadata
                # version is reported, never migrated in place.
                return metadata_store.MetadataStore(config, enable_upgrade_migration=False)
            except (errors.StatusError, RuntimeError) as err:
                text = str(err).lower()
                if "version" in text and ("older" in text or "newer" in text or "migration" in text):
                    raise LineageError(
                        f"Lineage store {self.path!r} was written by another ml-metadata version "
                        f"({_short(err).split('. ')[0]}); {_FIX}."
                    ) from None
                # Two first runs may create the tables at once: the one that loses sees them
                # locked or half-made, and succeeds on a later try.
                if not (_is_busy(err) or "exist" in text) or time.monotonic() > deadline:
                    raise LineageError(f"Lineage store {self.path!r} cannot be opened ({_short(err)}); {_FIX}.") from None
                time.sleep(0.05 + 0.1 * random.random())

    def _check_marker(self, create: bool, has_data: bool) -> int:
        from ml_metadata import errors

        marker = self._marker()
        if marker is not None:
            version = int(_props(marker).get("schema_version", 0))
            if version < STORE_SCHEMA_VERSION:
                raise LineageError(
                    f"Lineage store {self.path!r} was written by an older kfx version (store layout {version}, "
                    f"this kfx uses {STORE_SCHEMA_VERSION}); {_FIX}."
                )
            if version > STORE_SCHEMA_VERSION:
                raise LineageError(
                    f"Lineage store {self.path!r} was written by a newer kfx version (store layout {version}, "
                    f"this kfx reads {STORE_SCHEMA_VERSION}); upgrade kfx or pass --metadata-path with another store."
                )
            return version
        names = {t.name for t in with_retry(self.mlmd.get_context_types, path=self.path)}
        names |= {t.name for t in with_retry(self.mlmd.get_execution_types, path=self.path)}
        if any(n.startswith("kfx.") for n in names - {MARKER_TYPE}):
            raise LineageError(
                f"Lineage store {self.path!r} was written by an older kfx version (no store layout marker); "
                f"{_FIX}."
            )
        if names - {MARKER_TYPE} or with_retry(self.mlmd.get_artifact_types, path=self.path):
            raise LineageError(f"Lineage store {self.path!r} is an ML Metadata store that kfx did not write; {_FIX}.")
        if not create:
            return STORE_SCHEMA_VERSION  # an empty store: it holds no runs yet
        from kfx import __version__
        from ml_metadata.proto import metadata_store_pb2 as pb

        context = pb.Context(type_id=self._type("context", MARKER_TYPE), name=MARKER_NAME)
        _set_props(context, {"schema_version": STORE_SCHEMA_VERSION, "kfx_version": __version__})
        try:
            with_retry(self.mlmd.put_contexts, [context], path=self.path)
        except errors.AlreadyExistsError:
            pass  # another first run wrote the same marker a moment ago
        return STORE_SCHEMA_VERSION

    def _marker(self):
        from ml_metadata import errors

        try:
            with_retry(self.mlmd.get_context_type, MARKER_TYPE, path=self.path)
        except errors.NotFoundError:
            return None
        return with_retry(self.mlmd.get_context_by_type_and_name, MARKER_TYPE, MARKER_NAME, path=self.path)

    def _type(self, kind: str, name: str) -> int:
        """The id of an artifact / execution / context type, created on first use."""
        key = f"{kind}:{name}"
        if key not in self._types:
            from ml_metadata.proto import metadata_store_pb2 as pb

            message = {"artifact": pb.ArtifactType, "execution": pb.ExecutionType, "context": pb.ContextType}[kind](name=name)
            put = getattr(self.mlmd, f"put_{kind}_type")
            # Types carry no declared properties (everything is a custom property), so any kfx
            # writing this layout agrees on them and concurrent creation returns the same id.
            self._types[key] = with_retry(put, message, path=self.path)
        return self._types[key]

    # -- writing ---------------------------------------------------------------------------------

    def put_run_context(self, run_id: str, pipeline: str, properties: dict[str, Any]) -> tuple[Any, Any]:
        """Creates (or updates) the pipeline and run contexts of a run.

        Args:
            run_id: The run id (the run context's name).
            pipeline: The pipeline name (the pipeline context's name).
            properties: The run's properties (status, started, …), merged into what is stored.

        Returns:
            The pipeline and run contexts, with ids.
        """
        from ml_metadata.proto import metadata_store_pb2 as pb

        pipeline_type = self._type("context", PIPELINE_TYPE)
        run_type = self._type("context", RUN_TYPE)

        def write():
            found = self.mlmd.get_context_by_type_and_name(PIPELINE_TYPE, pipeline)
            if found is None:
                [pid] = self.mlmd.put_contexts([pb.Context(type_id=pipeline_type, name=pipeline)])
                found = self.mlmd.get_contexts_by_id([pid])[0]
            run = self.mlmd.get_context_by_type_and_name(RUN_TYPE, run_id)
            new = run is None
            if new:
                run = pb.Context(type_id=run_type, name=run_id)
            _set_props(run, {"pipeline": pipeline, **properties})
            [rid] = self.mlmd.put_contexts([run])
            run = self.mlmd.get_contexts_by_id([rid])[0]
            if new:
                self.mlmd.put_parent_contexts([pb.ParentContext(child_id=rid, parent_id=found.id)])
            return found, run

        return self._write(write)

    def _write(self, write: Callable[[], T]) -> T:
        """Runs a multi-call write, trying it again from the start when it meets another writer."""
        from ml_metadata import errors

        for attempt in range(20):
            try:
                return with_retry(write, path=self.path)
            except errors.AlreadyExistsError:
                # A concurrent writer created the same pipeline context or source first; the
                # next attempt finds and reuses it.
                time.sleep(0.02 * (attempt + 1))
        return with_retry(write, path=self.path)

    def put_step(
        self,
        contexts: Iterable[Any],
        name: str,
        state: str,
        properties: dict[str, Any],
        inputs: list[tuple[str, int]],
        outputs: list[tuple[str, ArtifactRecord]],
        source: Optional[tuple[str, str]] = None,
        execution_id: Optional[int] = None,
    ) -> tuple[int, dict[str, int]]:
        """Writes (or updates) one step's execution, its new artifacts and its events in one transaction.

        Args:
            contexts: The pipeline and run contexts the execution and artifacts belong to.
            name: The execution's name (``<run_id>/<step>``).
            state: ``running``, ``complete`` or ``failed``.
            properties: The execution's custom properties (step, times, inputs, outputs, error).
            inputs: (input key, stored artifact id) pairs to link as INPUT events.
            outputs: (output key, artifact) pairs to create and link as OUTPUT events.
            source: (key, URI) of the external table the step read, linked as an INPUT
                ``DataSource`` artifact shared by every run that read the same URI.
            execution_id: The id from an earlier call for the same step, to update it.

        Returns:
            The execution id and the ids of the output artifacts by key.
        """
        from ml_metadata.proto import metadata_store_pb2 as pb

        execution = pb.Execution(type_id=self._type("execution", STEP_TYPE), name=name)
        execution.last_known_state = getattr(pb.Execution, _STATES[state])
        if execution_id is not None:
            execution.id = execution_id
        _set_props(execution, properties)
        types = {a.type: self._type("artifact", a.type) for _, a in outputs}
        if source:
            types[SOURCE_TYPE] = self._type("artifact", SOURCE_TYPE)

        def write():
            pairs = []
            existing = self.mlmd.get_artifacts_by_id([i for _, i in inputs]) if inputs else []
            by_id = {a.id: a for a in existing}
            for key, artifact_id in inputs:
                pairs.append((by_id[artifact_id], _event(pb.Event.INPUT, key)))
            for key, record in outputs:
                artifact = pb.Artifact(type_id=types[record.type], name=record.name, uri=record.uri)
                artifact.state = pb.Artifact.LIVE
                _set_props(artifact, record.properties)
                pairs.append((artifact, _event(pb.Event.OUTPUT, key)))
            if source:
                key, uri = source
                artifact = pb.Artifact(type_id=types[SOURCE_TYPE], uri=uri, external_id=f"source:{uri}", name=f"source:{uri}")
                artifact.state = pb.Artifact.LIVE
                pairs.append((artifact, _event(pb.Event.INPUT, key)))
            eid, artifact_ids, _ = self.mlmd.put_execution(
                execution, pairs, list(contexts),
                reuse_context_if_already_exist=True,
                reuse_artifact_if_already_exist_by_external_id=True,
            )
            return eid, artifact_ids

        eid, artifact_ids = self._write(write)
        start = len(inputs)
        return eid, {key: artifact_ids[start + i] for i, (key, _) in enumerate(outputs)}

    def artifact_ids_by_uri(self, uri: str) -> list[int]:
        """Ids of the stored artifacts at ``uri``, oldest first."""
        return sorted(a.id for a in with_retry(self.mlmd.get_artifacts_by_uri, uri, path=self.path))

    # -- reading ---------------------------------------------------------------------------------

    def runs(self, limit: Optional[int] = None) -> list[RunRecord]:
        """The runs in the store, newest first (at most ``limit``)."""
        if not self._has_type("context", RUN_TYPE):
            return []
        contexts = with_retry(self.mlmd.get_contexts_by_type, RUN_TYPE, path=self.path)
        runs = sorted((_run_record(c) for c in contexts), key=lambda r: (r.started or 0, r.run_id), reverse=True)
        return runs[:limit] if limit else runs

    def run(self, run_id: str) -> RunRecord:
        """One run.

        Raises:
            LineageError: If the store holds no run of that id.
        """
        return _run_record(self._run_context(run_id))

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
                e for e in with_retry(self.mlmd.get_events_by_artifact_ids, frontier, path=self.path)
                if _kind(e) == OUTPUT and e.execution_id not in execution_ids
            ]
            new_executions = {e.execution_id for e in made}
            execution_ids |= new_executions
            frontier = []
            if new_executions:
                step_events = with_retry(self.mlmd.get_events_by_execution_ids, sorted(new_executions), path=self.path)
                for event in step_events:
                    if _kind(event) == INPUT and event.artifact_id not in artifact_ids:
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
            raise LineageError(f"No artifact with id {artifact_id} in lineage store {self.path!r}; `kfx lineage runs` lists the runs.")
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
        names = {t.id: t.name for t in with_retry(self.mlmd.get_artifact_types_by_id, type_ids, path=self.path)} if type_ids else {}
        return [ArtifactRecord(str(a.id), a.name, names.get(a.type_id, ""), a.uri, _props(a)) for a in artifacts]

    def _graph(self, artifacts: list[Any], executions: list[Any], events: list[Any]) -> Graph:
        known = {a.id for a in artifacts}
        missing = sorted({e.artifact_id for e in events} - known)
        if missing:
            artifacts = list(artifacts) + list(with_retry(self.mlmd.get_artifacts_by_id, missing, path=self.path))
        return Graph(
            artifacts={a.id: a for a in self._artifact_records(artifacts)},
            executions={str(e.id): _execution_record(e) for e in executions},
            events=[
                EventRecord(str(e.artifact_id), str(e.execution_id), _kind(e), _event_key(e))
                for e in events if _kind(e)
            ],
        )


def _quote(text: str) -> str:
    """A string literal for an ML Metadata filter query."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _short(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__


def _event(kind: int, key: str):
    from ml_metadata.proto import metadata_store_pb2 as pb

    event = pb.Event(type=kind)
    event.path.steps.add().key = key
    return event


def _kind(event: Any) -> str:
    from ml_metadata.proto import metadata_store_pb2 as pb

    return {pb.Event.INPUT: INPUT, pb.Event.OUTPUT: OUTPUT}.get(event.type, "")


def _event_key(event: Any) -> str:
    return next((s.key for s in event.path.steps if s.HasField("key")), "")


def _execution_record(execution: Any) -> ExecutionRecord:
    from ml_metadata.proto import metadata_store_pb2 as pb

    props = _props(execution)
    state = pb.Execution.State.Name(execution.last_known_state).lower()
    return ExecutionRecord(
        id=str(execution.id),
        name=execution.name,
        step=str(props.get("step") or execution.name.rsplit("/", 1)[-1]),
        state=state,
        started=props.get("started"),
        ended=props.get("ended"),
        parameters={k.split(":", 1)[1]: v for k, v in props.items() if k.startswith("input:")},
        outputs={k.split(":", 1)[1]: v for k, v in props.items() if k.startswith("output:")},
        error=str(props.get("error") or ""),
    )


def _run_record(context: Any) -> RunRecord:
    props = _props(context)
    return RunRecord(
        run_id=context.name,
        pipeline=str(props.get("pipeline", "")),
        status=str(props.get("status", "")),
        started=props.get("started"),
        ended=props.get("ended"),
        metrics={k.split(":", 1)[1]: v for k, v in props.items() if k.startswith("metric:")},
        failed_step=str(props.get("failed_step") or ""),
        error=str(props.get("error") or ""),
        lineage_graph=str(props.get("lineage_graph") or ""),
        target=str(props.get("target") or "local"),
    )
