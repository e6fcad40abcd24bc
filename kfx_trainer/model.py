"""The model: a scikit-learn pipeline that Vertex AI's prebuilt scikit-learn image can serve.

Which estimator it ends in depends on the number of training rows (``svm_max_rows``):

- up to it, the exact RBF support-vector classifier on Yeo-Johnson-transformed features:
  the most accurate on tables of beans' size, but its fit grows about quadratically
  with rows and its predictions with its support vectors;
- above it, a histogram gradient-boosting classifier with early stopping, whose fit
  and predictions grow linearly with rows.

Both take the same columns the same way. Missing numbers (NaN, or ``None`` in the
object arrays a JSON prediction request becomes) get the training median, missing
text becomes its own category, and a text value the training data never held is
no error. All of it lives inside the saved pipeline, so serving treats a request as
training did; the pipeline holds only scikit-learn's own classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Union

# Where the trainer's task imports them; they live in kfx, which evaluation and serving share.
from kfx.model_inputs import share_cores, to_matrix  # noqa: F401

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

SVC = "svc"
BOOSTING = "hist_gradient_boosting"
ESTIMATORS = {SVC: "sklearn.svm.SVC", BOOSTING: "sklearn.ensemble.HistGradientBoostingClassifier"}
REGRESSORS = {SVC: "sklearn.svm.SVR", BOOSTING: "sklearn.ensemble.HistGradientBoostingRegressor"}
"""The same two families for a regression (:mod:`kfx.tasks`); the SVR learns the label standardized."""

ID_SHARE = 0.9
"""A text column whose filled cells hold at least this share of distinct values is ID-like.

Such a column names rows instead of describing them: nearly every value is seen once in
training and never again, so one-hot columns of it carry no signal a new row could use,
and there would be one per row (a million at scale). Real categories (farms, regions,
varieties) repeat; 0.9 leaves room for a few repeated or empty IDs.
"""
MAX_CATEGORIES = 32
"""One-hot columns a text column may add at most; rarer values share one "infrequent" column,
so a text column with many values cannot multiply the width of a million-row matrix."""
MISSING = "(missing)"
"""The category an empty text cell becomes."""
MAX_CLASSES = 1000
"""Classes the trainer fits at most; a table with more is refused before the fit.

The SVC is one-vs-one: a model per pair of classes, and each prediction votes over every
pair. With 12 rows a class, measured here: 500 classes fit in 3 s and the train step takes
5 s; 1,000 classes take 51 s (mostly predicting the validation and test rows over 499,500
pairs) and a 154 MB model; 2,000 classes did not end within 300 s. Gradient boosting, the
other choice, grows a tree per class in every round and holds a score per row and class.
"""


def choose_estimator(train_rows: int, svm_max_rows: int) -> str:
    """The estimator for a training split of ``train_rows`` rows: :data:`SVC` up to
    ``svm_max_rows``, :data:`BOOSTING` above."""
    return SVC if train_rows <= svm_max_rows else BOOSTING


def boosting_validation_share(classes: int, rows: int) -> float:
    """The share of training rows gradient boosting holds out for early stopping: 10 %, or enough to
    hold one row of every class (its stratified hold-out needs that), at most half."""
    return max(0.1, min(0.5, classes / max(rows, 1)))


def id_like_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The text columns of ``columns`` whose filled cells are at least :data:`ID_SHARE` distinct, and the
    numeric columns that are row numbers.

    A measurement can be distinct in every row too, so a numeric column is ID-like only when it is
    whole numbers, filled and distinct in every row, and rising from row to row: a split keeps the
    table's row order, so a row-number column rises in each split too, while a measurement does not.
    """
    import pandas as pd

    found = []
    for name in columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            continue
        if pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float)
            if (
                len(values) > 1
                and not column.isna().any()
                and (values == values.round()).all()
                and (values[1:] > values[:-1]).all()
            ):
                found.append(name)
            continue
        filled = column.dropna()
        if len(filled) and filled.nunique() >= ID_SHARE * len(filled):
            found.append(name)
    return found


def build_model(
    categorical: Sequence[bool],
    estimator: str,
    *,
    c: float,
    gamma: Union[str, float],
    learning_rate: float,
    max_iter: int,
    seed: int,
    task: str = "classification",
) -> Pipeline:
    """The unfitted pipeline: column handling, then the estimator.

    Columns are chosen by position, not name, so the fitted model predicts on the
    plain lists of values that Vertex AI's prediction service sends.

    Args:
        categorical: For each feature column, whether it is text (one-hot encoded).
        estimator: :data:`SVC` or :data:`BOOSTING` (see :func:`choose_estimator`).
        c: SVM regularisation.
        gamma: RBF kernel width: "scale", "auto" or a number.
        learning_rate: Gradient boosting's shrinkage.
        max_iter: Gradient boosting's most boosting rounds; early stopping usually stops sooner.
        seed: Random state of the estimator.
        task: ``classification`` or ``regression``: the same families as regressors (:data:`REGRESSORS`).

    Returns:
        An unfitted pipeline.
    """
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, PowerTransformer
    from sklearn.svm import SVC as SupportVectorClassifier

    if estimator not in ESTIMATORS:
        raise ValueError(f"Unknown estimator {estimator!r}; use one of {', '.join(ESTIMATORS)}.")
    numeric = [i for i, cat in enumerate(categorical) if not cat]
    labels = [i for i, cat in enumerate(categorical) if cat]
    # Trees do not care about a feature's scale or skew; the RBF kernel does.
    numbers = [SimpleImputer(strategy="median")] + ([PowerTransformer()] if estimator == SVC else [])
    texts = make_pipeline(
        # NaN first: the None imputer refuses an object array that still holds NaN.
        SimpleImputer(missing_values=np.nan, strategy="constant", fill_value=MISSING),
        # SimpleImputer leaves None alone unless told: a JSON null arrives as None.
        SimpleImputer(missing_values=None, strategy="constant", fill_value=MISSING),
        OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, sparse_output=False),
    )
    transformers = []
    if numeric:
        transformers.append(("numeric", make_pipeline(*numbers), numeric))
    if labels:
        transformers.append(("categorical", texts, labels))
    if task == "regression":
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        if estimator == SVC:
            # SVR's C and epsilon are in the label's unit: learning it standardized lets one C fit any label.
            final = TransformedTargetRegressor(regressor=SVR(C=c, gamma=gamma), transformer=StandardScaler())
        else:
            final = HistGradientBoostingRegressor(
                learning_rate=learning_rate, max_iter=max_iter, early_stopping=True, random_state=seed
            )
    elif estimator == SVC:
        final = SupportVectorClassifier(C=c, gamma=gamma, random_state=seed)
    else:
        final = HistGradientBoostingClassifier(
            learning_rate=learning_rate, max_iter=max_iter, early_stopping=True, random_state=seed
        )
    return make_pipeline(ColumnTransformer(transformers), final)
