"""How kfx reads a model's data: a split as Vertex AI hands it to a trainer, the feature matrix a
model takes, and the OpenMP setting under which scikit-learn shares the cores.

Evaluation, scoring, the serving check and the Vertex AI steps read data here, so kfx
never imports a trainer's package (a team's own ``trainer`` package would shadow one
named so); the bundled trainer (:mod:`kfx_trainer`) reads its splits here too.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from kfx.contract import DATA_FORMAT_VARIABLE
from kfx.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
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


def share_cores() -> None:
    """Lets OpenMP threads sleep between parallel regions instead of spinning.

    Gradient boosting runs many short parallel regions; when other processes share the
    cores, spinning threads wait on each other: measured here, a fit took 62 s instead
    of 3 s. libgomp reads the setting when it loads, with scikit-learn, so this must run
    before the process first imports it; later calls change nothing. A value already set
    in the environment wins.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def to_matrix(frame: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    """The feature columns as the 2-D array the model takes (what a prediction request carries)."""
    import numpy as np

    columns = frame[list(features)]
    if all(np.issubdtype(t, np.number) for t in columns.dtypes):
        return columns.to_numpy(dtype=float)
    return columns.to_numpy(dtype=object)
