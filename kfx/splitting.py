"""Splitting a checked table into train / validation / test, and sampling it, keeping each class's share.

Both depend only on the labels, the fractions or row count, and the seed, so a run repeats exactly.
A regression label is passed as its bins (:func:`kfx.tasks.strata`), whose shares are kept alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from kfx import tablecheck

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SPLITS = ("train", "validation", "test")


def split_positions(
    labels: pd.Series,
    fractions: Sequence[float],
    seed: int,
) -> dict[str, np.ndarray]:
    """Splits row positions into train / validation / test, keeping each class's share in every split.

    The split depends only on the labels, the fractions and ``seed``.

    Args:
        labels: The class of each row.
        fractions: Train, validation and test fractions.
        seed: Seed of the shuffle.

    Returns:
        ``{"train": …, "validation": …, "test": …}``: sorted positions (0 is the first row).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    values = labels.to_numpy()
    parts: dict[str, list] = {name: [] for name in SPLITS}
    for label in sorted(labels.unique(), key=str):
        rows = np.flatnonzero(values == label)
        rows = rows[rng.permutation(len(rows))]
        n_test = max(1, round(len(rows) * fractions[2]))
        n_val = max(1, round(len(rows) * fractions[1]))
        parts["test"].append(rows[:n_test])
        parts["validation"].append(rows[n_test : n_test + n_val])
        parts["train"].append(rows[n_test + n_val :])
    return {name: np.sort(np.concatenate(idx)) for name, idx in parts.items()}


def stratified_split(
    df: pd.DataFrame,
    label_column: str,
    fractions: Sequence[float],
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Splits rows into train / validation / test, keeping each class's share in every split.

    Args:
        df: The checked table.
        label_column: The class column to stratify on.
        fractions: Train, validation and test fractions.
        seed: Seed of the shuffle.

    Returns:
        ``{"train": …, "validation": …, "test": …}``, each in the table's row order
        (see :func:`split_positions`).
    """
    positions = split_positions(df[label_column], fractions, seed)
    return {name: df.iloc[rows].reset_index(drop=True) for name, rows in positions.items()}


def sample_positions(labels: pd.Series, rows: int, seed: int) -> Optional[np.ndarray]:
    """Positions of about ``rows`` rows keeping class shares, sorted; None keeps all.

    ``rows <= 0`` or ``>= len(labels)`` keeps all. Rows without a label are never drawn.
    """
    import pandas as pd

    if rows <= 0 or rows >= len(labels):
        return None
    share = rows / len(labels)
    frame = pd.DataFrame({"label": labels.to_numpy()})
    drawn = frame.groupby("label", group_keys=False, sort=True).apply(
        lambda g: g.sample(n=tablecheck.drawn(len(g), share), random_state=seed)
    )
    return drawn.index.sort_values().to_numpy()


def stratified_sample(df: pd.DataFrame, label_column: str, rows: int, seed: int) -> pd.DataFrame:
    """Draws about ``rows`` rows keeping class shares (see :func:`sample_positions`); all rows return ``df``."""
    positions = sample_positions(df[label_column], rows, seed)
    return df if positions is None else df.iloc[positions].reset_index(drop=True)
