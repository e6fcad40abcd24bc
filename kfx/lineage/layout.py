"""The layout kfx writes into a local lineage store, by name and version.

- a ``kfx.LineageStore`` context named ``kfx-lineage`` whose ``schema_version``
  says which layout this is, so a store from an older kfx is refused instead of
  misread or rewritten;
- a ``kfx.Pipeline`` context per pipeline and a ``kfx.PipelineRun`` context per
  run (its child), with the run's status, timing and key metrics;
- a ``kfx.Step`` execution per task (parameters as ``input:<name>``, output values
  as ``output:<name>``), an artifact per output artifact typed as its
  step declares (:class:`kfx.step.Step`), and INPUT / OUTPUT events between them; the table a run read is a
  ``DataSource`` artifact (:data:`~kfx.lineage.model.SOURCE_TYPE`).

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
