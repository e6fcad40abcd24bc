"""The layout kfx writes into a local lineage store, by name and version.

- a ``kfx.LineageStore`` context named ``kfx-lineage`` whose ``schema_version``
  says which layout this is, so a store from an older kfx is refused instead of
  misread or rewritten;
- a ``kfx.Pipeline`` context per pipeline and a ``kfx.PipelineRun`` context per
  run (its child), with the run's status, timing and key metrics;
- a ``kfx.Step`` execution per task (parameters as ``input:<name>``, output values
  as ``output:<name>``), an artifact per output artifact typed as its
  step declares (:class:`kfx.report.Report`), and INPUT / OUTPUT events between them; the table a run read is a
  ``DataSource`` artifact (:data:`~kfx.lineage.model.SOURCE_TYPE`);
- for step caching (:mod:`kfx.cache`): each execution's ``cache_key`` and exact
  outputs (``exact_outputs``), a cached execution's state CACHED and ``cached_from``
  (the execution that made what it reused), and each
  output artifact's content ``digest`` (``digest:<key>`` for a place outside the run
  folder named in its metadata). Stores without them are read the same; their steps
  are simply never reused.

The writer (:mod:`kfx.lineage.store`) and the reader (:mod:`kfx.lineage.reader`)
both name these types, so they are named once here.
"""

STORE_SCHEMA_VERSION = 1
"""Layout of what kfx writes into the store; raise it when that layout changes."""

MARKER_TYPE = "kfx.LineageStore"
MARKER_NAME = "kfx-lineage"
PIPELINE_TYPE = "kfx.Pipeline"
RUN_TYPE = "kfx.PipelineRun"
STEP_TYPE = "kfx.Step"
CACHE_KEY = "cache_key"
"""The execution property holding the step's cache key."""
EXACT_OUTPUTS = "exact_outputs"
"""The execution property holding a step's output values and artifact metadata exactly, as JSON:
ML Metadata's SQLite store keeps only 6 significant digits of a double, and a step that reuses
these outputs (:mod:`kfx.cache`) must hand on the values the step made."""
