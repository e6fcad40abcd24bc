"""The model: a scikit-learn pipeline that Vertex AI's prebuilt scikit-learn image can serve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence, Union

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline


def build_model(
    categorical: Sequence[bool],
    c: float,
    gamma: Union[str, float],
    seed: int,
) -> "Pipeline":
    """An RBF support-vector classifier on Yeo-Johnson-transformed numeric features.

    Columns are chosen by position, not name, so the fitted model predicts on the
    plain lists of values that Vertex AI's prediction service sends.

    Args:
        categorical: For each feature column, whether it is categorical (one-hot encoded).
        c: SVM regularisation.
        gamma: RBF kernel width: "scale", "auto" or a number.
        seed: Random state of the classifier.

    Returns:
        An unfitted pipeline.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, PowerTransformer
    from sklearn.svm import SVC

    numeric = [i for i, cat in enumerate(categorical) if not cat]
    labels = [i for i, cat in enumerate(categorical) if cat]
    transformers = []
    if numeric:
        transformers.append(("numeric", PowerTransformer(), numeric))
    if labels:
        transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore"), labels))
    return make_pipeline(ColumnTransformer(transformers), SVC(C=c, gamma=gamma, random_state=seed))


def to_matrix(frame: "pd.DataFrame", features: Sequence[str]) -> "np.ndarray":
    """The feature columns as the 2-D array the model takes (what a prediction request carries)."""
    import numpy as np

    columns = frame[list(features)]
    if all(np.issubdtype(t, np.number) for t in columns.dtypes):
        return columns.to_numpy(dtype=float)
    return columns.to_numpy(dtype=object)
