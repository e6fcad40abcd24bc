"""The data schema: inferred from training statistics, or a curated file used as is.

A schema artifact is one text proto (``schema.pbtxt``) that ``tfdv.load_schema_text``
reads. Nothing here imports TensorFlow (see :mod:`kfx.tfdv_core`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kfx import storage
from kfx.errors import ConfigError

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

SCHEMA_FILE = "schema.pbtxt"


def infer_schema(train_statistics: statistics_pb2.DatasetFeatureStatisticsList) -> schema_pb2.Schema:
    """Infers a schema from the training split's statistics, as ``tfdv.infer_schema`` does."""
    from kfx import tfdv_core

    return tfdv_core.infer_schema(train_statistics)


def load_schema(uri: str) -> schema_pb2.Schema:
    """Reads a text-proto schema from a local path or ``gs://`` URI.

    Raises:
        SourceError: If the file does not exist.
        ConfigError: If it is not a schema text proto.
    """
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    text = storage.read_text(uri)
    try:
        schema = text_format.Parse(text, schema_pb2.Schema())
    except text_format.ParseError as err:
        raise ConfigError(
            f"Schema file {uri!r} is not a TFDV schema text proto ({err}); write it with tfdv.write_schema_text."
        ) from None
    if not schema.feature:
        raise ConfigError(f"Schema file {uri!r} declares no features; pass a schema with at least one feature.")
    return schema


def schema_text(schema: schema_pb2.Schema) -> str:
    """The schema as a text proto."""
    from google.protobuf import text_format

    return text_format.MessageToString(schema)


def write_schema(schema: schema_pb2.Schema, uri: str) -> None:
    """Writes the schema as a text proto."""
    storage.write_text(uri, schema_text(schema))
