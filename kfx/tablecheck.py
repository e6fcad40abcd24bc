"""Checks of a table's header, cells and classes shared by the import step and the trainer.

Each refuses what would otherwise pass in silence or crash a later step: a column name
written twice (pandas would rename the second ``Area`` to ``Area.1`` and train on it),
an infinite number (pandas and pyarrow read ``inf``, ``-Infinity`` or ``1e999`` as
infinity, which no scikit-learn model takes), a label with a single class, and a sample
too small for every class to reach every split. Each check is vectorized over rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from kfx.errors import DataError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def check_names(names: Sequence[str], source: str) -> None:
    """Refuses a header that names a column more than once.

    Empty header cells are left alone: pandas names each one apart (``Unnamed: 3``).

    Args:
        names: The header's cells as written, in order.
        source: How to name the table in the message.

    Raises:
        DataError: Naming the first repeated name and the positions (1 is the first column) it is at.
    """
    positions: dict[str, list[int]] = {}
    for position, name in enumerate(names, 1):
        if name != "":
            positions.setdefault(str(name), []).append(position)
    for name, where in positions.items():
        if len(where) > 1:
            listed = ", ".join(map(str, where[:-1])) + f" and {where[-1]}"
            raise DataError(
                f"Column name {name!r} is in the header of {source} {_times(len(where))} (columns {listed}); "
                "rename or drop the copies, so that each column has a name of its own."
            )


def check_finite(
    frame: pd.DataFrame,
    label_column: str,
    source: str,
    cells: Optional[pa.Table] = None,
    lines: bool = True,
) -> None:
    """Refuses an infinite number in a feature column.

    Args:
        frame: The table with its numeric columns as numbers; its index is the row's position in
            the source (0 is the first data row, on line 2 of a CSV file).
        label_column: The class column, not checked: its values are names of classes.
        source: How to name the table in the message.
        cells: The same rows as text (``frame``'s row ``i`` is row ``i`` here), to quote the cell
            as written (``Infinity``, ``1e999``); without it the number is quoted.
        lines: Name the row by its line in a CSV file; False (a BigQuery table) names it by its number.

    Raises:
        DataError: Naming the first column holding one, its line and the fix.
    """
    import numpy as np

    for name in frame.columns:
        column = frame[name]
        if name == label_column or column.dtype.kind != "f":
            continue
        infinite = np.isinf(column.to_numpy())
        if not infinite.any():
            continue
        position = int(np.flatnonzero(infinite)[0])
        text = str(column.iloc[position])
        if cells is not None and name in cells.column_names:
            text = cells.column(name)[position].as_py()
        row = int(frame.index[position])
        where = f"line {row + 2}" if lines else f"row {row + 1}"
        raise DataError(
            f"Column {name!r} of {source} holds {text!r} in {where}, an infinite "
            "number no model can learn from; replace it with a number, or leave the cell empty so it counts as "
            "missing (training fills a missing number with the column's median)."
        )


def check_classes(counts: pd.Series, label_column: str, source: str, task: str = "classification") -> None:
    """Refuses a label with one class (a classifier needs at least two), or one value (so does a regression).

    Args:
        counts: Rows per class (``value_counts()`` of the label column).
        label_column: The class column.
        source: How to name the table in the message.
        task: ``classification`` or ``regression``, named in the message.

    Raises:
        DataError: Naming the one class and the fix.
    """
    if len(counts) == 1:
        one, model = ("value", "a regression") if task == "regression" else ("class", "a classifier")
        raise DataError(
            f"Label column {label_column!r} of {source} holds one {one}, {counts.index[0]!r}, in all its "
            f"{int(counts.iloc[0])} rows, and {model} needs at least two; add rows of another {one}, or pass "
            "--label-column with the column that holds the classes."
        )


def check_counts(
    counts: pd.Series, label_column: str, fractions: Sequence[float], sampled_from: Optional[pd.Series] = None
) -> None:
    """Refuses a class with too few rows to appear in every split, with the fix that works.

    Each class needs ``1 / fraction`` rows for the smallest fraction. When the table is a sample
    whose whole table has enough rows of every class, the fix is a larger sample: the message
    names the smallest ``--sample-rows`` that works (see :func:`smallest_sample`).

    Args:
        counts: Rows per class of the table (or sample) to split.
        label_column: The class column.
        fractions: Train, validation and test fractions.
        sampled_from: The whole table's labels when the table is a sample of it.

    Raises:
        DataError: Naming the class, its rows, the rows it needs and the fix.
    """
    needed = needed_rows(fractions)
    if not (counts < needed).any():
        return
    whole = counts if sampled_from is None else sampled_from.value_counts()
    if (whole < needed).any():
        small = whole[whole < needed]
        raise DataError(
            f"Class {small.index[0]!r} of {label_column!r} has {int(small.iloc[0])} row(s), too few to appear in "
            f"every split (each class needs at least {needed}); add rows of that class or drop it."
        )
    small = counts[counts < needed]
    rows, total = smallest_sample(whole, needed), int(whole.sum())
    fix = (
        f"pass --sample-rows {rows} or more (0 for all {total} rows)"
        if rows
        else (f"pass --sample-rows 0 to use all {total} rows")
    )
    raise DataError(
        f"Class {small.index[0]!r} of {label_column!r} has {int(small.iloc[0])} row(s) in the sample of "
        f"{int(counts.sum())} rows, too few to appear in every split (each class needs at least {needed}); {fix}."
    )


def needed_rows(fractions: Sequence[float]) -> int:
    """Rows a class (or a bin of a regression label) needs to give every split one: ``1 / fraction``
    for the smallest fraction."""
    return max(math.ceil(1 / f - 1e-9) for f in fractions)


def drawn(count: int, share: float) -> int:
    """Rows a stratified sample takes of a class of ``count`` rows: ``share`` of them, at least one."""
    return max(1, round(count * share))


def smallest_sample(counts: pd.Series, needed: int) -> int:
    """The smallest ``--sample-rows`` that gives every class ``needed`` rows, or 0 when only all rows do.

    The sample takes :func:`drawn` rows of each class, so the smallest class decides; its
    count rises with the sample's size, so the first size that suffices is the answer.

    Args:
        counts: Rows per class of the whole table; the smallest must be at least ``needed``.
        needed: Rows each class needs.
    """
    total = int(counts.sum())
    smallest = int(counts.min())
    # One below the size at which the exact share would reach needed - 0.5: rounding decides the rest.
    rows = max(1, math.floor((needed - 0.5) * total / smallest) - 1)
    while rows < total and drawn(smallest, rows / total) < needed:
        rows += 1
    return rows if rows < total else 0


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"
