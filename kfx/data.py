"""Reading a source table and checking that it can be split and trained on (the split: :mod:`kfx.splitting`).

A source is a URI: a local ``.csv`` / ``.csv.gz`` / ``.parquet`` path, ``gs://…``
(CSV or Parquet) or ``bq://project.dataset.table``. Empty means the UCI Dry Bean
table shipped inside kfx.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Optional

from kfx import csvtext, storage, tablecheck
from kfx.csvtext import first_line as _first_line
from kfx.errors import DataError, SourceError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

_FORMATS = (".csv", ".csv.gz", ".parquet")
# bq://project.dataset.table; a project may carry a domain prefix (example.com:project).
_BQ_ID = re.compile(
    r"^bq://(?P<project>(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"\.(?P<dataset>[A-Za-z0-9_]{1,1024})\.(?P<table>[A-Za-z0-9_-]{1,1024})$"
)
# Share of a column's non-empty values that must parse as numbers for it to count as numeric.
_NUMERIC_SHARE = 0.9


def beans_path() -> str:
    """Path of the UCI Dry Bean table shipped with kfx (gzip-compressed CSV, CC BY 4.0)."""
    return str(resources.files("kfx") / "data" / "dry_bean.csv.gz")


@dataclass(frozen=True)
class Source:
    """A parsed source URI.

    Attributes:
        uri: The URI as given (the packaged table's path when it was empty).
        kind: ``local``, ``gcs`` or ``bigquery``.
        table_id: ``project.dataset.table`` for BigQuery sources, else empty.
    """

    uri: str
    kind: str
    table_id: str = ""


def parse_source(uri: str) -> Source:
    """Checks a source URI without reading it.

    Args:
        uri: Local path, ``gs://…`` or ``bq://project.dataset.table``; empty means packaged beans.

    Returns:
        The parsed source.

    Raises:
        SourceError: For an unknown scheme, a malformed ``bq://`` id, a bad bucket,
            an unsupported file type or a local path that does not exist.
    """
    uri = (uri or "").strip() or beans_path()
    if uri.startswith("bq://"):
        match = _BQ_ID.match(uri)
        if not match:
            raise SourceError(
                f"{uri!r} is not a valid BigQuery table id; write bq://PROJECT.DATASET.TABLE "
                "(letters, digits and underscores; the project id in lower case)."
            )
        return Source(uri, "bigquery", f"{match['project']}.{match['dataset']}.{match['table']}")
    if "://" in uri and not storage.is_gcs(uri):
        raise SourceError(
            f"{uri!r} has an unknown scheme; use a local path, gs://BUCKET/PATH or bq://PROJECT.DATASET.TABLE."
        )
    if not uri.lower().endswith(_FORMATS):
        raise SourceError(f"{uri!r} is not a .csv, .csv.gz or .parquet file; convert it or pass such a file.")
    if storage.is_gcs(uri):
        storage.split_gcs(uri)
        return Source(uri, "gcs")
    if not os.path.isfile(uri):
        raise SourceError(f"Source file {uri!r} does not exist; pass the path of an existing .csv or .parquet file.")
    return Source(uri, "local")


def read_source(uri: str, billing_project: Optional[str] = None) -> pd.DataFrame:
    """Reads a source table whole into a DataFrame.

    Args:
        uri: See :func:`parse_source`.
        billing_project: Project billed for a BigQuery read; None uses the environment's
            default project (a public table refuses reads billed to its own project).

    Raises:
        SourceError: If the source cannot be found or is not a readable table
            (truncated, binary or of another format than its name says).
    """
    source = parse_source(uri)
    if source.kind == "bigquery":
        return _read_bigquery(source.table_id, billing_project)
    data = storage.read_bytes(source.uri)
    return _parse_table(source.uri, data)


def read_text_table(uri: str, billing_project: Optional[str] = None) -> pa.Table:
    """Reads a source table as text: every cell as the CSV holds it, for writing it out unchanged.

    A CSV's cells are kept as written (see :mod:`kfx.csvtext`); a Parquet or BigQuery
    table's values are printed as ``DataFrame.to_csv`` prints them.

    Args:
        uri: See :func:`parse_source`.
        billing_project: See :func:`read_source`.

    Raises:
        SourceError: As :func:`read_source` does.
    """
    source = parse_source(uri)
    if source.kind == "bigquery" or source.uri.lower().endswith(".parquet"):
        return csvtext.frame_text(read_source(source.uri, billing_project))
    if source.kind == "local":
        # pyarrow reads a local file itself, block by block: its bytes are never all held at once.
        return csvtext.load_text(source.uri)
    return csvtext.load_text(source.uri, storage.read_bytes(source.uri))


def _parse_table(uri: str, data: bytes) -> pd.DataFrame:
    if not uri.lower().endswith(".parquet"):
        return csvtext.load_frame(uri, data)
    import pyarrow.parquet as pq

    try:
        # A repeated column name is refused before reading: pyarrow cannot select such a column.
        tablecheck.check_names(pq.ParquetFile(io.BytesIO(data)).schema_arrow.names, repr(uri))
        return pq.read_table(io.BytesIO(data)).to_pandas()
    except (ValueError, OSError) as err:
        # pyarrow's ArrowInvalid is a ValueError.
        raise csvtext.unreadable(uri, err) from None


def _read_bigquery(table_id: str, billing_project: Optional[str]) -> pd.DataFrame:
    # The table id was validated by parse_source and is passed as a table
    # reference, never pasted into SQL.
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import bigquery

    try:
        client = bigquery.Client(project=billing_project)
    except (DefaultCredentialsError, OSError) as err:
        raise SourceError(
            f"Reading bq://{table_id} needs Google Cloud credentials and a project to bill ({_first_line(err)}); "
            "run `gcloud auth application-default login` and set GOOGLE_CLOUD_PROJECT."
        ) from None
    rows = client.list_rows(client.get_table(table_id))
    return rows.to_dataframe(create_bqstorage_client=True)


def check_table(
    df: pd.DataFrame,
    label_column: str,
    fractions: Sequence[float],
    source: str = "the table",
    *,
    sampled_from: Optional[pd.Series] = None,
    cells: Optional[pa.Table] = None,
    task: str = "classification",
) -> pd.DataFrame:
    """Checks that a table can be split and trained on, and returns it with numeric columns as numbers.

    Messages name a row by its line in a CSV file: the index of ``df`` plus 2.

    Args:
        df: The table as read (or a sample of it, indexed by the rows' positions in the table).
        label_column: The class column.
        fractions: Train, validation and test fractions.
        source: How to name the table in messages.
        sampled_from: When ``df`` is a sample (``--sample-rows``), the whole table's labels: a class
            too small in the sample is then answered with the smallest sample that suffices.
        cells: ``df``'s rows as text, to quote a bad cell as written (see :func:`tablecheck.check_finite`).
        task: ``classification`` checks that every class reaches every split; ``regression`` that
            the rows do (its split keeps the shares of bins of the label, :func:`kfx.tasks.strata`).

    Returns:
        The table, with columns that hold numbers stored as numbers.

    Raises:
        DataError: If there are no rows, a column name repeats, the label column is missing or empty
            or holds one class, a class has too few rows for every split, or a numeric column holds
            a non-number or an infinite number.
    """
    import pandas as pd

    if len(df) == 0:
        raise DataError(f"{source} has no rows; pass a table with data.")
    tablecheck.check_names(list(df.columns), source)
    if label_column not in df.columns:
        shown = ", ".join(map(str, list(df.columns)[:20]))
        raise DataError(
            f"Label column {label_column!r} is not in {source} (columns: "
            f"{shown}); pass --label-column with one of them."
        )
    if df[label_column].isna().any():
        row = int(df.index[df[label_column].isna()][0]) + 2
        raise DataError(f"Label column {label_column!r} of {source} is empty in line {row}; fill or drop that row.")
    if len(df.columns) < 2:
        raise DataError(f"{source} has only the label column; add feature columns.")
    counts = df[label_column].value_counts()
    tablecheck.check_classes(counts, label_column, source, task)

    converted = {}
    for column in df.columns:
        if column == label_column or pd.api.types.is_numeric_dtype(df[column]):
            continue
        values = df[column]
        present = values.notna()
        numbers = pd.to_numeric(values, errors="coerce")
        parsed = numbers.notna() & present
        if present.sum() and parsed.sum() / present.sum() >= _NUMERIC_SHARE:
            bad = values[present & ~parsed]
            if len(bad):
                row = int(bad.index[0]) + 2
                raise DataError(
                    f"Column {column!r} of {source} is numeric but line {row} holds {str(bad.iloc[0])!r}; "
                    "fix or remove that value."
                )
            converted[column] = numbers
    if converted:
        df = df.copy()  # the table passed in stays as it was
        for column, numbers in converted.items():
            df[column] = numbers
    tablecheck.check_finite(df, label_column, source, cells)

    if task == "regression":
        from kfx import tasks

        tasks.check_rows(len(df), tablecheck.needed_rows(fractions), label_column, source, task)
    else:
        tablecheck.check_counts(counts, label_column, fractions, sampled_from)
    return df
