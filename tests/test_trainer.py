"""The trainer under the Vertex AI custom-training contract, run as the container runs it."""

import json
import os
import subprocess
import sys

import joblib
import pytest

from kfx.errors import ConfigError
from trainer import task
from trainer.model import to_matrix


def contract(splits, model_dir, fmt="csv"):
    return {
        "AIP_MODEL_DIR": str(model_dir),
        "AIP_DATA_FORMAT": fmt,
        "AIP_TRAINING_DATA_URI": splits["train"],
        "AIP_VALIDATION_DATA_URI": splits["validation"],
        "AIP_TEST_DATA_URI": splits["test"],
    }


def test_main_writes_a_servable_model_and_its_metrics(sample_splits, tmp_path):
    metrics = task.main(["--svm-c", "10"], environ=contract(sample_splits, tmp_path / "model"))
    files = sorted(os.listdir(tmp_path / "model"))
    assert files == ["metrics.json", "model.joblib", "model_metadata.json"]
    assert json.loads((tmp_path / "model" / "metrics.json").read_text()) == metrics
    assert metrics["train_rows"] == 479 and metrics["test"]["rows"] == 60
    assert metrics["test"]["accuracy"] > 0.8
    model = joblib.load(tmp_path / "model" / "model.joblib")
    meta = json.loads((tmp_path / "model" / "model_metadata.json").read_text())
    assert meta["features"][0] == "Area" and len(meta["features"]) == 16
    assert meta["hyperparameters"] == {"svm_c": 10.0, "svm_gamma": "scale", "seed": 42}
    # The exact data handed over is kept with the model: the pipeline evaluates on this test split.
    assert meta["data_format"] == "csv"
    assert meta["data_uris"] == {"train": sample_splits["train"], "validation": sample_splits["validation"],
                                 "test": sample_splits["test"]}
    # The prebuilt serving image sends plain lists of values; the model takes them.
    import pandas as pd

    row = pd.read_csv(sample_splits["test"]).iloc[:3]
    instances = to_matrix(row, meta["features"]).tolist()
    assert list(model.predict(instances)) == list(model.predict(to_matrix(row, meta["features"])))
    assert set(model.predict(instances)) <= set(meta["classes"])


def test_wildcard_uris_are_read_like_vertex_exports(sample_splits, tmp_path):
    import pandas as pd

    train = pd.read_csv(sample_splits["train"])
    shards = tmp_path / "export"
    shards.mkdir()
    train.iloc[:200].to_csv(shards / "training-00000-of-00002.csv", index=False)
    train.iloc[200:].to_csv(shards / "training-00001-of-00002.csv", index=False)
    frame = task.read_split(str(shards / "training-*.csv"), "csv")
    assert len(frame) == len(train)
    assert frame["Area"].sum() == train["Area"].sum()


def test_missing_contract_names_the_variables(sample_splits):
    env = contract(sample_splits, "/tmp/unused")
    del env["AIP_MODEL_DIR"], env["AIP_TEST_DATA_URI"]
    with pytest.raises(ConfigError, match="AIP_MODEL_DIR, AIP_TEST_DATA_URI"):
        task.main([], environ=env)
    with pytest.raises(ConfigError, match="AIP_DATA_FORMAT is 'tfrecord'"):
        task.main([], environ={**contract(sample_splits, "/tmp/unused"), "AIP_DATA_FORMAT": "tfrecord"})


def test_module_entry_point_runs_as_in_the_container(sample_splits, tmp_path):
    env = {**os.environ, **contract(sample_splits, tmp_path / "m")}
    proc = subprocess.run([sys.executable, "-m", "trainer.task", "--svm-gamma", "auto"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["test"]["rows"] == 60
    env.pop("AIP_MODEL_DIR")
    proc = subprocess.run([sys.executable, "-m", "trainer.task"], env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("trainer: error: The trainer needs the environment variable(s) AIP_MODEL_DIR")
    assert "Traceback" not in proc.stderr
