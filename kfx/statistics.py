"""TFDV statistics of each split: computing, writing, reading back and viewing.

A statistics artifact is a folder with one sub-folder per split, as TFX's
StatisticsGen lays it out: ``Split-<name>/stats.tfrecord``, each a one-record
TFRecord file holding a binary ``DatasetFeatureStatisticsList``, the form
``tfdv.load_statistics`` reads back. Only :func:`compute_statistics` and
:func:`statistics_html` import TFDV (and with it TensorFlow).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional

from kfx import storage
from kfx.errors import SourceError
from kfx.tfdv_core import import_tfdv

if TYPE_CHECKING:
    import pandas as pd
    from tensorflow_metadata.proto.v0 import statistics_pb2

STATS_FILE = "stats.tfrecord"


def compute_statistics(
    frames: Mapping[str, pd.DataFrame],
    engine: str = "memory",
    data_uris: Optional[Mapping[str, str]] = None,
    beam_options: Optional[Mapping[str, object]] = None,
) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """Computes TFDV statistics of every split.

    Args:
        frames: Split name to DataFrame (used by the ``memory`` engine).
        engine: ``memory`` computes in this process from the DataFrames (fast up to
            millions of rows); ``beam`` runs one Beam pipeline over ``data_uris``
            (for data that does not fit in memory; see :mod:`kfx.beamstats`).
        data_uris: Split name to CSV URI, for the ``beam`` engine.
        beam_options: Beam pipeline options (``runner``, ``project``, ``region``,
            ``temp_location``, …) for the ``beam`` engine. Defaults to DirectRunner,
            with one worker process per core for large inputs.

    Returns:
        Split name to statistics, each holding one dataset named after its split.
    """
    if engine == "beam":
        from kfx import beamstats

        if data_uris is None:
            raise TypeError("compute_statistics() needs data_uris for the beam engine.")
        result = beamstats.csv_statistics({name: data_uris[name] for name in frames}, beam_options)
    else:
        tfdv = import_tfdv()
        options = tfdv.StatsOptions()
        result = {
            name: tfdv.generate_statistics_from_dataframe(frame, stats_options=options, n_jobs=1)
            for name, frame in frames.items()
        }
    for name, stats in result.items():
        stats.datasets[0].name = name
    return result


def _masked_crc(data: bytes) -> bytes:
    import google_crc32c

    crc = google_crc32c.value(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


def to_tfrecord(record: bytes) -> bytes:
    """Frames one record as a TFRecord file (length, CRCs, data), without TensorFlow."""
    length = struct.pack("<Q", len(record))
    return length + _masked_crc(length) + record + _masked_crc(record)


def from_tfrecord(blob: bytes, uri: str = "") -> bytes:
    """The first record of a TFRecord file, checked against its length and data CRCs.

    Raises:
        SourceError: If the file is shorter than its framing says, or a CRC does not match.
    """
    header, header_crc = blob[:8], blob[8:12]
    if len(header) == 8 and header_crc == _masked_crc(header):
        (length,) = struct.unpack("<Q", header)
        record = blob[12 : 12 + length]
        if len(record) == length and blob[12 + length : 16 + length] == _masked_crc(record):
            return record
    raise SourceError(f"Statistics file {uri!r} is damaged (bad TFRecord framing); compute the statistics again.")


def write_statistics(stats: Mapping[str, statistics_pb2.DatasetFeatureStatisticsList], folder: str) -> None:
    """Writes each split's statistics to ``folder/Split-<name>/stats.tfrecord``."""
    for name, proto in stats.items():
        storage.write_bytes(os.path.join(folder, f"Split-{name}", STATS_FILE), to_tfrecord(proto.SerializeToString()))


def load_statistics(folder: str) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """Reads back what :func:`write_statistics` wrote, without importing TFDV."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    result = {}
    for path in storage.expand(os.path.join(folder, "Split-*", STATS_FILE)):
        name = os.path.basename(os.path.dirname(path))[len("Split-") :]
        proto = statistics_pb2.DatasetFeatureStatisticsList()
        proto.ParseFromString(from_tfrecord(storage.read_bytes(path), path))
        result[name] = proto
    return result


def statistics_html(
    lhs: statistics_pb2.DatasetFeatureStatisticsList,
    rhs: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
    lhs_name: str = "train",
    rhs_name: str = "eval",
) -> str:
    """The Facets Overview page TFDV shows inline, comparing two splits, as a standalone HTML page."""
    import_tfdv()
    from tensorflow_data_validation.utils import display_util

    body = display_util.get_statistics_html(lhs, rhs, lhs_name=lhs_name, rhs_name=rhs_name)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>TFDV statistics</title></head>"
        f"<body>{body}</body></html>\n"
    )


def summarize(stats: Mapping[str, statistics_pb2.DatasetFeatureStatisticsList]) -> dict[str, dict[str, int]]:
    """Rows and features per split, for run summaries."""
    return {
        name: {"rows": int(proto.datasets[0].num_examples), "features": len(proto.datasets[0].features)}
        for name, proto in stats.items()
    }
