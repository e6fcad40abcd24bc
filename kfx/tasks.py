"""Task types: what a label asks a model to do, and how its evaluation is measured and judged.

A label holds classes (**classification**, binary or multi-class) or a quantity
(**regression**). :func:`infer_task` decides from the label's values, by one rule:

- text or true/false values are classes;
- numbers with a fraction (``2.5``) are a quantity;
- whole numbers are classes while they are few: at most :data:`MAX_INTEGER_CLASSES` distinct
  values, or at most :data:`INTEGER_CLASS_SHARE` of the rows distinct (every class then has
  20 rows on average); more distinct whole numbers are a quantity.

So digits' 10 integer classes, iris, wine and beans stay classification, and diabetes'
``target`` (whole numbers written as ``151.0``, 214 distinct values in 442 rows) is regression.
``--task`` overrides the rule.

Each task has its metrics, each with a direction (:data:`METRICS`); the primary one (``--metric``,
by default :data:`DEFAULT_METRICS`) decides the blessing. Regression's default, R² >= ``min_r2``
0.0, means "better than predicting the mean of the test labels", which needs no unit of the label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from kfx.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)

MAX_INTEGER_CLASSES = 20
"""Distinct whole numbers a label may hold and still be classes, whatever its rows."""
INTEGER_CLASS_SHARE = 0.05
"""Share of rows whose distinct whole numbers still count as classes in a larger table."""
QUANTILE_BINS = 10
"""Bins of the label a regression split and sample keep the shares of (fewer in a small table)."""


@dataclass(frozen=True)
class Metric:
    """A test metric: its name (as ``--metric`` takes it), task, direction and the title it is shown with."""

    name: str
    task: str
    higher_is_better: bool
    title: str


METRICS = {
    m.name: m
    for m in (
        Metric("accuracy", CLASSIFICATION, True, "accuracy"),
        Metric("macro_f1", CLASSIFICATION, True, "macro-F1"),
        Metric("roc_auc", CLASSIFICATION, True, "ROC AUC"),
        Metric("r2", REGRESSION, True, "R²"),
        Metric("rmse", REGRESSION, False, "RMSE"),
        Metric("mae", REGRESSION, False, "MAE"),
    )
}
DEFAULT_METRICS = {CLASSIFICATION: "accuracy", REGRESSION: "r2"}


def infer_task(labels: pd.Series) -> str:
    """The task a label asks for, by the rule in this module's docstring (missing values are ignored)."""
    import pandas as pd

    values = labels.dropna()
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return CLASSIFICATION
    numbers = values.to_numpy(dtype=float)
    if len(numbers) and (numbers != numbers.round()).any():
        return REGRESSION
    distinct = int(values.nunique())
    if distinct <= MAX_INTEGER_CLASSES or distinct <= INTEGER_CLASS_SHARE * len(values):
        return CLASSIFICATION
    return REGRESSION


def resolve_task(labels: pd.Series, task: str, label_column: str, source: str) -> str:
    """The run's task: ``task`` when given, else :func:`infer_task`.

    Raises:
        ConfigError: For an unknown task.
        DataError: For regression on a label that holds text.
    """
    import pandas as pd

    check_task(task)
    if not task:
        return infer_task(labels)
    if task == REGRESSION and not (pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)):
        text = labels.dropna()
        shown = repr(text.iloc[0]) if len(text) else "no number"
        raise DataError(
            f"Label column {label_column!r} of {source} holds {shown}, not a number, and a regression predicts "
            "numbers; pass --task classification, or --label-column with a numeric column."
        )
    return task


def check_task(task: str) -> None:
    """Refuses a task kfx does not know (empty means inferred)."""
    if task and task not in TASKS:
        raise ConfigError(f"Unknown task {task!r}; pass --task classification or --task regression (or leave it out).")


def check_metric(metric: str, task: str = "") -> None:
    """Refuses an unknown metric, or one of the other task (empty means the task's default)."""
    if not metric:
        return
    if metric not in METRICS:
        raise ConfigError(f"Unknown metric {metric!r}; pass --metric with one of: {', '.join(METRICS)}.")
    if task and METRICS[metric].task != task:
        fits = ", ".join(m.name for m in METRICS.values() if m.task == task)
        raise ConfigError(f"--metric {metric} measures {METRICS[metric].task}, not {task}; pass one of: {fits}.")


def primary_metric(task: str, metric: str = "") -> Metric:
    """The metric that decides the blessing: ``metric``, or the task's default (:data:`DEFAULT_METRICS`)."""
    check_metric(metric, task)
    return METRICS[metric or DEFAULT_METRICS[task]]


def threshold(metric: Metric, min_accuracy: float, min_r2: float, scores: dict) -> tuple[float, str]:
    """The value the primary metric must reach to be blessed, and how it was set, in words.

    Classification's metrics are shares from 0 to 1: each must reach ``min_accuracy``. Regression's
    rule is one, R² >= ``min_r2``, said in each metric's terms so that no threshold carries the label's
    unit: RMSE <= sqrt(1 - min_r2) × the test labels' standard deviation (the same rule, exactly), and
    MAE <= (1 - min_r2) × their mean absolute deviation from their mean (predicting the mean scores both).

    Args:
        metric: The primary metric.
        min_accuracy: Classification's threshold.
        min_r2: Regression's threshold.
        scores: The regression scores, with ``baseline_rmse`` and ``baseline_mae``.
    """
    if metric.task == CLASSIFICATION:
        return min_accuracy, "min_accuracy"
    if metric.name == "r2":
        return min_r2, "min_r2"
    if metric.name == "rmse":
        return math.sqrt(max(0.0, 1 - min_r2)) * scores["baseline_rmse"], f"predicting the mean at min_r2 {min_r2:g}"
    return (1 - min_r2) * scores["baseline_mae"], f"predicting the mean at min_r2 {min_r2:g}"


def passes(metric: Metric, score: float, bound: float) -> bool:
    """Whether ``score`` reaches the threshold ``bound`` in the metric's direction."""
    return score >= bound if metric.higher_is_better else score <= bound


def holds_against(metric: Metric, score: float, champion: float, tolerance: float) -> bool:
    """Whether ``score`` is no worse than the champion's by more than ``tolerance``: points of a share
    (accuracy, macro-F1, ROC AUC, R²), or a share of the champion's error (RMSE, MAE)."""
    if metric.higher_is_better:
        return score >= champion - tolerance
    return score <= champion * (1 + tolerance)


def strata(labels: pd.Series, task: str, needed: int) -> pd.Series:
    """The groups a split or sample keeps the shares of: the classes, or for regression bins of the label.

    A regression label is cut at its quantiles into at most :data:`QUANTILE_BINS` bins of at least
    ``needed`` rows each (fewer bins in a small table; one bin, a plain random split, below
    ``2 * needed`` rows), so every split sees low, middle and high values alike.

    Args:
        labels: The label of each row (missing labels stay missing).
        task: :data:`CLASSIFICATION` or :data:`REGRESSION`.
        needed: Rows each group needs (one per split at the smallest fraction).
    """
    import pandas as pd

    if task != REGRESSION:
        return labels
    numbers = pd.to_numeric(labels, errors="coerce")
    bins = min(QUANTILE_BINS, max(1, int(numbers.notna().sum()) // max(needed, 1)))
    while bins > 1:
        cut = pd.qcut(numbers.rank(method="first"), bins, labels=False)
        if cut.value_counts().min() >= needed:
            return cut.astype("Int64").rename(labels.name)
        bins -= 1
    return pd.Series(0, index=labels.index, dtype="Int64", name=labels.name).where(numbers.notna())


def check_rows(rows: int, needed: int, label_column: str, source: str, task: str) -> None:
    """Refuses a regression table with fewer rows than its splits need (classification checks each class)."""
    if task == REGRESSION and rows < needed:
        raise DataError(
            f"{source} has {rows} row(s) with a {label_column!r} value, too few to appear in every split (each split "
            f"needs at least one, so {needed} in all); add rows, or pass --sample-rows 0 to use all of them."
        )


def excluded_columns(text: str, columns: Sequence[str], label_column: str, source: str) -> list[str]:
    """The columns ``--exclude-columns`` names (separated by commas), each checked to be a feature column.

    Raises:
        ConfigError: Naming the columns that are not, and the table.
    """
    excluded = [c.strip() for c in (text or "").split(",") if c.strip()]
    unknown = [c for c in excluded if c not in columns or c == label_column]
    if unknown:
        raise ConfigError(
            f"--exclude-columns names {', '.join(map(repr, unknown))}, not a feature column of {source!r}; pass "
            f"names of its columns other than the label {label_column!r}."
        )
    return excluded


def resolved(task: Optional[str]) -> str:
    """A recorded task, or classification for a model trained before tasks were recorded."""
    return task or CLASSIFICATION
