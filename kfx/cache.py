"""Step caching on the local target: a step whose inputs did not change reuses an earlier execution.

KFP reuses a task when its component, parameters and input artifacts equal an earlier
execution's. kfp 2.13's local executor has no cache, but kfx records every local
execution in its lineage store (:mod:`kfx.lineage`), so the store is the cache:

- a step's **cache key** digests its component (the spec, and the executor that holds
  the function's source), the code version (:func:`code_version`), its parameter values
  (with the content of any local file a parameter names: ``--source``, ``--schema-file``)
  and the *content* of its input artifacts. Those files and inputs are digested again when
  the step ends: when one changed while the step ran (a source rewritten as the import
  started), the step read other bytes than its key names, so the execution is recorded
  without a key, never reused, and the run says which file changed (``cache_not_kept``);
- the content digest of each output artifact is recorded when the step writes it, and
  so is the digest of what the step wrote outside the run folder
  (:attr:`kfx.report.Report.outside`: the registry version a push made);
- a step reuses the newest complete (or itself cached) execution with its key whose
  outputs, and places outside, still have the recorded content; failed, running and
  interrupted executions are never candidates. The outputs are copied (a reflink where
  the file system can, so a copy costs no space until one side is written) to the URIs
  kfp.local would have used in this run's folder, the task returns the earlier output
  values, and the store records the new execution as CACHED with ``cached_from``, linked
  to its inputs and its own output artifacts. Copies, not hard links: editing a file in
  one run's folder changes no other run's file (runs as root write through any permission
  bits), and the cache then does not reuse the edited file.

``Config.enable_caching`` (``--no-cache``) turns reuse off; keys and digests are still
recorded, so a run made without the cache can serve later runs. A caching problem
never fails a run: the step runs as if there were no cache, and the summary says why
(``cache_error``), as it does for a lineage problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any, Optional

from kfx import disk
from kfx.digests import code_version, content_digest
from kfx.events import Listener, TaskEvent

if TYPE_CHECKING:
    from kfx.config import Config
    from kfx.lineage.model import ArtifactRecord, ExecutionRecord
    from kfx.lineage.store import LineageStore

KEY_VERSION = 1
"""The recipe of the cache key; raise it when the recipe changes, so older keys never match."""


def _cast(value: Any, parameter_type: int) -> Any:
    """An output value read back from the store as the type kfp.local hands on."""
    from kfp.pipeline_spec import pipeline_spec_pb2

    kinds = pipeline_spec_pb2.ParameterType.ParameterTypeEnum
    cast = {kinds.NUMBER_INTEGER: int, kinds.NUMBER_DOUBLE: float, kinds.BOOLEAN: bool, kinds.STRING: str}.get(
        parameter_type
    )
    return cast(value) if cast is not None else value


class StepCache(Listener):
    """The cache of one local run: works out each step's key, and reuses an earlier execution.

    Args:
        store: The lineage store to find earlier executions in (the recorder's, when the run
            is recorded), or None: nothing to reuse.
        reuse: Reuse earlier executions (``Config.enable_caching``). When False the keys and
            digests are still worked out, so this run's executions can serve later runs.
    """

    def __init__(self, store: Optional[LineageStore], reuse: bool):
        self.store = store
        self.reuse = reuse and store is not None
        self.error = ""
        self._digests: dict[str, str] = {}  # this run's outputs, as the inputs of later steps
        self._read: dict[str, dict[str, tuple[str, str]]] = {}  # per step: path -> (what it is, digest the key used)
        self.not_kept: list[str] = []  # why a step's execution was recorded without its key
        self.uncached: frozenset[str] = frozenset()  # tasks the pipeline runs every time
        self.code = self._guard(code_version) or ""

    # -- the hooks of the local runner -----------------------------------------------------------

    def before(self, event: TaskEvent, task: dict[str, Any]) -> Optional[dict[str, Any]]:
        """Sets the step's cache key and returns the outputs of an earlier execution to use
        instead of running it, or None to run it.

        Args:
            event: The task's event (its parameters, input artifacts and task folder).
            task: What kfp.local hands its task runner: ``component_spec``, ``executor_spec``,
                ``arguments``.
        """
        reused = self._guard(self._before, event, task)
        if reused is None and event.cached_from:
            # Something went wrong half way: the step runs from a clean task folder.
            event.cached_from, event.digests = "", {}
            shutil.rmtree(event.task_root, ignore_errors=True)
        return reused

    def after(self, event: TaskEvent) -> None:
        """Records the content digest of each output a completed step wrote, and of what it wrote
        outside the run folder, on the event (the recorder stores them); drops the step's cache
        key when a file or input it read changed while it ran."""
        read = self._read.pop(event.name, {})
        if event.state == "complete":
            if not self._guard(self._unchanged, event, read):
                event.cache_key = ""  # it read other bytes than its key names, or that could not be checked
            self._guard(self._after, event)

    def run_finished(self, run_id: str, summary: dict[str, Any]) -> None:
        """Says in the summary (and on stderr) when caching stopped, like a lineage problem."""
        if self.error:
            summary["cache_error"] = self.error
            print(f"kfx: warning: step caching stopped in run {run_id}: {self.error}", file=sys.stderr)
        if self.not_kept:
            # Said once the run ends: while it runs, stderr goes to pipeline.log.
            summary["cache_not_kept"] = list(self.not_kept)
            for sentence in self.not_kept:
                print(f"kfx: warning: {sentence}", file=sys.stderr)

    # -- the work --------------------------------------------------------------------------------

    def _guard(self, work, *args: Any) -> Any:
        if self.error:
            return None  # after one failure every later step simply runs
        try:
            return work(*args)
        except Exception as err:  # noqa: BLE001 - caching must never break the run
            text = (str(err).strip().splitlines() or [""])[0].split(" query: ")[0]
            self.error = f"{type(err).__name__}: {text[:300]}; the steps after it ran without the cache"
            return None

    def _digest(self, uri: str) -> str:
        if uri not in self._digests:
            self._digests[uri] = content_digest(uri)
        return self._digests[uri]

    def _before(self, event: TaskEvent, task: dict[str, Any]) -> Optional[dict[str, Any]]:
        from kfx.report import report_for as named

        event.cache_key = self.key(event, task)
        step = named(event.name)
        if not self.reuse or self.store is None or event.name in self.uncached:
            return None
        for execution, outputs, exact in self.store.reusable_executions(event.cache_key):
            reused = self._reuse(event, task, execution, outputs, exact, step.outside if step else ())
            if reused is not None:
                return reused
        return None

    def key(self, event: TaskEvent, task: dict[str, Any]) -> str:
        """The step's cache key: component, code version, parameters (and the content of local files
        they name) and the content of its input artifacts, digested."""
        component = hashlib.sha256()
        for message in (task["component_spec"], task["executor_spec"]):
            component.update(message.SerializeToString(deterministic=True))
        files = {
            name: content_digest(value)
            for name, value in event.parameters.items()
            if isinstance(value, str) and value and os.path.isfile(value)
        }
        inputs = {name: [self._digest(a.uri) for a in artifacts] for name, artifacts in event.input_artifacts.items()}
        # What the key says the step read, checked again when it ends (_unchanged).
        read = {event.parameters[name]: (f"parameter {name}", digest) for name, digest in files.items()}
        for name, artifacts in event.input_artifacts.items():
            read.update({a.uri: (f"input {name}", digest) for a, digest in zip(artifacts, inputs[name], strict=True)})
        self._read[event.name] = read
        payload = {
            "recipe": KEY_VERSION,
            "component": component.hexdigest(),
            "code": self.code,
            "parameters": event.parameters,
            "files": files,
            "inputs": inputs,
        }
        return "sha256:" + hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def _reuse(
        self,
        event: TaskEvent,
        task: dict[str, Any],
        execution: ExecutionRecord,
        outputs: dict[str, ArtifactRecord],
        exact: dict[str, Any],
        outside: tuple[str, ...],
    ) -> Optional[dict[str, Any]]:
        """The task's outputs from ``execution`` placed in this run's folder, or None when it cannot stand in.

        Output values and artifact metadata come from the exact record, not the store's
        properties (ML Metadata's SQLite store rounds doubles to 6 digits)."""
        from kfx.kfp_local import dsl_artifact, output_artifacts
        from kfx.report import resolve

        spec = task["component_spec"]
        wanted = spec.output_definitions
        values, metadata = exact.get("values", {}), exact.get("metadata", {})
        if set(wanted.parameters) - set(values) or set(wanted.artifacts) - (set(outputs) & set(metadata)):
            return None
        if any(a.is_artifact_list for a in wanted.artifacts.values()):
            return None
        digests: dict[str, str] = {}
        for ref in outside:
            # What the step wrote outside the run folder must still be there, as it was written.
            name, _, meta = ref.partition(".")
            path = resolve(ref, outputs, {})
            if path:
                recorded = outputs[name].properties.get(f"digest:{meta}")
                if not recorded or content_digest(str(path)) != recorded:
                    return None
                digests[ref] = recorded
        planned = output_artifacts(spec, task["arguments"], event.task_root)
        # The execution that made the outputs (a cached one names its own origin); from here on,
        # a failure cleans the task folder.
        event.cached_from = execution.cached_from or execution.name
        made: dict[str, Any] = {}
        for name, artifact_list in planned.items():
            record, runtime = outputs[name], artifact_list.artifacts[0]
            recorded = record.properties.get("digest")
            try:
                if recorded:
                    disk.place_copy(record.uri, runtime.uri)
                # Checked where it now is: a copy is checked as copied, a link as the earlier file is now.
                placed = bool(recorded) and content_digest(runtime.uri) == recorded
            except FileNotFoundError:
                placed = False  # the earlier run's folder went away while it was read: not a usable candidate
            if not placed or not recorded:
                # Nothing a candidate placed stays: the next candidate, or the step, starts clean.
                event.cached_from = ""
                shutil.rmtree(event.task_root, ignore_errors=True)
                return None
            digests[name] = self._digests[runtime.uri] = recorded
            runtime.metadata.update(metadata[name])
            made[name] = dsl_artifact(artifact_list)
        event.digests = digests
        return {**{name: _cast(values[name], p.parameter_type) for name, p in wanted.parameters.items()}, **made}

    def _unchanged(self, event: TaskEvent, read: dict[str, tuple[str, str]]) -> bool:
        """Whether the files and inputs the key digested still hold those bytes when the step ends;
        if not, the step read a changed file somewhere in between, and the run will say which."""
        changed = [(path, what) for path, (what, digest) in read.items() if content_digest(path) != digest]
        if changed and event.cache_key:
            names = ", ".join(f"{path} ({what})" for path, what in changed)
            self.not_kept.append(
                f"{names} changed while {event.name} ran, so its outputs stay in this run but no later run reuses them"
            )
        return not changed

    def _after(self, event: TaskEvent) -> None:
        from kfx.report import report_for as named
        from kfx.report import resolve

        for name, value in event.outputs.items():
            if hasattr(value, "uri"):
                event.digests[name] = self._digests[value.uri] = content_digest(value.uri)
        step = named(event.name)
        for ref in step.outside if step else ():
            path = resolve(ref, event.outputs, event.parameters)
            if path:
                event.digests[ref] = content_digest(str(path))


def open_cache(
    config: Config,
    store: Optional[LineageStore],
    uncached: frozenset[str] = frozenset(),
) -> Optional[StepCache]:
    """The cache of a local run.

    Args:
        config: The run's configuration (``enable_caching``, the store's path).
        store: The recorder's store when the run is recorded; otherwise an existing store is
            opened to read from (``--no-record-lineage`` runs can still reuse recorded steps).
        uncached: The tasks whose caching the pipeline turned off (``set_caching_options(False)``):
            they always run.

    Returns:
        The cache, or None when there is no store to read from or record in.
    """
    if store is None:
        if not config.enable_caching or not os.path.exists(config.resolved_metadata_path):
            return None
        from kfx.lineage.store import LineageStore

        try:
            store = LineageStore(config.resolved_metadata_path)
        except Exception as err:  # noqa: BLE001 - an unusable store only means nothing is reused
            cache = StepCache(None, reuse=False)
            cache.error = f"{type(err).__name__}: {str(err)[:300]}"
            return cache
    cache = StepCache(store, reuse=config.enable_caching)
    cache.uncached = uncached
    return cache
