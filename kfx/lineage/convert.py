"""Conversion between ML Metadata protos and the plain records of :mod:`kfx.lineage.model`.

The local store writes Python values into ML Metadata ``Value`` messages and reads
its contexts, executions and events back as :class:`~kfx.lineage.model.RunRecord`,
:class:`~kfx.lineage.model.ExecutionRecord` and event kinds, so the questions in
:mod:`kfx.lineage.queries` never see a proto. ``ml_metadata`` and ``protobuf`` load
inside the functions that need them, not when this module is imported.
"""

from __future__ import annotations

import json
from typing import Any

from kfx.lineage.model import INPUT, OUTPUT, ExecutionRecord, RunRecord


def to_value(value: Any, target: Any) -> bool:
    """Writes a Python value into an ML Metadata ``Value``; returns False for ``None`` and NaN (a figure
    not measured, such as a regression's accuracy: the store refuses NaN)."""
    if _missing(value):
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


def props_of(message: Any) -> dict[str, Any]:
    """The properties and custom properties of an artifact, execution or context, as Python values."""
    values = {k: from_value(v) for k, v in message.properties.items()}
    values.update({k: from_value(v) for k, v in message.custom_properties.items()})
    return values


def set_props(message: Any, values: dict[str, Any]) -> None:
    """Writes ``values`` into the custom properties of ``message`` (see :func:`to_value`); ``None`` is left out."""
    for key, value in values.items():
        # An empty Value aborts the whole process inside ml-metadata ("Unexpected oneof"), so a
        # None must not even create the entry.
        if not _missing(value):
            to_value(value, message.custom_properties[key])


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def new_event(kind: int, key: str):
    """An ML Metadata event of ``kind`` (``INPUT`` or ``OUTPUT``) whose path is the input or output ``key``."""
    from ml_metadata.proto import metadata_store_pb2 as pb

    event = pb.Event(type=kind)
    event.path.steps.add().key = key
    return event


def event_kind(event: Any) -> str:
    """``input`` or ``output`` for an event; empty for any other kind."""
    from ml_metadata.proto import metadata_store_pb2 as pb

    return {pb.Event.INPUT: INPUT, pb.Event.OUTPUT: OUTPUT}.get(event.type, "")


def event_key(event: Any) -> str:
    """The input or output name an event links the artifact under; empty if it has none."""
    return next((s.key for s in event.path.steps if s.HasField("key")), "")


def execution_record(execution: Any) -> ExecutionRecord:
    """An ML Metadata execution as a record: ``input:`` properties as parameters, ``output:`` as outputs."""
    from ml_metadata.proto import metadata_store_pb2 as pb

    props = props_of(execution)
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
        cached_from=str(props.get("cached_from") or ""),
    )


def run_record(context: Any) -> RunRecord:
    """A ``kfx.PipelineRun`` context as a record: ``metric:`` properties as metrics."""
    props = props_of(context)
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
        stopped_step=str(props.get("stopped_step") or ""),
        stopped_by=str(props.get("stopped_by") or ""),
        cached_steps=int(props.get("cached_steps") or 0),
    )
