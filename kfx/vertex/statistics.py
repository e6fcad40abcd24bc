"""TFDV statistics of a BigQuery table, split as the training job will split it.

On Vertex AI the data never passes through an import step: statistics read
``bq_source`` directly. With ``DataflowRunner`` a Beam pipeline reads the table
(``ReadFromBigQuery``, an export billed to the pipeline's project), splits rows
by a seeded hash into train / validation / test and computes statistics on
Dataflow workers running the kfx image; with
any other runner the table is read into memory and split exactly as the local
target splits it. Both write the same statistics artifact as the local step.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from tensorflow_metadata.proto.v0 import statistics_pb2

SPLITS = ("train", "validation", "test")
DATAFLOW = "DataflowRunner"


def beam_pipeline_options(
    runner: str,
    project: str,
    region: str,
    bucket: str,
    network: str = "",
    subnetwork: str = "",
    sdk_container_image: str = "",
    service_account: str = "",
) -> dict[str, Any]:
    """The Beam pipeline options of the statistics pipeline.

    Args:
        runner: ``DataflowRunner`` or ``DirectRunner``.
        project: Google Cloud project that runs (and pays for) the Dataflow job.
        region: Dataflow region.
        bucket: ``gs://`` bucket; temporary and staging files go under ``dataflow/``.
        network: VPC network of the workers; empty uses ``default``.
        subnetwork: Subnetwork of the workers (``regions/R/subnetworks/S`` or a URL).
        sdk_container_image: Worker image; the kfx image, so workers have TFDV and kfx.
        service_account: Identity of the workers; empty uses the Compute Engine default
            service account. The pipeline's own service account keeps one identity throughout.

    Returns:
        Keyword arguments for ``PipelineOptions``; only the runner for ``DirectRunner``.
    """
    if runner != DATAFLOW:
        return {"runner": runner}
    root = bucket.rstrip("/")
    options: dict[str, Any] = {
        "runner": runner,
        "project": project,
        "region": region,
        "temp_location": f"{root}/dataflow/temp",
        "staging_location": f"{root}/dataflow/staging",
        # A custom worker image needs Runner v2.
        "experiments": ["use_runner_v2"],
    }
    if network:
        options["network"] = network
    if subnetwork:
        options["subnetwork"] = subnetwork
    if sdk_container_image:
        options["sdk_container_image"] = sdk_container_image
        # The image already holds Beam, TFDV and kfx: stage nothing, install nothing on workers.
        options["sdk_location"] = "container"
    if service_account:
        options["service_account_email"] = service_account
    return options


def split_of(row: Mapping[str, Any], fractions: Sequence[float], seed: int) -> int:
    """The split index (0 train, 1 validation, 2 test) of a row, from a seeded hash of its values.

    The same row always lands in the same split, on any worker and in any order.
    """
    key = json.dumps(row, sort_keys=True, default=str).encode("utf-8")
    digest = hashlib.sha256(str(seed).encode("ascii") + b"\x00" + key).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64
    if share < fractions[0]:
        return 0
    if share < fractions[0] + fractions[1]:
        return 1
    return 2


def rows_to_record_batch(rows: Sequence[Mapping[str, Any]]) -> pa.RecordBatch:
    """Rows (dicts, as ReadFromBigQuery yields them) as the Arrow batch TFDV takes: one list column per field."""
    import decimal

    import pyarrow as pa

    names = sorted({name for row in rows for name in row})

    def cell(value):
        if value is None:
            return None
        if isinstance(value, decimal.Decimal):
            value = float(value)
        elif not isinstance(value, (bool, int, float, str, bytes)):
            value = str(value)  # dates and times: counted as strings
        return [value]

    return pa.RecordBatch.from_arrays([pa.array([cell(row.get(n)) for row in rows]) for n in names], names)


def beam_statistics(
    read: Any,
    fractions: Sequence[float],
    seed: int,
    options: Mapping[str, Any],
    output_dir: str,
) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """Runs the Beam statistics pipeline and returns each split's statistics.

    Args:
        read: The transform that yields rows as dicts (``ReadFromBigQuery`` on the cloud).
        fractions: Train, validation and test fractions.
        seed: Seed of the row hash.
        options: Beam pipeline options (see :func:`beam_pipeline_options`).
        output_dir: Where the workers write ``<split>.pb`` (``gs://`` for Dataflow).

    Returns:
        Split name to statistics.
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from kfx import storage
    from kfx.statistics import import_tfdv

    tfdv = import_tfdv()
    fractions = tuple(fractions)
    # flags=[]: otherwise Beam parses this process's own command line as pipeline options.
    with beam.Pipeline(options=PipelineOptions(flags=[], **options)) as pipeline:
        # Beam annotates Partition's function as its own WithTypeHints class; a plain function is what it takes.
        by_split = beam.Partition(lambda row, n: split_of(row, fractions, seed), len(SPLITS))  # type: ignore[arg-type]
        parts = pipeline | "ReadRows" >> read | "Split" >> by_split
        for name, part in zip(SPLITS, parts, strict=True):
            _ = (
                part
                | f"Batch-{name}" >> beam.BatchElements(min_batch_size=100, max_batch_size=1000)
                | f"ToArrow-{name}" >> beam.Map(rows_to_record_batch)
                | f"Statistics-{name}" >> tfdv.GenerateStatistics(tfdv.StatsOptions())
                | f"Write-{name}" >> tfdv.WriteStatisticsToBinaryFile(f"{output_dir.rstrip('/')}/{name}.pb")
            )
    result = {}
    for name in SPLITS:
        proto = statistics_pb2.DatasetFeatureStatisticsList()
        proto.ParseFromString(storage.read_bytes(f"{output_dir.rstrip('/')}/{name}.pb"))
        proto.datasets[0].name = name
        result[name] = proto
    return result


def read_table(table_id: str, billing_project: str = "") -> pd.DataFrame:
    """Reads a whole BigQuery table through the Storage Read API.

    The read session is billed to ``billing_project`` (the pipeline's project), not to
    the table's: public tables live in projects where the pipeline may not create sessions.
    """
    from google.cloud import bigquery

    client = bigquery.Client(project=billing_project or table_id.split(".")[0].split(":")[-1])
    return client.list_rows(client.get_table(table_id)).to_dataframe(create_bqstorage_client=True)


def memory_statistics(
    table_id: str, label_column: str, fractions: Sequence[float], seed: int, billing_project: str = ""
) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """Reads the table into memory, checks and splits it as the local import does, and computes statistics."""
    from kfx import data, splitting
    from kfx.statistics import compute_statistics

    table = data.check_table(read_table(table_id, billing_project), label_column, fractions, source=f"bq://{table_id}")
    return compute_statistics(splitting.stratified_split(table, label_column, fractions, seed))


def generate_statistics_bq(
    bq_source: str,
    statistics_dir: str,
    html_path: str,
    label_column: str,
    fractions: Sequence[float],
    seed: int,
    beam_options: Optional[Mapping[str, Any]] = None,
    read: Optional[Callable[[str], Any]] = None,
    billing_project: str = "",
) -> dict[str, Any]:
    """Computes TFDV statistics of every split of a BigQuery table and writes them as the local step does.

    Args:
        bq_source: ``bq://project.dataset.table``.
        statistics_dir: The statistics artifact folder.
        html_path: The Facets view of train vs. eval.
        label_column: Class column (the memory path stratifies on it).
        fractions: Train, validation and test fractions.
        seed: Seed of the split.
        beam_options: From :func:`beam_pipeline_options`; ``DataflowRunner`` runs the Beam
            pipeline, anything else (or nothing) computes in memory.
        read: Makes the row-reading transform from a table id; defaults to ``ReadFromBigQuery``.
        billing_project: Project billed for reading the table in memory; defaults to the table's.

    Returns:
        Rows per split, ``features``, and ``engine`` (``dataflow`` or ``memory``).

    Raises:
        SourceError: If ``bq_source`` is not a valid BigQuery table id.
    """
    from kfx import data, statistics, storage

    table_id = data.parse_source(bq_source).table_id
    if not table_id:
        from kfx.errors import SourceError

        raise SourceError(f"{bq_source!r} is not a BigQuery table; write bq://PROJECT.DATASET.TABLE.")
    options = dict(beam_options or {})
    if options.get("runner") == DATAFLOW:
        output_dir = f"{options['temp_location'].rstrip('/')}/kfx-statistics-{uuid.uuid4().hex[:12]}"
        stats = beam_statistics((read or _read_bigquery)(table_id), fractions, seed, options, output_dir)
        engine = "dataflow"
    else:
        stats = memory_statistics(table_id, label_column, fractions, seed, billing_project)
        engine = "memory"
    statistics.write_statistics(stats, statistics_dir)
    storage.write_text(html_path, statistics.statistics_html(stats["train"], stats["validation"], "train", "eval"))
    summary = statistics.summarize(stats)
    result: dict[str, Any] = {f"{name}_rows": s["rows"] for name, s in summary.items()}
    result.update(features=summary["train"]["features"], engine=engine)
    return result


def _read_bigquery(table_id: str):
    import apache_beam as beam

    # EXPORT runs the extract job in the pipeline's project (the Beam option `project`) and
    # reads the Avro files from temp_location. DIRECT_READ would open its read session in
    # the table's own project, which a public table such as aju-dev-demos.beans.beans1
    # refuses with 403 bigquery.readsessions.create (apache/beam#26904).
    return beam.io.ReadFromBigQuery(table=table_id, method=beam.io.ReadFromBigQuery.Method.EXPORT)
