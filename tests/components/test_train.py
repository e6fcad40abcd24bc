"""train: the kfx trainer run under the Vertex AI custom-training contract (AIP_* variables)."""

import json
import os

from kfp.dsl import Model

from kfx import components, steps

MODEL_FILES = ["metrics.json", "model.joblib", "model_metadata.json"]


def test_plain_function_writes_the_model_folder_and_records_the_data_it_read(upstream, tmp_path):
    model_dir = str(tmp_path / "model")
    result = steps.train(*upstream.splits.values(), model_dir, "Class", 10.0, "scale", 42)
    assert sorted(os.listdir(model_dir)) == MODEL_FILES
    assert 0.8 < result["validation"]["accuracy"] <= 1 and 0.8 < result["test"]["accuracy"] <= 1
    assert (result["train_rows"], result["validation"]["rows"], result["test"]["rows"]) == (479, 60, 60)
    assert json.load(open(os.path.join(model_dir, "metrics.json"))) == result
    metadata = json.load(open(os.path.join(model_dir, "model_metadata.json")))
    assert metadata["label_column"] == "Class" and metadata["features"] == list(upstream.columns[:-1])
    assert metadata["classes"] == list(upstream.classes)
    assert metadata["hyperparameters"] == {"svm_c": 10.0, "svm_gamma": "scale", "seed": 42}
    assert metadata["data_format"] == "csv" and metadata["data_uris"] == upstream.splits
    # Same data, same seed: the fit the upstream fixture made.
    assert (result["validation"], result["test"]) == (upstream.trained["validation"], upstream.trained["test"])


def test_plain_function_takes_its_hyperparameters(upstream, tmp_path):
    weak = steps.train(*upstream.splits.values(), str(tmp_path / "model"), "Class", 0.001, "scale", 42)
    assert weak["validation"]["accuracy"] < upstream.trained["validation"]["accuracy"]
    metadata = json.load(open(tmp_path / "model" / "model_metadata.json"))
    assert metadata["hyperparameters"] == {"svm_c": 0.001, "svm_gamma": "scale", "seed": 42}


def test_python_func_returns_the_accuracies_and_records_them_on_the_model(upstream, new_artifact):
    model = new_artifact(Model, "model")
    validation_accuracy, test_accuracy = components.train.python_func(**upstream.datasets(), model=model)
    assert 0.8 < test_accuracy <= 1 and model.metadata["framework"] == "scikit-learn"
    assert (validation_accuracy, test_accuracy) == (
        upstream.trained["validation"]["accuracy"], upstream.trained["test"]["accuracy"])
    assert model.metadata == {
        "framework": "scikit-learn", "file": "model.joblib", "label_column": "Class",
        "svm_c": 10.0, "svm_gamma": "scale", "seed": 42,
        "validation_accuracy": validation_accuracy, "test_accuracy": test_accuracy,
    }
    assert os.path.isfile(os.path.join(model.path, "model.joblib"))


def test_kfp_local_run(kfp_local, upstream):
    outputs = kfp_local.run(components.train, upstream.datasets(), svm_c=1.0, seed=7)
    model = outputs["model"]
    assert model.path.startswith(str(kfp_local.root))
    assert sorted(os.listdir(model.path)) == MODEL_FILES
    metrics = json.load(open(os.path.join(model.path, "metrics.json")))
    assert (outputs["validation_accuracy"], outputs["test_accuracy"]) == (
        metrics["validation"]["accuracy"], metrics["test"]["accuracy"])
    assert 0.8 < outputs["test_accuracy"] <= 1
    assert model.metadata == {
        "framework": "scikit-learn", "file": "model.joblib", "label_column": "Class", "svm_c": 1.0,
        "svm_gamma": "scale", "seed": 7, "validation_accuracy": outputs["validation_accuracy"],
        "test_accuracy": outputs["test_accuracy"],
    }


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.train, from_config={"label_column", "svm_c", "svm_gamma", "seed"})
    assert loaded.component_spec.outputs["model"].type == "system.Model@0.0.1"
    assert {n: o.type for n, o in loaded.component_spec.outputs.items() if n != "model"} == {
        "validation_accuracy": "Float", "test_accuracy": "Float"}
