"""The trainer's input: each split read as Vertex AI hands it over, and what of it the model learns from
(the feature columns, the number of classes), each refusal one sentence naming the data and the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kfx.model_inputs import read_split  # noqa: F401  (the trainer's task reads its splits through here)

if TYPE_CHECKING:
    import pandas as pd


def select_features(frame: pd.DataFrame, label: str) -> tuple[list[str], list[bool], list[str]]:
    """The feature columns of the training split, which of them are text, and the ID-like columns left out.

    Raises:
        DataError: If the label is not a column, or no column is left to learn from.
    """
    import pandas as pd

    from kfx.errors import DataError
    from kfx_trainer.model import ID_SHARE, id_like_columns

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
        DataError: If there are more than :data:`kfx_trainer.model.MAX_CLASSES`: the fit and its
            predictions would grow with their square (see there) and not end in useful time.
    """
    from kfx.errors import DataError
    from kfx_trainer.model import MAX_CLASSES

    classes = int(frame[label].nunique())
    if classes > MAX_CLASSES:
        raise DataError(
            f"Label column {label!r} holds {classes:,} classes in the training data, more than the {MAX_CLASSES:,} "
            "the trainer fits (its time grows with the square of the classes); merge rare classes or pass a "
            "coarser --label-column."
        )
    return classes
