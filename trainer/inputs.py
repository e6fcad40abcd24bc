"""The trainer's input: each split read as Vertex AI hands it over, and what of it the model learns from
(the feature columns, the number of classes), each refusal one sentence naming the data and the fix.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Optional

from kfx.contract import DATA_FORMAT_VARIABLE
from kfx.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd


def read_split(uri: str, data_format: str, label_column: Optional[str] = None):
    """Reads one split the way Vertex AI hands it over: CSV files / wildcards or a BigQuery table.

    Args:
        uri: CSV file or wildcard, or ``bq://project.dataset.table``.
        data_format: ``csv`` or ``bigquery``.
        label_column: For data to train on: its feature columns are checked for infinite
            numbers, which scikit-learn refuses with a traceback.

    Raises:
        ConfigError: For an unknown data format.
        SourceError: If the URI matches no file.
        DataError: If a CSV header repeats a column name, or a feature holds an infinite number.
    """
    import pandas as pd

    from kfx import csvtext, data, storage, tablecheck
    from kfx.errors import SourceError

    if data_format == "bigquery":
        uri = uri if uri.startswith("bq://") else f"bq://{uri}"
        # Vertex AI exports the splits into the job's own project: bill that one.
        frame = data.read_source(uri, billing_project=data.parse_source(uri).table_id.split(".")[0])
        if label_column is not None:
            tablecheck.check_finite(frame, label_column, repr(uri), lines=False)
        return frame
    if data_format != "csv":
        raise ConfigError(f"{DATA_FORMAT_VARIABLE} is {data_format!r}; the trainer reads csv or bigquery.")
    files = storage.expand(uri)
    if not files:
        raise SourceError(f"No data file matches {uri!r}; check the data URI handed to the trainer.")
    frames = []
    for name in files:
        raw = storage.read_bytes(name)
        # pandas would read a repeated name as a column of its own (Area.1) and the model learn from it.
        tablecheck.check_names(csvtext.header(raw), repr(name))
        frames.append(pd.read_csv(io.BytesIO(raw)))
        if label_column is not None:  # each file apart, so that the message names its line
            tablecheck.check_finite(frames[-1], label_column, repr(name))
    return pd.concat(frames, ignore_index=True)


def select_features(frame: pd.DataFrame, label: str) -> tuple[list[str], list[bool], list[str]]:
    """The feature columns of the training split, which of them are text, and the ID-like columns left out.

    Raises:
        DataError: If the label is not a column, or no column is left to learn from.
    """
    import pandas as pd

    from kfx.errors import DataError
    from trainer.model import ID_SHARE, id_like_columns

    if label not in frame.columns:
        raise DataError(f"Label column {label!r} is not in the training data; pass --label-column.")
    columns = [c for c in frame.columns if c != label]
    left_out = id_like_columns(frame, columns)
    features = [c for c in columns if c not in left_out]
    if not features:
        raise DataError(
            f"The training data has no feature column besides the label {label!r}"
            + (f" and the ID-like column(s) {', '.join(left_out)} (>= {ID_SHARE:.0%} distinct)" if left_out else "")
            + "; pass a table with columns that describe the rows."
        )
    return features, [not pd.api.types.is_numeric_dtype(frame[c]) for c in features], left_out


def count_classes(frame: pd.DataFrame, label: str) -> int:
    """The number of classes in the training split.

    Raises:
        DataError: If there are more than :data:`trainer.model.MAX_CLASSES`: the fit and its
            predictions would grow with their square (see there) and not end in useful time.
    """
    from kfx.errors import DataError
    from trainer.model import MAX_CLASSES

    classes = int(frame[label].nunique())
    if classes > MAX_CLASSES:
        raise DataError(
            f"Label column {label!r} holds {classes:,} classes in the training data, more than the {MAX_CLASSES:,} "
            "the trainer fits (its time grows with the square of the classes); merge rare classes or pass a "
            "coarser --label-column."
        )
    return classes
