"""Deliberately damaged copies of a table, to see what TFDV says about broken data.

Each function returns a changed copy and leaves its input alone. The damage is
the kind real tables suffer: a class nobody has seen before, a column an
upstream export stopped writing, a measurement whose scale shifted. The changes
depend only on the arguments (and ``seed``), so a lesson or a test that checks
TFDV's findings gets the same findings every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kfx.config import Config
from kfx.errors import DataError

if TYPE_CHECKING:
    import pandas as pd


def _require(df: pd.DataFrame, column: str) -> None:
    if column not in df.columns:
        raise DataError(f"Column {column!r} is not in the table; pass one of: {', '.join(map(str, df.columns))}.")


def with_new_category(df: pd.DataFrame, column: str, value: str, share: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Sets ``column`` to an unseen ``value`` in a random ``share`` of the rows (at least one).

    Raises:
        DataError: If the column does not exist or ``value`` already occurs in it.
    """
    _require(df, column)
    if (df[column].astype(str) == str(value)).any():
        raise DataError(f"{value!r} already occurs in {column!r}; pass a value the table does not hold.")
    out = df.copy()
    rows = out.sample(n=max(1, round(len(out) * share)), random_state=seed).index
    out[column] = out[column].astype(object)
    out.loc[rows, column] = value
    return out


def without_column(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Drops ``column``, as an export that stopped writing it would.

    Raises:
        DataError: If the column does not exist.
    """
    _require(df, column)
    return df.drop(columns=[column])


def with_drift(df: pd.DataFrame, column: str, factor: float = 1.5) -> pd.DataFrame:
    """Multiplies the numeric ``column`` by ``factor``: same shape, shifted scale (a recalibrated sensor).

    An integer column stays integer (rounded), so the damage is drift alone, not also a type change.

    Raises:
        DataError: If the column does not exist or is not numeric.
    """
    import pandas as pd

    _require(df, column)
    if not pd.api.types.is_numeric_dtype(df[column]):
        raise DataError(f"Column {column!r} is not numeric; pass a numeric column to drift.")
    out = df.copy()
    scaled = out[column] * factor
    out[column] = scaled.round().astype(out[column].dtype) if pd.api.types.is_integer_dtype(out[column]) else scaled
    return out


def with_drift_in_rows(df: pd.DataFrame, column: str, factor: float = 10.0, every: int = 2) -> pd.DataFrame:
    """Multiplies the numeric ``column`` by ``factor`` in every ``every``-th row (the first, then every
    other by default): half the table comes from a recalibrated sensor. The shifted rows are spread
    through the table, so every split of it sees them alike: train and validation do not skew from
    each other, but both drift from a model trained on clean data.

    Raises:
        DataError: If the column does not exist or is not numeric, or ``every`` is below 1.
    """
    if every < 1:
        raise DataError(f"every is {every}; pass 1 (every row) or more, such as 2 (every other row).")
    shifted = with_drift(df.iloc[::every], column, factor)
    out = df.copy()
    out.loc[shifted.index, column] = shifted[column]
    return out


def damaged_copy(
    df: pd.DataFrame,
    new_category: tuple[str, str] = (Config.label_column, "PINTO"),
    missing_column: str = "Solidity",
    drift: tuple[str, float] = ("Area", 1.5),
    seed: int = 0,
) -> pd.DataFrame:
    """All three kinds of damage at once; the defaults fit the beans table.

    Args:
        df: The table to copy.
        new_category: Column and the unseen value written into 5 % of its rows.
        missing_column: Column to drop.
        drift: Numeric column and the factor it is multiplied by.
        seed: Chooses the rows that get the new category. Defaults to 0.

    Returns:
        The damaged copy.
    """
    out = with_new_category(df, new_category[0], new_category[1], seed=seed)
    out = without_column(out, missing_column)
    return with_drift(out, drift[0], drift[1])
