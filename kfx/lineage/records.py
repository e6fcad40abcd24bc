"""What the lineage store keeps of a task's outputs: each output artifact's record (its lineage type,
metadata and digests) and the exact output values and metadata, which the store would round."""

from __future__ import annotations

import json
from typing import Any, Optional

from kfx.lineage.model import ArtifactRecord

SCALARS = (bool, int, float, str)


def exact_outputs(outputs: dict[str, Any]) -> str:
    """A step's output values and each output artifact's metadata, as exact JSON
    (:data:`~kfx.lineage.layout.EXACT_OUTPUTS`)."""
    return json.dumps(
        {
            "values": {k: v for k, v in outputs.items() if not hasattr(v, "uri")},
            "metadata": {k: dict(v.metadata or {}) for k, v in outputs.items() if hasattr(v, "uri")},
        },
        default=str,
    )


def artifact_type(step: str, key: str, artifact: Any) -> str:
    """The lineage type of a step's output artifact: as the step declares it (``ExampleStatistics``),
    or kfp's own type (``Dataset``, ``Metrics``, ``HTML``…)."""
    from kfx.report import report_for as step_named

    declared = step_named(step)
    title = str(artifact.schema_title)
    return declared.artifact_type(key, title) if declared is not None else title.split(".")[-1]


def artifact_record(
    run_id: str,
    step: str,
    key: str,
    artifact: Any,
    digests: Optional[dict[str, str]] = None,
) -> ArtifactRecord:
    """The record of one output artifact: named ``<run_id>/<step>/<key>``, its metadata as properties,
    with its content digest (``digest``) and that of any place its metadata names outside the run
    folder (``digest:<key>``) when ``digests`` (see :attr:`~kfx.events.TaskEvent.digests`) has them."""
    properties = dict(artifact.metadata or {})
    properties.update(run_id=run_id, step=step, output=key)
    for ref, digest in (digests or {}).items():
        name, _, meta = ref.partition(".")
        if name == key:
            properties[f"digest:{meta}" if meta else "digest"] = digest
    return ArtifactRecord(
        id="",
        name=f"{run_id}/{step}/{key}",
        type=artifact_type(step, key, artifact),
        uri=artifact.uri,
        properties=properties,
    )
