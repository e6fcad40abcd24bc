"""train: the kfx trainer run under the Vertex AI custom-training contract (AIP_* variables)."""

import json
import os

import pytest
from kfp.dsl import Model

from kfx import components, model_steps
from kfx.components.train import REPORT

MODEL_FILES = ["metrics.json", "model.joblib", "model_metadata.json"]
HYPERPARAMETERS = {
    "svm_c": 10.0,
    "svm_gamma": "scale",
    "svm_max_rows": 30000,
    "boosting_learning_rate": 0.1,
    "boosting_max_iter": 100,
    "seed": 42,
}


def test_plain_function_writes_the_model_folder_and_records_the_data_it_read(upstream, tmp_path):
    model_dir = str(tmp_path / "model")
    result = model_steps.train(*upstream.splits.values(), model_dir, label_column="Class", **HYPERPARAMETERS)
    assert sorted(os.listdir(model_dir)) == MODEL_FILES
    assert 0.8 < result["validation"]["accuracy"] <= 1 and 0.8 < result["test"]["accuracy"] <= 1
    assert (result["train_rows"], result["validation"]["rows"], result["test"]["rows"]) == (479, 60, 60)
    # The trainer's metrics, and from the model's metadata which model it chose and what it left out.
    metadata = json.load(open(os.path.join(model_dir, "model_metadata.json")))
    assert result == {
        **json.load(open(os.path.join(model_dir, "metrics.json"))),
        "model": metadata["model"],
        "id_columns": [],
        "task": "classification",
    }
    assert result["model"]["estimator"] == "svc" and result["model"]["svm_max_rows"] == 30000
    assert metadata["label_column"] == "Class" and metadata["features"] == list(upstream.columns[:-1])
    assert metadata["classes"] == list(upstream.classes)
    assert metadata["hyperparameters"] == HYPERPARAMETERS
    assert metadata["data_format"] == "csv" and metadata["data_uris"] == upstream.splits
    # Same data, same seed: the fit the upstream fixture made.
    assert (result["validation"], result["test"]) == (upstream.trained["validation"], upstream.trained["test"])


def test_missing_or_unknown_hyperparameters_are_refused(upstream, tmp_path):
    with pytest.raises(TypeError, match="trainer_args takes exactly label_column, svm_c"):
        model_steps.train(*upstream.splits.values(), str(tmp_path / "model"), label_column="Class", svm_c=1.0)
    assert not os.path.exists(tmp_path / "model")


def test_plain_function_takes_its_hyperparameters(upstream, tmp_path):
    weak = model_steps.train(
        *upstream.splits.values(), str(tmp_path / "model"), label_column="Class", **{**HYPERPARAMETERS, "svm_c": 0.001}
    )
    assert weak["validation"]["accuracy"] < upstream.trained["validation"]["accuracy"]
    metadata = json.load(open(tmp_path / "model" / "model_metadata.json"))
    assert metadata["hyperparameters"] == {**HYPERPARAMETERS, "svm_c": 0.001}
    boosted = model_steps.train(
        *upstream.splits.values(),
        str(tmp_path / "boosted"),
        label_column="Class",
        **{**HYPERPARAMETERS, "svm_max_rows": 100, "boosting_learning_rate": 0.3, "boosting_max_iter": 5},
    )
    assert boosted["model"]["estimator"] == "hist_gradient_boosting" and boosted["model"]["boosting_rounds"] <= 5
    metadata = json.load(open(tmp_path / "boosted" / "model_metadata.json"))
    assert metadata["hyperparameters"] == {
        **HYPERPARAMETERS,
        "svm_max_rows": 100,
        "boosting_learning_rate": 0.3,
        "boosting_max_iter": 5,
    }


def test_python_func_returns_the_accuracies_and_records_them_on_the_model(upstream, new_artifact):
    model = new_artifact(Model, "model")
    validation_accuracy, test_accuracy = components.train.python_func(**upstream.datasets(), model=model)
    assert 0.8 < test_accuracy <= 1 and model.metadata["framework"] == "scikit-learn"
    assert (validation_accuracy, test_accuracy) == (
        upstream.trained["validation"]["accuracy"],
        upstream.trained["test"]["accuracy"],
    )
    fit_seconds = model.metadata.pop("fit_seconds")
    assert 0 < fit_seconds == json.load(open(os.path.join(model.path, "metrics.json")))["fit_seconds"]
    assert model.metadata == {
        "framework": "scikit-learn",
        "file": "model.joblib",
        "trainer": "kfx_trainer.task",
        "trainer_args": [],
        "label_column": "Class",
        **HYPERPARAMETERS,
        "estimator": "svc",
        "train_rows": 479,
        "id_columns": [],
        "task": "classification",
        "validation_accuracy": validation_accuracy,
        "test_accuracy": test_accuracy,
    }
    assert os.path.isfile(os.path.join(model.path, "model.joblib"))


def test_python_func_records_boosting_and_its_rounds_above_the_switch_point(upstream, new_artifact):
    model = new_artifact(Model, "model")
    components.train.python_func(**upstream.datasets(), model=model, svm_max_rows=10, boosting_max_iter=8)
    assert (model.metadata["estimator"], model.metadata["svm_max_rows"]) == ("hist_gradient_boosting", 10)
    assert 1 <= model.metadata["boosting_rounds"] <= 8


def test_kfp_local_run(kfp_local, upstream):
    outputs = kfp_local.run(components.train, upstream.datasets(), svm_c=1.0, seed=7)
    model = outputs["model"]
    assert model.path.startswith(str(kfp_local.root))
    assert sorted(os.listdir(model.path)) == MODEL_FILES
    metrics = json.load(open(os.path.join(model.path, "metrics.json")))
    assert (outputs["validation_accuracy"], outputs["test_accuracy"]) == (
        metrics["validation"]["accuracy"],
        metrics["test"]["accuracy"],
    )
    assert 0.8 < outputs["test_accuracy"] <= 1
    assert model.metadata.pop("fit_seconds") == metrics["fit_seconds"]
    assert model.metadata == {
        "framework": "scikit-learn",
        "file": "model.joblib",
        "trainer": "kfx_trainer.task",
        "trainer_args": [],
        "label_column": "Class",
        **HYPERPARAMETERS,
        "svm_c": 1.0,
        "seed": 7,
        "estimator": "svc",
        "train_rows": 479,
        "id_columns": [],
        "task": "classification",
        "validation_accuracy": outputs["validation_accuracy"],
        "test_accuracy": outputs["test_accuracy"],
    }


def test_the_summary_says_which_model_was_chosen_and_what_was_left_out():
    section = {"estimator": "svc", "train_rows": 10887, "svm_max_rows": 30000, "fit_seconds": 3.14, "id_columns": []}
    assert REPORT.describe(section) == ["trainer     svc on 10,887 training rows (<= svm_max_rows 30,000), fit 3.1 s"]
    section = {
        "estimator": "hist_gradient_boosting",
        "train_rows": 1088880,
        "svm_max_rows": 30000,
        "fit_seconds": 61.0,
        "boosting_rounds": 55,
        "id_columns": ["BeanId", "Ticket"],
    }
    assert REPORT.describe(section) == [
        "trainer     hist_gradient_boosting on 1,088,880 training rows (> svm_max_rows 30,000), fit 61.0 s, 55 rounds",
        "            left out ID-like column(s) BeanId, Ticket: nearly one value per row",
    ]


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(
        components.train,
        from_config={
            "label_column",
            "svm_c",
            "svm_gamma",
            "seed",
            "svm_max_rows",
            "boosting_learning_rate",
            "boosting_max_iter",
            "trainer_module",
            "task",
            "exclude_columns",
        },
        written={"trainer_args": [], "trainer_code": ""},
    )
    assert loaded.component_spec.outputs["model"].type == "system.Model@0.0.1"
    assert {n: o.type for n, o in loaded.component_spec.outputs.items() if n != "model"} == {
        "validation_accuracy": "Float",
        "test_accuracy": "Float",
    }
