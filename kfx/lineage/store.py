"""The local lineage store: ML Metadata (``ml_metadata``) on one SQLite file.

:class:`LineageStore` opens the file, checks the layout marker (:mod:`kfx.lineage.layout`)
so a store from another kfx version is refused instead of misread or rewritten, and
writes each run's contexts and each step's execution, artifacts and events; its reads
come from :class:`~kfx.lineage.reader.StoreReader`.

SQLite lets one writer in at a time; a second process that finds the file locked
waits (ml-metadata itself retries for about 18 s) and then tries again
(:func:`~kfx.lineage.sqlite.with_retry`, up to ``BUSY_SECONDS``) instead of failing
the run. Nothing here ever deletes, migrates or replaces a store: a store kfx cannot
use is reported in one sentence and left as it is.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, Optional, TypeVar

from kfx.lineage.convert import new_event, props_of, set_props
from kfx.lineage.errors import LineageError
from kfx.lineage.layout import MARKER_NAME, MARKER_TYPE, PIPELINE_TYPE, RUN_TYPE, STEP_TYPE, STORE_SCHEMA_VERSION
from kfx.lineage.model import SOURCE_TYPE, ArtifactRecord
from kfx.lineage.reader import StoreReader
from kfx.lineage.sqlite import BUSY_SECONDS, FIX, check_store_file, is_busy, with_retry

T = TypeVar("T")

_STATES = {"running": "RUNNING", "complete": "COMPLETE", "failed": "FAILED", "cached": "CACHED", "canceled": "CANCELED"}


class LineageStore(StoreReader):
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
                        f"({_short(err).split('. ')[0]}); {FIX}."
                    ) from None
                # Two first runs may create the tables at once: the one that loses sees them
                # locked or half-made ("a subset of tables … Please retry the connection"), and
                # succeeds on a later try.
                half_made = "exist" in text or "retry the connection" in text
                if not (is_busy(err) or half_made) or time.monotonic() > deadline:
                    raise LineageError(
                        f"Lineage store {self.path!r} cannot be opened ({_short(err)}); {FIX}."
                    ) from None
                time.sleep(0.05 + 0.1 * random.random())

    def _check_marker(self, create: bool, has_data: bool) -> int:
        from ml_metadata import errors

        marker = self._marker()
        if marker is not None:
            version = int(props_of(marker).get("schema_version", 0))
            if version < STORE_SCHEMA_VERSION:
                raise LineageError(
                    f"Lineage store {self.path!r} was written by an older kfx version (store layout {version}, "
                    f"this kfx uses {STORE_SCHEMA_VERSION}); {FIX}."
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
                f"Lineage store {self.path!r} was written by an older kfx version (no store layout marker); {FIX}."
            )
        if names - {MARKER_TYPE} or with_retry(self.mlmd.get_artifact_types, path=self.path):
            raise LineageError(f"Lineage store {self.path!r} is an ML Metadata store that kfx did not write; {FIX}.")
        if not create:
            return STORE_SCHEMA_VERSION  # an empty store: it holds no runs yet
        from ml_metadata.proto import metadata_store_pb2 as pb

        from kfx import __version__

        context = pb.Context(type_id=self._type("context", MARKER_TYPE), name=MARKER_NAME)
        set_props(context, {"schema_version": STORE_SCHEMA_VERSION, "kfx_version": __version__})
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

            message = {"artifact": pb.ArtifactType, "execution": pb.ExecutionType, "context": pb.ContextType}[kind](
                name=name
            )
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
            set_props(run, {"pipeline": pipeline, **properties})
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
            state: ``running``, ``complete``, ``failed``, ``cached`` or ``canceled``.
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
        set_props(execution, properties)
        types = {a.type: self._type("artifact", a.type) for _, a in outputs}
        if source:
            types[SOURCE_TYPE] = self._type("artifact", SOURCE_TYPE)

        def write():
            pairs = []
            existing = self.mlmd.get_artifacts_by_id([i for _, i in inputs]) if inputs else []
            by_id = {a.id: a for a in existing}
            for key, artifact_id in inputs:
                pairs.append((by_id[artifact_id], new_event(pb.Event.INPUT, key)))
            for key, record in outputs:
                artifact = pb.Artifact(type_id=types[record.type], name=record.name, uri=record.uri)
                artifact.state = pb.Artifact.LIVE
                set_props(artifact, record.properties)
                pairs.append((artifact, new_event(pb.Event.OUTPUT, key)))
            if source:
                key, uri = source
                artifact = pb.Artifact(
                    type_id=types[SOURCE_TYPE], uri=uri, external_id=f"source:{uri}", name=f"source:{uri}"
                )
                artifact.state = pb.Artifact.LIVE
                pairs.append((artifact, new_event(pb.Event.INPUT, key)))
            eid, artifact_ids, _ = self.mlmd.put_execution(
                execution,
                pairs,
                list(contexts),
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


def _short(err: Exception) -> str:
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
