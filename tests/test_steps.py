"""The step functions the components call, with real files: what each passes on, and how errors surface."""

import json
import os

import pandas as pd
import pytest

from kfx import steps
from kfx.errors import DataError, KfxError


@pytest.fixture(scope="module")
def sample_csv(beans_sample, tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "beans.csv"
    beans_sample.to_csv(path, index=False)
    return str(path)


def _paths(folder):
    return [str(folder / f"{s}.csv") for s in ("train", "validation", "test")]


def test_import_dataset_passes_the_fractions_in_order(sample_csv, tmp_path):
    result = steps.import_dataset(sample_csv, "Class", *_paths(tmp_path), fractions=(0.7, 0.2, 0.1), seed=42)
    assert (result["train_rows"], result["validation_rows"], result["test_rows"]) == (419, 120, 60)
    assert [len(pd.read_csv(p)) for p in _paths(tmp_path)] == [419, 120, 60]
    assert result["source"] == sample_csv and result["columns"][-1] == "Class" and len(result["columns"]) == 17


def test_import_dataset_samples_then_checks(tmp_path, beans):
    source = str(tmp_path / "beans.csv.gz")
    beans.to_csv(source, index=False)
    a = steps.import_dataset(source, "Class", *_paths(tmp_path / "a"), seed=42, sample_rows=300)
    assert (a["train_rows"], a["validation_rows"], a["test_rows"]) == (240, 30, 30)
    b = steps.import_dataset(source, "Class", *_paths(tmp_path / "b"), seed=7, sample_rows=300)
    assert not pd.read_csv(_paths(tmp_path / "a")[2]).equals(pd.read_csv(_paths(tmp_path / "b")[2]))
    # A table without the label column is refused by the check, not by the sampling.
    beans.drop(columns=["Class"]).iloc[:50].to_csv(tmp_path / "nolabel.csv", index=False)
    with pytest.raises(DataError) as caught:
        steps.import_dataset(str(tmp_path / "nolabel.csv"), "Class", *_paths(tmp_path / "c"), sample_rows=10)
    assert str(caught.value).startswith(f"Label column 'Class' is not in source {str(tmp_path / 'nolabel.csv')!r} (columns: Area,")
    assert not (tmp_path / "c").exists()


def test_a_step_outside_a_task_raises_and_other_errors_pass_through(monkeypatch):
    calls = []

    def fails(kind):
        calls.append(kind)
        raise kind("The input is wrong; pass another.")

    wrapped = steps.step(fails)
    assert wrapped.__name__ == "fails" and wrapped.__doc__ == fails.__doc__
    monkeypatch.delenv("_KFP_RUNTIME", raising=False)
    with pytest.raises(DataError):
        wrapped(DataError)
    monkeypatch.setenv("_KFP_RUNTIME", "true")
    with pytest.raises(ValueError):
        wrapped(ValueError)  # not a user's error: the traceback is the useful thing
    assert steps.step(lambda x, y=1: x + y)(2, y=3) == 5


def test_inside_a_task_a_users_error_prints_one_line_and_exits_with_its_code(monkeypatch, capsys):
    class Odd(KfxError):
        exit_code = 7

    monkeypatch.setenv("_KFP_RUNTIME", "true")
    with pytest.raises(SystemExit) as caught:
        steps.step(lambda: (_ for _ in ()).throw(Odd("The input is odd; pass an even one.")))()
    assert caught.value.code == 7 and caught.value.__cause__ is None and caught.value.__suppress_context__
    assert capsys.readouterr() == ("kfx-error: Odd: The input is odd; pass an even one.\n", "")


def test_the_train_step_hands_the_trainer_its_contract_and_options(sample_splits, tmp_path):
    metrics = steps.train(sample_splits["train"], sample_splits["validation"], sample_splits["test"],
                          str(tmp_path / "model"), "Class", svm_c=2.5, svm_gamma="0.1", seed=3)
    assert metrics["train_rows"] == 479 and metrics["test"]["rows"] == 60 and metrics["validation"]["rows"] == 60
    meta = json.loads((tmp_path / "model" / "model_metadata.json").read_text())
    assert meta["hyperparameters"] == {"svm_c": 2.5, "svm_gamma": "0.1", "seed": 3}
    assert meta["data_uris"] == {"train": sample_splits["train"], "validation": sample_splits["validation"],
                                 "test": sample_splits["test"]}
    assert meta["label_column"] == "Class"


def test_the_push_step_passes_the_schema_and_the_registry(sample_splits, tmp_path):
    model = tmp_path / "model"
    steps.train(sample_splits["train"], sample_splits["validation"], sample_splits["test"], str(model))
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "Area" }\n')
    pushed = steps.push_model(str(model), str(tmp_path / "reg"), "mine", {"blessed": True, "accuracy": 0.9}, str(schema))
    assert pushed == {"pushed": True, "version": 1, "uri": str(tmp_path / "reg" / "mine" / "v1")}
    assert (tmp_path / "reg" / "mine" / "v1" / "schema.pbtxt").read_text() == schema.read_text()
    again = steps.push_model(str(model), str(tmp_path / "reg"), "mine", {"blessed": True, "accuracy": 0.9})
    assert again["version"] == 2 and not (tmp_path / "reg" / "mine" / "v2" / "schema.pbtxt").exists()


def test_run_in_process_runs_every_step_in_order_into_one_folder(tmp_path):
    """What the benchmark times against the pipeline: the same steps, one process, a 600-row sample."""
    from kfx.config import Config
    from kfx.pipeline import STEPS

    run_dir = tmp_path / "run"
    out = steps.run_in_process(Config(sample_rows=600, runs_dir=str(tmp_path / "runs"), model_name="m"), str(run_dir))
    assert list(out) == list(STEPS)
    assert (out["import-dataset"]["train_rows"], out["generate-statistics"]["features"]) == (479, 17)
    assert out["infer-schema"] == {"features": 17, "curated": False}
    assert out["validate-statistics"]["anomalies"] == 0
    assert out["evaluate"]["accuracy"] == out["train"]["test"]["accuracy"] == 0.9 and out["evaluate"]["blessed"]
    assert out["push-model"] == {"pushed": True, "version": 1, "uri": str(tmp_path / "runs" / "registry" / "m" / "v1")}
    files = sorted(os.path.relpath(os.path.join(root, f), run_dir) for root, _, names in os.walk(run_dir) for f in names)
    assert files == sorted([
        "data/train.csv", "data/validation.csv", "data/test.csv",
        "statistics/Split-train/stats.tfrecord", "statistics/Split-validation/stats.tfrecord",
        "statistics/Split-test/stats.tfrecord", "statistics.html", "schema.pbtxt",
        "anomalies/Split-train/anomalies.pbtxt", "anomalies/Split-validation/anomalies.pbtxt",
        "anomalies/Split-test/anomalies.pbtxt", "anomalies.md",
        "model/model.joblib", "model/model_metadata.json", "model/metrics.json", "evaluation.html",
    ])
    assert sorted(os.listdir(tmp_path / "runs" / "registry" / "m" / "v1")) == [
        "evaluation.json", "model.joblib", "model_metadata.json", "schema.pbtxt"]
