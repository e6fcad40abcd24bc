"""Task types: a numeric label is a regression, end to end, and classes stay classes.

diabetes (scikit-learn's table, 442 rows, an integer-valued target written as ``151.0`` with 214
distinct values) used to stop at the import: "Class 200.0 of 'target' has 6 row(s), too few to
appear in every split". Here it trains a regressor with the defaults, is blessed on R² and pushed,
loses to that champion when clearly worse, and is scored by ``kfx predict``; digits' 10 integer
classes stay a classification.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import os

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    from sklearn.datasets import load_diabetes

    path = tmp_path_factory.mktemp("tables") / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory):
    from sklearn.datasets import load_digits

    path = tmp_path_factory.mktemp("tables") / "digits.csv"
    load_digits(as_frame=True).frame.to_csv(path, index=False)
    return str(path)


def test_the_task_follows_the_label():
    from kfx.tasks import CLASSIFICATION, REGRESSION, infer_task

    diabetes = pd.Series([float(v) for v in range(25, 239)] * 2 + [151.0] * 14)  # 214 distinct of 442
    assert len(diabetes) == 442 and infer_task(diabetes) == REGRESSION
    assert infer_task(pd.Series(list(range(10)) * 180)) == CLASSIFICATION  # digits
    assert infer_task(pd.Series(["SEKER", "BOMBAY"] * 30)) == CLASSIFICATION
    assert infer_task(pd.Series([True, False] * 30)) == CLASSIFICATION
    assert infer_task(pd.Series([0.5, 1.0, 2.0] * 30)) == REGRESSION  # a fraction: a quantity
    assert infer_task(pd.Series([1.0, 2.0, 3.0] * 30)) == CLASSIFICATION  # whole numbers, few
    assert infer_task(pd.Series(list(range(100)) * 30)) == CLASSIFICATION  # 100 classes, 30 rows each


def test_a_regression_split_keeps_low_and_high_labels_in_every_split(diabetes_csv, tmp_path):
    from kfx import data_steps

    paths = {split: str(tmp_path / split) for split in ("train", "validation", "test")}
    result = data_steps.import_dataset(
        diabetes_csv, "target", paths["train"], paths["validation"], paths["test"], (0.8, 0.1, 0.1), 42, 0
    )
    assert result["task"] == "regression"
    assert (result["train_rows"], result["validation_rows"], result["test_rows"]) == (362, 40, 40)
    whole = pd.read_csv(diabetes_csv)["target"]
    for split in ("validation", "test"):
        labels = pd.read_csv(paths[split])["target"]
        # Ten quantile bins, four rows of each: both tails reach every split.
        assert labels.min() <= whole.quantile(0.1) and labels.max() >= whole.quantile(0.9)
    sampled = data_steps.import_dataset(
        diabetes_csv, "target", paths["train"], paths["validation"], paths["test"], (0.8, 0.1, 0.1), 42, 200
    )
    assert sampled["train_rows"] + sampled["validation_rows"] + sampled["test_rows"] == 200


def test_regression_on_a_text_label_is_refused_in_one_sentence(kfx_cli, tmp_path):
    done = kfx_cli("run", "--sample-rows", "600", "--task", "regression", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2, done.output
    assert "Traceback" not in done.output
    assert "holds 'SEKER', not a number, and a regression predicts numbers; pass --task classification" in done.stderr
    wrong = kfx_cli("run", "--task", "classification", "--metric", "rmse", "--runs-dir", str(tmp_path / "runs"))
    assert wrong.returncode == 2
    assert "kfx: error: --metric rmse measures regression, not classification; pass one of: accuracy, macro_f1, " in (
        wrong.stderr
    )


def test_a_row_number_column_is_left_out_like_a_text_id():
    from kfx_trainer.model import id_like_columns

    frame = pd.DataFrame(
        {
            "row": [3, 7, 8, 20, 21, 40],  # a split of row numbers: rising, whole, distinct
            "area": [310, 120, 480, 150, 220, 300],  # whole and distinct, but a measurement
            "level": [1, 2, 3, 4, 5, 5],  # rising, not distinct
            "size": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],  # rising, with fractions
        }
    )
    assert id_like_columns(frame, list(frame.columns)) == ["row"]


def test_the_serving_check_compares_numbers_within_a_stated_tolerance(tmp_path):
    import joblib
    import numpy as np
    from sklearn.linear_model import Ridge

    from kfx import serving_check

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    model = Ridge().fit(x, x @ [100.0, 20.0, 3.0] + 128.4)
    joblib.dump(model, tmp_path / "model.joblib")
    (tmp_path / "request.json").write_text(json.dumps({"instances": x.tolist()}))
    predicted = model.predict(x).tolist()
    # Another BLAS sums in another order: the last digits differ.
    (tmp_path / "near.json").write_text(json.dumps([p * (1 + 3e-16) for p in predicted]))
    (tmp_path / "far.json").write_text(json.dumps([p * (1 + 1e-6) for p in predicted]))
    near = serving_check.check(str(tmp_path), str(tmp_path / "request.json"), str(tmp_path / "near.json"))
    assert near["ok"] and near["agreed"] == 30 and near["compared"] == "within a relative 1e-09"
    far = serving_check.check(str(tmp_path), str(tmp_path / "request.json"), str(tmp_path / "far.json"))
    assert not far["ok"]
    assert far["reason"].startswith("30 of 30 predictions differ from the training environment's (row 0: ")
    assert far["reason"].endswith("; numbers compared within a relative 1e-09)")


@pytest.mark.e2e
def test_diabetes_trains_a_regressor_is_pushed_beaten_by_nothing_worse_and_predicts(diabetes_csv, kfx_cli, tmp_path):
    runs = str(tmp_path / "runs")
    first = kfx_cli("run", "--source", diabetes_csv, "--label-column", "target", "--runs-dir", runs)
    assert first.returncode == 0, first.output
    assert "rows        train 362, validation 40, test 40\n" in first.stdout
    assert "trainer     svr (regression) on 362 training rows (<= svm_max_rows 30,000)" in first.stdout
    assert "predictions agree (within a relative 1e-09)" in first.stdout
    assert "model       test RMSE 55.44, MAE 41.49, R² 0.4370 (R² decides, threshold 0): blessed" in first.stdout
    assert "blessed: test R² 0.4370 >= min_r2 0.0; no champion to compare with" in first.stdout
    assert "pushed      version 1: " in first.stdout
    version = os.path.join(runs, "registry", "diabetes", "v1")
    metadata = json.loads(open(os.path.join(version, "model_metadata.json")).read())
    assert metadata["task"] == "regression" and "classes" not in metadata
    assert metadata["model"]["class"] == "sklearn.svm.SVR"
    evaluation = json.loads(open(os.path.join(version, "evaluation.json")).read())
    assert evaluation["metric"] == "r2" and math.isclose(evaluation["r2"], 0.4370, abs_tol=5e-5)
    assert {"rmse", "mae", "r2"} <= set(evaluation)
    summary_path = next(line.split()[-1] for line in first.stdout.splitlines() if line.startswith("  summary "))
    model = json.loads(open(summary_path).read())["model"]
    assert (model["task"], model["metric"], model["score"]) == ("regression", "r2", model["r2"])
    page = open(model["view"]).read()
    assert "Test RMSE <b>55.44</b>, MAE <b>41.49</b>, R² <b>0.4370</b> on 40 rows" in page
    assert "<img alt='predicted vs. actual and residuals' src='data:image/png;base64," in page

    # A small C: still better than the mean (R² 0.17 >= 0), but clearly worse than the champion.
    worse = kfx_cli("run", "--source", diabetes_csv, "--label-column", "target", "--runs-dir", runs, "--svm-c", "0.01")
    assert worse.returncode == 0, worse.output
    assert (
        "not blessed: lost to the champion: test R² 0.1656 vs champion v1 0.4370 on the same rows, more than the "
        "tolerance 0.01 below"
    ) in worse.stdout
    assert "pushed      no: not blessed: lost to the champion" in worse.stdout

    listing = kfx_cli("lineage", "runs", "--runs-dir", runs)
    assert listing.stdout.splitlines()[0].split()[5] == "R2"
    assert [line.split()[5] for line in listing.stdout.splitlines()[1:]] == ["0.1656", "0.4370"]

    out = str(tmp_path / "predictions.csv")
    scored = kfx_cli("predict", "--model", "diabetes", "--source", diabetes_csv, "--runs-dir", runs, "--output", out)
    assert scored.returncode == 0, scored.output
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 442
    predicted = [float(row["predicted_target"]) for row in rows]
    assert 0 < min(predicted) < 100 < 250 < max(predicted) < 400  # the label's range is 25 to 346
    assert len(set(predicted)) > 300  # numbers, not a few classes
    assert "on 442 labelled rows" in scored.stdout and "            RMSE " in scored.stdout


@pytest.mark.e2e
def test_digits_stay_classes_and_reach_95_percent(digits_csv, kfx_cli, tmp_path):
    # With defaults: validation finds no anomaly in a clean split of digits' sparse pixel counts.
    done = kfx_cli("run", "--source", digits_csv, "--label-column", "target", "--runs-dir", str(tmp_path))
    assert done.returncode == 0, done.output
    assert "  anomalies   none" in done.stdout
    assert "trainer     svc on 1,439 training rows" in done.stdout
    (summary_path,) = glob.glob(str(tmp_path / "kfx-digits-*" / "summary.json"))
    model = json.loads(open(summary_path).read())["model"]
    assert model["metric"] == "accuracy" and model["test_accuracy"] >= 0.95
    assert model["blessed"] is True


def test_a_regression_evaluation_is_imported_into_vertex_ai_in_its_regression_schema():
    from kfx.vertex import registry

    evaluation = {"task": "regression", "metric": "r2", "rmse": 55.44, "mae": 41.49, "r2": 0.437, "blessed": True}
    request = registry.evaluation_request("diabetes-v1", evaluation, [], [])
    assert request["metrics_schema_uri"] == (
        "gs://google-cloud-aiplatform/schema/modelevaluation/regression_metrics_1.0.0.yaml"
    )
    assert request["metrics"] == {"rootMeanSquaredError": 55.44, "meanAbsoluteError": 41.49, "rSquared": 0.437}
    assert request["metadata"] == {"kfx": evaluation}
    beans = registry.evaluation_request("beans-v1", {"accuracy": 0.93, "macro_f1": 0.94}, ["A", "B"], [[1, 0], [0, 1]])
    assert beans["metrics_schema_uri"].endswith("/classification_metrics_1.0.0.yaml")


def test_roc_auc_decides_for_two_classes_and_is_refused_for_more(beans_sample, sample_splits, train_apart, tmp_path):
    from kfx import data_steps, evaluation
    from kfx.errors import ConfigError

    two = beans_sample[beans_sample["Class"].isin(["DERMASON", "SIRA"])]
    two.to_csv(tmp_path / "two.csv", index=False)
    paths = {split: str(tmp_path / f"{split}.csv") for split in ("train", "validation", "test")}
    data_steps.import_dataset(str(tmp_path / "two.csv"), "Class", *paths.values(), (0.8, 0.1, 0.1), 42, 0)
    folder = train_apart(paths, str(tmp_path / "binary"))
    result = evaluation.evaluate_model(folder, paths["test"], 0.8, metric="roc_auc")
    # The two closest classes of beans: ranked well, not perfectly (scores for the second class, SIRA).
    assert result["metric"] == "roc_auc" and result["score"] == result["roc_auc"] > 0.8
    assert result["reason"] == f"test ROC AUC {result['roc_auc']:.4f} >= min_accuracy 0.8; no champion to compare with"

    seven = train_apart(sample_splits, str(tmp_path / "seven"))
    with pytest.raises(ConfigError) as refused:
        evaluation.evaluate_model(seven, sample_splits["test"], 0.9, metric="roc_auc")
    assert str(refused.value) == (
        "--metric roc_auc measures a model of two classes, and this one predicts 7; pass --metric accuracy or macro_f1."
    )


def test_excluded_columns_stay_out_of_the_model_and_an_unknown_one_is_named(diabetes_csv, train_apart, tmp_path):
    from kfx import data_steps, model_steps
    from kfx.errors import ConfigError

    # A binned target (the class) beside the raw one: trained with "target" still in the table, the label leaks.
    table = pd.read_csv(diabetes_csv)
    table["Class"] = pd.cut(table["target"], [0, 100, 200, 400], labels=["low", "mid", "high"]).astype(str)
    table.to_csv(tmp_path / "banded.csv", index=False)
    paths = {split: str(tmp_path / f"{split}.csv") for split in ("train", "validation", "test")}
    found = data_steps.import_dataset(str(tmp_path / "banded.csv"), "Class", *paths.values(), (0.8, 0.1, 0.1), 42, 0)
    assert found["task"] == "classification"
    folder = train_apart(paths, str(tmp_path / "model"), exclude_columns="target")
    metadata = json.loads(open(os.path.join(folder, "model_metadata.json")).read())
    assert metadata["excluded_columns"] == ["target"] and "target" not in metadata["features"]
    assert metadata["classes"] == ["high", "low", "mid"] and len(metadata["features"]) == 10

    with pytest.raises(ConfigError) as refused:
        model_steps.train(
            *paths.values(),
            str(tmp_path / "none"),
            task="",
            exclude_columns="target,Target",
            label_column="Class",
            svm_c=10.0,
            svm_gamma="scale",
            seed=42,
            svm_max_rows=30000,
            boosting_learning_rate=0.1,
            boosting_max_iter=100,
        )
    assert str(refused.value) == (
        f"--exclude-columns names 'Target', not a feature column of {paths['train']!r}; pass names of its columns "
        "other than the label 'Class'."
    )
    assert not os.path.exists(tmp_path / "none" / "model.joblib")


def test_above_the_switch_point_a_regression_is_gradient_boosting(diabetes_csv, tmp_path):
    from kfx import data_steps, model_steps

    paths = {split: str(tmp_path / f"{split}.csv") for split in ("train", "validation", "test")}
    data_steps.import_dataset(diabetes_csv, "target", *paths.values(), (0.8, 0.1, 0.1), 42, 0)
    folder = str(tmp_path / "model")
    model_steps.train(
        *paths.values(),
        folder,
        task="",
        exclude_columns="",
        label_column="target",
        svm_c=10.0,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=100,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    metadata = json.loads(open(os.path.join(folder, "model_metadata.json")).read())
    assert metadata["task"] == "regression" and "classes" not in metadata
    assert metadata["model"]["class"] == "sklearn.ensemble.HistGradientBoostingRegressor"
    metrics = json.loads(open(os.path.join(folder, "metrics.json")).read())
    assert set(metrics["test"]) == {"rmse", "mae", "r2", "rows"} and metrics["test"]["rows"] == 40
    assert metrics["test"]["r2"] > 0.2  # better than the mean


def test_a_regression_label_of_one_value_is_refused_in_its_own_words(tmp_path):
    from kfx import data_steps
    from kfx.errors import DataError

    pd.DataFrame({"x": range(40), "y": [0.5, 1.5] * 20, "level": [2.5] * 40}).to_csv(tmp_path / "flat.csv", index=False)
    paths = [str(tmp_path / f"{split}.csv") for split in ("train", "validation", "test")]
    with pytest.raises(DataError) as refused:
        data_steps.import_dataset(str(tmp_path / "flat.csv"), "level", *paths, (0.8, 0.1, 0.1), 42, 0)
    assert str(refused.value).startswith(
        f"Label column 'level' of source {str(tmp_path / 'flat.csv')!r} holds one value, 2.5, in all its 40 rows, "
        "and a regression needs at least two; add rows of another value"
    )
    assert not any(os.path.exists(p) for p in paths)
