"""kfx.tasks: each metric's threshold and direction, the tolerance against a champion, and the refusals,
with exact values (the figures a blessing is decided on)."""

import math

import pytest

from kfx import tasks
from kfx.errors import ConfigError

SCORES = {"baseline_rmse": 4.0, "baseline_mae": 3.0}
"""A test split's baselines: the RMSE and MAE of predicting its labels' mean."""


def test_each_metrics_threshold_follows_one_rule_and_says_how_it_was_set():
    metric = tasks.METRICS
    assert tasks.threshold(metric["accuracy"], 0.9, 0.25, SCORES) == (0.9, "min_accuracy")
    assert tasks.threshold(metric["macro_f1"], 0.8, 0.25, SCORES) == (0.8, "min_accuracy")
    assert tasks.threshold(metric["r2"], 0.9, 0.25, SCORES) == (0.25, "min_r2")
    # R² >= 0.25 said as RMSE: sqrt(1 - 0.25) × 4; as MAE: (1 - 0.25) × 3.
    assert tasks.threshold(metric["rmse"], 0.9, 0.25, SCORES) == (
        math.sqrt(0.75) * 4.0,
        "predicting the mean at min_r2 0.25",
    )
    assert tasks.threshold(metric["mae"], 0.9, 0.25, SCORES) == (0.75 * 3.0, "predicting the mean at min_r2 0.25")
    # min_r2 above 1 asks for a perfect model: RMSE 0, never a square root of a negative number.
    assert tasks.threshold(metric["rmse"], 0.9, 1.5, SCORES)[0] == 0.0


def test_a_threshold_is_passed_in_the_metrics_direction_bound_included():
    r2, rmse = tasks.METRICS["r2"], tasks.METRICS["rmse"]
    assert tasks.passes(r2, 0.5, 0.5) and tasks.passes(r2, 0.6, 0.5) and not tasks.passes(r2, 0.4, 0.5)
    assert tasks.passes(rmse, 2.0, 2.0) and tasks.passes(rmse, 1.5, 2.0) and not tasks.passes(rmse, 2.5, 2.0)


def test_the_tolerance_is_points_of_a_share_or_a_share_of_the_champions_error():
    accuracy, rmse = tasks.METRICS["accuracy"], tasks.METRICS["rmse"]
    assert tasks.holds_against(accuracy, 0.89, 0.90, 0.01) and not tasks.holds_against(accuracy, 0.88, 0.90, 0.01)
    assert tasks.holds_against(accuracy, 0.95, 0.90, 0.0) and not tasks.holds_against(accuracy, 0.90, 0.95, 0.04)
    # RMSE 10 with a tolerance of 0.1: up to 11, bound included.
    assert tasks.holds_against(rmse, 11.0, 10.0, 0.1) and tasks.holds_against(rmse, 9.0, 10.0, 0.1)
    assert not tasks.holds_against(rmse, 11.5, 10.0, 0.1) and not tasks.holds_against(rmse, 10.5, 10.0, 0.0)


def test_the_primary_metric_is_the_one_asked_for_or_the_tasks_default():
    assert tasks.primary_metric("classification").name == "accuracy"
    assert tasks.primary_metric("regression").name == "r2"
    assert tasks.primary_metric("regression", "mae").name == "mae"
    with pytest.raises(ConfigError):
        tasks.primary_metric("regression", "accuracy")  # a metric of the other task
    with pytest.raises(ConfigError):
        tasks.primary_metric("classification", "r2")


def test_a_metric_that_is_unknown_or_of_the_other_task_is_one_sentence():
    with pytest.raises(ConfigError) as unknown:
        tasks.check_metric("f2")
    assert str(unknown.value) == (
        "Unknown metric 'f2'; pass --metric with one of: accuracy, macro_f1, roc_auc, r2, rmse, mae."
    )
    with pytest.raises(ConfigError) as other:
        tasks.check_metric("rmse", "classification")
    assert (
        str(other.value)
        == "--metric rmse measures regression, not classification; pass one of: accuracy, macro_f1, roc_auc."
    )
    tasks.check_metric("rmse")  # no task yet: only the name is checked
    tasks.check_metric("")


def _ridge(folder, frame, alpha: float) -> str:
    """A regression model folder by the model contract: a ridge on ``a`` and ``b``."""
    import json

    import joblib
    from sklearn.linear_model import Ridge

    folder.mkdir(parents=True)
    metadata = {"contract_version": 1, "task": "regression", "label_column": "y", "features": ["a", "b"]}
    (folder / "model_metadata.json").write_text(json.dumps(metadata))
    joblib.dump(Ridge(alpha=alpha).fit(frame[["a", "b"]].to_numpy(), frame["y"]), folder / "model.joblib")
    return str(folder)


def test_the_push_recheck_of_a_regressor_decides_on_its_metric_threshold_and_direction(tmp_path):
    """A regression model read back from its metadata: the evaluation's metric, its recorded threshold, and
    an error metric's direction in the sentence."""
    import numpy as np
    import pandas as pd

    from kfx import evaluation, registry

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
    frame["y"] = 3 * frame["a"] - frame["b"] + rng.normal(scale=0.5, size=200)
    frame.to_csv(tmp_path / "test.csv", index=False)
    good, weak = _ridge(tmp_path / "good", frame, 1.0), _ridge(tmp_path / "weak", frame, 1e4)
    registry.push_model(good, str(tmp_path / "registry"), "ridge", {"blessed": True})
    champion = registry.resolve(str(tmp_path / "registry"), "ridge", required=True)
    test = str(tmp_path / "test.csv")
    wins, reason = evaluation.recheck(weak, test, champion, {"metric": "rmse", "threshold": 100.0})
    assert wins is False and reason.startswith("it lost to v1, which was pushed while this run ran: test RMSE ")
    assert reason.endswith("more than the tolerance 0 above")
    # The same model against itself wins, unless the recorded threshold says otherwise.
    assert evaluation.recheck(good, test, champion, {"metric": "r2", "threshold": 0.0})[0] is True
    assert evaluation.recheck(good, test, champion, {"metric": "r2", "threshold": 0.999})[0] is False
    # Without a metric, the model's own task gives its default: R² (a classification metric would be refused).
    wins, reason = evaluation.recheck(weak, test, champion, {})
    assert wins is False and " test R² " in reason and reason.endswith("more than the tolerance 0 below")
