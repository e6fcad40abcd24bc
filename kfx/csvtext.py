"""CSV tables kept as the text of their cells: read and written with Arrow.

The import step reads a source CSV once with pyarrow's multi-threaded reader and
keeps every cell as the text it was: no number is parsed and printed again, so a
split file holds the source's values byte for byte (a float keeps every digit it
had) and a missing cell stays empty. The reading follows ``pandas.read_csv``: the
same column names (pandas reads the header) and the same missing-value markers. A
file pyarrow's reader refuses (rows of another length than the header) is read by
pandas instead, still as text. Only the checks need
numbers: :func:`typed_frame` gives them the columns as pandas would type them.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, Optional, Union

from kfx import tablecheck
from kfx.errors import SourceError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# pandas.read_csv's default missing-value markers: a cell is missing exactly when pandas reads it so.
NA_VALUES = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "n/a",
    "nan",
    "null",
)
# Rows formatted and written at a time: bounds the memory a split's text takes while it is written.
BATCH_ROWS = 65536
# Bytes read from each end of a file to check it.
_ENDS = 1 << 20


def load_text(uri: str, data: Optional[bytes] = None) -> pa.Table:
    """Checks and reads a CSV source into a table of text columns (see :func:`read_text`).

    Args:
        uri: The source's name; without ``data``, the path of a local file.
        data: The file's bytes, gzip-compressed when ``uri`` ends with ``.gz``.

    Raises:
        SourceError: If it is binary, cut off mid-row or not a readable CSV table.
    """
    import pandas as pd

    if data is None and not uri.lower().endswith(".gz"):
        head, tail = _ends_of_file(uri)
        check(uri, head, tail, lines=lambda: _count_lines(uri))
        source: Union[str, bytes] = uri
    else:
        if data is None:
            with open(uri, "rb") as f:
                data = f.read()
        source = uncompressed(uri, data)
        check(uri, source[:_ENDS], source[-_ENDS:], lines=lambda: source.count(b"\n") + 1)
    try:
        tablecheck.check_names(header(source), repr(uri))
        return read_text(source)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        # pyarrow's ArrowInvalid and pandas' EmptyDataError / ParserError are ValueErrors.
        raise unreadable(uri, err) from None


def load_frame(uri: str, data: bytes) -> pd.DataFrame:
    """Checks and reads a CSV source (its bytes, gzip-compressed when named so) with pandas' types.

    Raises:
        SourceError: As :func:`load_text` does.
    """
    import pandas as pd

    data = uncompressed(uri, data)
    check(uri, data[:_ENDS], data[-_ENDS:], lines=lambda: data.count(b"\n") + 1)
    try:
        tablecheck.check_names(header(data), repr(uri))
        return pd.read_csv(io.BytesIO(data), encoding="utf-8")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise unreadable(uri, err) from None


def uncompressed(uri: str, data: bytes) -> bytes:
    """The file's bytes, decompressed when its name ends with ``.gz``.

    Raises:
        SourceError: If the gzip stream is damaged or cut off.
    """
    import gzip
    import zlib

    if not uri.lower().endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise unreadable(uri, err) from None


def check(uri: str, head: bytes, tail: bytes, lines: Callable[[], int]) -> None:
    """Refuses a binary file and a CSV cut off mid-row, from the file's first and last bytes.

    A CSV cut off mid-row ends without a newline and with fewer fields than its header;
    ``lines`` counts the file's lines, only for that message.

    Raises:
        SourceError: Naming what is wrong.
    """
    if b"\x00" in head[:65536]:
        raise unreadable(uri, ValueError("binary content"))
    if not tail or tail.endswith(b"\n"):
        return
    header = head.split(b"\n", 1)[0]
    last = tail.rsplit(b"\n", 1)[-1]
    if (b"\n" in head or b"\n" in tail) and last.count(b",") < header.count(b","):
        raise SourceError(
            f"{uri!r} ends in the middle of a row (line {lines()}), so the file is truncated; copy or export it again."
        )


def unreadable(uri: str, err: Exception) -> SourceError:
    """The error for a file that cannot be parsed as the table its name says."""
    kind = "Parquet" if uri.lower().endswith(".parquet") else "CSV"
    return SourceError(
        f"{uri!r} is not a readable {kind} table ({first_line(err)}); it may be truncated or binary: "
        "export it again or pass another file."
    )


def first_line(err: Exception) -> str:
    """The first line of an error's message, at most 120 characters (its type when empty)."""
    text = str(err).strip().splitlines()
    return text[0][:120] if text else type(err).__name__


def _ends_of_file(path: str) -> tuple[bytes, bytes]:
    with open(path, "rb") as f:
        head = f.read(_ENDS)
        f.seek(max(0, os.path.getsize(path) - _ENDS))
        return head, f.read()


def _count_lines(path: str) -> int:
    count = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            count += block.count(b"\n")
    return count + 1


def read_text(source: Union[str, bytes]) -> pa.Table:
    """Reads a CSV file (a local path, or the file's bytes) into a table of text columns.

    Args:
        source: Path of an uncompressed CSV file, or the CSV's bytes.

    Returns:
        One ``string`` column per CSV column, named as ``pandas.read_csv`` names them;
        missing cells are nulls.

    Raises:
        ValueError, UnicodeDecodeError, pandas.errors.ParserError: If neither reader can parse it.
    """
    import pandas as pd
    import pyarrow as pa
    from pyarrow import csv as pacsv

    def stream():
        return source if isinstance(source, str) else io.BytesIO(source)

    names = [str(n) for n in pd.read_csv(stream(), nrows=0).columns]
    try:
        # The header is read as the first row, then dropped: that way a header after blank
        # lines, or with a line break inside quotes, is one row, as pandas reads it.
        table = pacsv.read_csv(
            stream() if isinstance(source, str) else pa.py_buffer(source),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(len(names))},
                null_values=list(NA_VALUES),
                strings_can_be_null=True,
            ),
        )
        return table.slice(1).rename_columns(names)
    except pa.ArrowInvalid:
        # pandas pads short rows with missing cells.
        frame = pd.read_csv(stream(), dtype=str)
        return pa.table({str(n): pa.array(frame[n], type=pa.string()) for n in frame.columns})


def header(source: Union[str, bytes]) -> list[str]:
    """The header's cells as written, found as ``pandas.read_csv`` finds the header.

    pandas renames a repeated name (``Area``, then ``Area.1``); these are the names before that.

    Args:
        source: Path of an uncompressed CSV file, or the CSV's bytes.

    Raises:
        ValueError, UnicodeDecodeError: If pandas cannot read the first row.
    """
    import pandas as pd

    first = pd.read_csv(
        source if isinstance(source, str) else io.BytesIO(source),
        header=None,
        nrows=1,
        dtype=str,
        keep_default_na=False,
        encoding="utf-8",
    )
    return [str(cell) for cell in first.iloc[0]] if len(first) else []


def frame_text(frame: pd.DataFrame) -> pa.Table:
    """A typed table (Parquet, BigQuery) as text columns, each cell as ``DataFrame.to_csv`` prints it."""
    import pyarrow as pa

    columns = {}
    for name in frame.columns:
        values = frame[name]
        missing = values.isna().to_numpy()
        # astype(str) prints a float by its shortest exact repr, as to_csv does.
        text = values.astype(str).to_numpy(dtype=object)
        text[missing] = None
        columns[str(name)] = pa.array(text, type=pa.string())
    return pa.table(columns)


def typed_frame(table: pa.Table) -> pd.DataFrame:
    """The text table with each column typed as ``pandas.read_csv`` would: int64, float64, else text.

    A column of whole numbers with gaps is float64, as in pandas; text stays ``object``.
    """
    import pandas as pd
    import pyarrow as pa

    def typed(column):
        for kind in (pa.int64(), pa.float64()):
            try:
                return column.cast(kind).to_numpy()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
        return column.to_pandas()

    return pd.DataFrame({name: typed(column) for name, column in zip(table.column_names, table.columns, strict=True)})


def write_csv(table: pa.Table, out: BinaryIO) -> None:
    """Writes a table of ``string`` columns as CSV: the header, then one line per row, cells as they are.

    Quoting is the ``csv`` module's (and ``DataFrame.to_csv``'s) minimal quoting: only a
    cell holding a comma, a quote or a line break is quoted; a missing cell is empty.
    """
    out.write(_header(table.column_names))
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        out.write(_lines(batch))


def _header(names: list[str]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(names)
    return text.getvalue().encode("utf-8")


def _lines(batch: pa.RecordBatch) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = []
    for column in batch.columns:
        needs_quotes = pc.match_substring_regex(column, '[",\r\n]')
        if pc.any(needs_quotes).as_py():
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
            column = pc.if_else(needs_quotes, quoted, column)
        cells.append(pc.fill_null(column, ""))
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, ","), "", "\n")
    # One list holding every line, joined: the batch's CSV text in one buffer, without Python strings.
    whole = pa.ListArray.from_arrays([0, len(lines)], lines)
    return pc.binary_join(whole, "")[0].as_buffer()
