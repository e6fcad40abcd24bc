"""The listener that records a local run in the lineage store as it happens.

Each step is written twice: when it starts (a RUNNING execution with its
parameters and INPUT events) and when it ends (its state, timing, output values,
output artifacts and OUTPUT events). So a run that fails, or is killed, still
shows every step that ran, the failed one marked FAILED, the earlier ones intact.
A step a stop cut short is CANCELED (never a result to reuse), its run ``interrupted``;
the run's process (pid, host, start time) is recorded when it starts, so a run whose
process was killed outright reads as ``abandoned`` (:mod:`kfx.lineage.reader`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Optional

from kfx.config import Config
from kfx.events import SUCCEEDED, Listener
from kfx.lineage.layout import CACHE_KEY, EXACT_OUTPUTS
from kfx.lineage.model import ArtifactRecord
from kfx.lineage.records import SCALARS, artifact_record, exact_outputs


class LineageRecorder(Listener):
    """Records a local run in the lineage store (``config.resolved_metadata_path``).

    The store is opened when the recorder is made, so a store kfx cannot use stops
    the run before any step starts. Once the run is going, a recording problem
    never fails it: the run finishes, and the summary says what was not recorded.

    Args:
        config: The run's configuration.
        run_id: The run id; when None it is taken from the first task's folder.
        draw: Draw the run's lineage graph (``lineage.svg`` in the run folder) at the end.

    Raises:
        LineageError: If the store is not a database, not a kfx store, or from another version.
    """

    def __init__(self, config: Config, run_id: Optional[str] = None, draw: bool = True):
        from kfx.lineage.store import LineageStore

        self.config = config
        self.store = LineageStore(config.resolved_metadata_path, create=True)
        self.run_id = run_id
        self.draw = draw
        self.error = ""
        self.started = time.time()
        self._contexts: Optional[tuple[Any, Any]] = None
        self._executions: dict[str, int] = {}
        self._ended: list[Any] = []
        self._by_uri: dict[str, int] = {}
        if run_id:
            self._guard(self._open_run)

    # -- listener --------------------------------------------------------------------------------

    def task_started(self, event: Any) -> None:
        """Writes the step as RUNNING with its parameters and inputs."""
        self._guard(self._started, event)

    def task_finished(self, event: Any) -> None:
        """Writes the step's end: state, timing, outputs."""
        self._guard(self._finished, event)

    def run_finished(self, run_id: str, summary: dict[str, Any]) -> None:
        """Writes the run's status and key metrics, draws the graph and points the summary at it."""
        self.run_id = self.run_id or run_id
        if self._record_end(summary) and self.draw and summary.get("run_dir"):
            self._guard(self._draw, summary)
        summary["lineage_store"] = self.store.path
        if self.error:
            summary["lineage_error"] = self.error
            print(f"kfx: warning: lineage of run {self.run_id} is incomplete: {self.error}", file=sys.stderr)

    def run_amended(self, summary: dict[str, Any]) -> None:
        """Writes the run's status again after :meth:`run_finished`, when its end changed it
        (``summary.json`` could not be written), so the store and the summary agree."""
        self._record_end(summary)
        if self.error:
            summary["lineage_error"] = self.error

    # -- the work --------------------------------------------------------------------------------

    def _guard(self, work, *args: Any) -> None:
        if self.error:
            return  # after one failure the record would only get more inconsistent
        try:
            work(*args)
        except Exception as err:  # noqa: BLE001 - recording must never break the run
            # ml-metadata appends the SQL it ran; the reader needs the reason, not the query.
            text = (str(err).strip().splitlines() or [""])[0].split(" query: ")[0]
            self.error = f"{type(err).__name__}: {text[:300]}"

    def _open_run(self) -> None:
        from kfx import __version__, processes

        self._contexts = self.store.put_run_context(
            self._run,
            self.config.resolved_pipeline_name,
            {
                "status": "running",
                "started": self.started,
                "target": "local",
                "kfx_version": __version__,
                # Where its summary.json will be: read when the store cannot record the run's end (a full disk).
                "run_dir": os.path.abspath(os.path.join(self.config.runs_dir, self._run)),
                "config": json.dumps(self.config.to_dict(), default=str),
                **processes.identity(),  # who runs it, so a run whose process is gone reads as abandoned
            },
        )

    @property
    def _run(self) -> str:
        """The run id: given to the constructor, or taken from the first task before anything is recorded."""
        assert self.run_id is not None, "no run id before the first task"
        return self.run_id

    @property
    def _run_contexts(self) -> tuple[Any, Any]:
        """The run's contexts, opened with the run id before any step is recorded."""
        assert self._contexts is not None, "no run contexts before the run is opened"
        return self._contexts

    def _name(self, step: str) -> str:
        return f"{self.run_id}/{step}"

    def _started(self, event: Any) -> None:
        if self.run_id is None:
            # kfp.local puts task folders under <run_dir>/<pipeline job>/<task>.
            self.run_id = os.path.basename(os.path.dirname(os.path.dirname(event.task_root.rstrip("/"))))
        if self._contexts is None:
            self._open_run()
        inputs = []
        for key, artifacts in event.input_artifacts.items():
            for index, artifact in enumerate(artifacts):
                artifact_id = self._artifact_id(artifact.uri)
                if artifact_id is not None:
                    inputs.append((key if len(artifacts) == 1 else f"{key}[{index}]", artifact_id))
        eid, _ = self.store.put_step(
            self._run_contexts,
            self._name(event.name),
            "running",
            self._step_properties(event),
            inputs,
            [],
        )
        self._executions[event.name] = eid

    def _finished(self, event: Any) -> None:
        if self._contexts is None:
            self._started(event)
        outputs, values = [], {}
        for key, value in event.outputs.items():
            if hasattr(value, "uri"):
                outputs.append(
                    (key, artifact_record(self._run, event.name, key, value, getattr(event, "digests", None)))
                )
            elif isinstance(value, SCALARS) or isinstance(value, (list, dict)):
                values[f"output:{key}"] = value
        properties = {**self._step_properties(event), **values, "ended": event.ended, "seconds": event.seconds}
        if event.state in SUCCEEDED:
            properties[EXACT_OUTPUTS] = exact_outputs(event.outputs)
        if event.state == "failed":
            properties.update(
                error=event.error or "the step failed without a kfx-error sentence; see pipeline.log",
                error_kind=event.error_kind or "StepFailed",
            )
        elif event.state == "canceled":
            properties.update(error=event.error, error_kind=event.error_kind)
        _, ids = self.store.put_step(
            self._run_contexts,
            self._name(event.name),
            event.state,
            properties,
            [],
            outputs,
            source=self._source(event, outputs),
            execution_id=self._executions.get(event.name),
        )
        for key, record in outputs:
            self._by_uri[record.uri] = ids[key]
        self._ended.append(event)

    def _step_properties(self, event: Any) -> dict[str, Any]:
        properties: dict[str, Any] = {"step": event.name, "run_id": self.run_id, "started": event.started}
        properties.update({f"input:{k}": v for k, v in event.parameters.items()})
        # What step caching finds earlier executions by, and which one a cached step reused.
        properties.update({k: v for k in (CACHE_KEY, "cached_from") if (v := getattr(event, k, ""))})
        return properties

    def _source(self, event: Any, outputs: list[tuple[str, ArtifactRecord]]) -> Optional[tuple[str, str]]:
        """The external table a step read, so runs that read the same table meet at one artifact."""
        if "source" not in event.parameters:
            return None
        resolved = next((r.properties.get("source") for _, r in outputs if r.properties.get("source")), None)
        if not resolved:
            from kfx import data

            try:
                resolved = data.parse_source(str(event.parameters["source"])).uri
            except Exception:  # noqa: BLE001 - a bad source is the step's error to report, not ours
                resolved = str(event.parameters["source"])
        uri = resolved if "://" in resolved else os.path.abspath(resolved)
        return ("source", uri)

    def _artifact_id(self, uri: str) -> Optional[int]:
        if uri in self._by_uri:
            return self._by_uri[uri]
        found = self.store.artifact_ids_by_uri(uri)
        return found[-1] if found else None

    def _record_end(self, summary: dict[str, Any]) -> bool:
        """Writes the run's status even after a step's record failed (a full disk that the failed
        step's removed outputs freed again), so the store never shows a run that ended as still
        in a step; returns whether it was written, and when not, the error says so."""
        earlier, self.error = self.error, ""
        if earlier:
            # A failed write can leave ml-metadata's connection inside a transaction it cannot end.
            self._guard(self._reopen)
        if not self.error:
            self._guard(self._finish_run, summary)
        if self.error:
            self.error = (f"{earlier}; " if earlier else "") + (
                f"the run's end could not be recorded in {self.store.path} ({self.error})"
            )
            return False
        self.error = earlier
        return True

    def _reopen(self) -> None:
        from kfx.lineage.store import LineageStore

        self.store = LineageStore(self.store.path, create=True)

    def _finish_run(self, summary: dict[str, Any]) -> None:
        from kfx.summary import run_figures

        if self._contexts is None:
            self._open_run()
        ended = time.time()
        properties: dict[str, Any] = {
            "status": summary["status"],
            "ended": ended,
            "seconds": ended - self.started,
            "run_dir": summary.get("run_dir", ""),
            "cached_steps": sum(1 for event in self._ended if event.state == "cached"),
            **{f"metric:{k}": v for k, v in run_figures(self._ended).items()},
        }
        if summary["status"] == "failed":
            properties.update(failed_step=summary.get("failed_step", ""), error=summary.get("error", ""))
        elif summary["status"] == "interrupted":
            properties.update(stopped_step=summary.get("stopped_step") or "", stopped_by=summary.get("stopped_by", ""))
        # Status first, so a picture that cannot be drawn leaves the run's record complete.
        self.store.put_run_context(self._run, self.config.resolved_pipeline_name, properties)

    def _draw(self, summary: dict[str, Any]) -> None:
        from kfx.lineage import graph

        # SVG: written as text in milliseconds; a PNG is drawn on demand (`kfx lineage graph`).
        path = os.path.join(summary["run_dir"], "lineage.svg")
        graph.draw(self.store.run_graph(self._run), path, title=f"Lineage of {self.run_id}")
        summary["lineage_graph"] = path
        self.store.put_run_context(self._run, self.config.resolved_pipeline_name, {"lineage_graph": path})
