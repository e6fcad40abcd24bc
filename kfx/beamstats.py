"""TFDV statistics of CSV splits computed by one Beam pipeline (the ``beam`` statistics engine).

TFDV's own ``generate_statistics_from_csv`` runs one pipeline per file, and its CSV
decoder keeps every parsed line in the runner's memory while it infers the column
types (about 4 GB for a million rows). Here one pipeline serves every split, and each
split is read twice instead: one pass infers the column types (TFDV's own inferrer:
only the small type table travels), the other decodes the lines with those types and
computes the statistics as it reads. Both passes read the files in ranges that Beam
hands to its workers, so with several worker processes the work spreads over the cores.

Locally (``DirectRunner``), Beam's portable runner runs in this process (DirectRunner
would first try to download the Prism runner); on inputs large enough to repay the
workers' start-up it runs one worker process per core. Any other runner (Dataflow)
gets its options exactly as given.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Optional

from kfx import storage

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import statistics_pb2

DIRECT = "DirectRunner"
# Beam's portable runner, run in this process: what DirectRunner falls back to when Prism is missing.
PORTABLE = "apache_beam.runners.portability.fn_api_runner.FnApiRunner"
# Input bytes from which worker processes repay their start-up (each imports Beam and TFDV, 10 to 20 s).
MULTI_PROCESS_BYTES = 200 << 20
# Bytes of a file read as one range: a file of N ranges spreads over up to N workers.
RANGE_BYTES = 16 << 20


def runner_options(beam_options: Optional[Mapping[str, Any]], input_bytes: int) -> dict[str, Any]:
    """The pipeline options: ``beam_options`` with, for a local run, how it runs.

    Args:
        beam_options: Options as the user gave them; ``runner`` defaults to ``DirectRunner``.
        input_bytes: Size of the input, which decides whether worker processes pay off.

    Returns:
        For ``DirectRunner``: the portable runner, and, unless the options say how it
        runs (``direct_running_mode`` / ``direct_num_workers``), one worker process per
        core for inputs of at least :data:`MULTI_PROCESS_BYTES`, else one in-process
        worker. Any other runner: the options unchanged.
    """
    options = {"runner": DIRECT, **(beam_options or {})}
    if options["runner"] != DIRECT:
        return options
    options["runner"] = PORTABLE
    if "direct_running_mode" in options or "direct_num_workers" in options:
        return options
    cores = os.cpu_count() or 1
    if cores > 1 and input_bytes >= MULTI_PROCESS_BYTES:
        options.update(direct_running_mode="multi_processing", direct_num_workers=cores)
    else:
        options.update(direct_running_mode="in_memory", direct_num_workers=1)
    return options


def csv_statistics(
    data_uris: Mapping[str, str],
    beam_options: Optional[Mapping[str, Any]] = None,
) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """Computes TFDV statistics of CSV files (one per split) in one Beam pipeline.

    Args:
        data_uris: Split name to CSV file (local or ``gs://``; the header names the columns).
        beam_options: Beam pipeline options; see :func:`runner_options`.

    Returns:
        Split name to statistics, as ``tfdv.generate_statistics_from_csv`` computes them.
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from kfx.tfdv_core import import_tfdv

    tfdv = import_tfdv()
    from tensorflow_data_validation.utils.stats_gen_lib import get_csv_header

    options = runner_options(beam_options, sum(_size(uri) for uri in data_uris.values()))
    columns = {name: get_csv_header(uri, ",") for name, uri in data_uris.items()}
    # Workers write the statistics where this process reads them back: on Dataflow, under temp_location.
    remote = options["runner"] != PORTABLE and options.get("temp_location")
    folder = (
        f"{remote.rstrip('/')}/kfx-statistics-{uuid.uuid4().hex[:12]}"
        if remote
        else tempfile.mkdtemp(prefix="kfx-statistics-")
    )
    try:
        # flags=[]: Beam would otherwise parse this process's own command line.
        with _workers_skip_keras(), beam.Pipeline(options=PipelineOptions(flags=[], **options)) as pipeline:
            for name, uri in data_uris.items():
                _ = (
                    pipeline
                    | f"Decode-{name}" >> _DecodeCSV(uri, columns[name])
                    | f"Statistics-{name}" >> tfdv.GenerateStatistics(tfdv.StatsOptions())
                    | f"Write-{name}" >> tfdv.WriteStatisticsToBinaryFile(f"{folder}/{name}.pb")
                )
        return {
            name: _in_column_order(
                statistics_pb2.DatasetFeatureStatisticsList.FromString(storage.read_bytes(f"{folder}/{name}.pb")),
                columns[name],
            )
            for name in data_uris
        }
    finally:
        if not remote:
            shutil.rmtree(folder, ignore_errors=True)


def _in_column_order(
    proto: statistics_pb2.DatasetFeatureStatisticsList, columns: list[str]
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The statistics with features in the file's column order.

    TFDV lists features in the order its partial results happen to merge, which with
    several workers changes from run to run; in column order, every run gives the same proto.
    """
    from tensorflow_metadata.proto.v0 import statistics_pb2

    position = {name: i for i, name in enumerate(columns)}
    for dataset in proto.datasets:
        features = [statistics_pb2.FeatureNameStatistics.FromString(f.SerializeToString()) for f in dataset.features]
        features.sort(key=lambda f: position.get(f.path.step[0] if f.path.step else f.name, len(position)))
        del dataset.features[:]
        dataset.features.extend(features)
    return proto


@contextlib.contextmanager
def _workers_skip_keras() -> Iterator[None]:
    """Worker processes start with this process's environment: let them skip Keras as
    :func:`~kfx.tfdv_core.import_tfdv` does, which saves each about 5 s of start-up."""
    if "TF_USE_LEGACY_KERAS" in os.environ:
        yield
        return
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        yield
    finally:
        os.environ.pop("TF_USE_LEGACY_KERAS", None)


def _size(uri: str) -> int:
    return 0 if storage.is_gcs(uri) else os.path.getsize(uri)


def _DecodeCSV(uri: str, columns: list[str]):
    """The transform that reads ``uri`` and yields Arrow record batches, types inferred as TFDV does."""
    import apache_beam as beam
    from tensorflow_data_validation import constants
    from tfx_bsl.coders import batch_util, csv_decoder

    def parsed(pipeline, label: str):
        return (
            pipeline
            | f"{label}File" >> beam.Create([uri])
            | f"{label}Lines" >> beam.io.ReadAllFromText(skip_header_lines=1, desired_bundle_size=RANGE_BYTES)
            | f"{label}Parse" >> beam.ParDo(csv_decoder.ParseCSVLine(","))
        )

    @beam.ptransform_fn
    def decode(pipeline):
        types = beam.pvalue.AsSingleton(
            parsed(pipeline, "Types")
            | "Cells" >> beam.Keys()
            | "InferTypes" >> beam.CombineGlobally(csv_decoder.ColumnTypeInferrer(columns, skip_blank_lines=True))
        )
        return (
            parsed(pipeline, "Rows")
            | "Batch"
            >> batch_util.BatchRecords(
                constants.DEFAULT_DESIRED_INPUT_BATCH_SIZE, ["kfx"], record_size_fn=lambda kv: len(kv[1]) << 1
            )
            | "ToArrow" >> beam.ParDo(csv_decoder.BatchedCSVRowsToRecordBatch(skip_blank_lines=True), types)
        )

    return decode()
