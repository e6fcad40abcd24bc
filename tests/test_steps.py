"""The step functions the components call, with real files: what each passes on.

How their errors surface in a task is the component command's work (kfx.executor):
tests/faults/test_error_wrapping.py."""

import json
import os

import pandas as pd
import pytest

from kfx import data_steps, model_steps
from kfx.errors import DataError


@pytest.fixture(scope="module")
def sample_csv(beans_sample, tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "beans.csv"
    beans_sample.to_csv(path, index=False)
    return str(path)


def _paths(folder):
    return [str(folder / f"{s}.csv") for s in ("train", "validation", "test")]


def test_import_dataset_passes_the_fractions_in_order(sample_csv, tmp_path):
    result = data_steps.import_dataset(
        sample_csv, "Class", *_paths(tmp_path), fractions=(0.7, 0.2, 0.1), seed=42, sample_rows=0
    )
    assert (result["train_rows"], result["validation_rows"], result["test_rows"]) == (419, 120, 60)
    assert [len(pd.read_csv(p)) for p in _paths(tmp_path)] == [419, 120, 60]
    assert result["source"] == sample_csv and result["columns"][-1] == "Class" and len(result["columns"]) == 17


def test_import_dataset_samples_then_checks(tmp_path, beans):
    source = str(tmp_path / "beans.csv.gz")
    beans.to_csv(source, index=False)
    a = data_steps.import_dataset(source, "Class", *_paths(tmp_path / "a"), (0.8, 0.1, 0.1), seed=42, sample_rows=300)
    assert (a["train_rows"], a["validation_rows"], a["test_rows"]) == (240, 30, 30)
    b = data_steps.import_dataset(source, "Class", *_paths(tmp_path / "b"), (0.8, 0.1, 0.1), seed=7, sample_rows=300)
    assert not pd.read_csv(_paths(tmp_path / "a")[2]).equals(pd.read_csv(_paths(tmp_path / "b")[2]))
    # The seed drives both the sample and the split.
    from kfx import data, splitting

    sample = data.check_table(splitting.stratified_sample(beans, "Class", 300, seed=7), "Class", (0.8, 0.1, 0.1))
    expected = splitting.stratified_split(sample, "Class", (0.8, 0.1, 0.1), seed=7)
    for split, path in zip(("train", "validation", "test"), _paths(tmp_path / "b"), strict=True):
        assert open(path).read() == expected[split].to_csv(index=False)
    assert b["test_rows"] == 30
    # A table without the label column is refused by the check, not by the sampling.
    beans.drop(columns=["Class"]).iloc[:50].to_csv(tmp_path / "nolabel.csv", index=False)
    with pytest.raises(DataError) as caught:
        data_steps.import_dataset(
            str(tmp_path / "nolabel.csv"), "Class", *_paths(tmp_path / "c"), (0.8, 0.1, 0.1), 42, 10
        )
    assert str(caught.value).startswith(
        f"Label column 'Class' is not in source {str(tmp_path / 'nolabel.csv')!r} (columns: Area,"
    )
    assert not (tmp_path / "c").exists()


def test_the_train_step_hands_the_trainer_its_contract_and_options(sample_splits, tmp_path):
    metrics = model_steps.train(
        sample_splits["train"],
        sample_splits["validation"],
        sample_splits["test"],
        str(tmp_path / "model"),
        label_column="Class",
        svm_c=2.5,
        svm_gamma="0.1",
        seed=3,
        svm_max_rows=400,
        boosting_learning_rate=0.3,
        boosting_max_iter=20,
    )
    assert metrics["train_rows"] == 479 and metrics["test"]["rows"] == 60 and metrics["validation"]["rows"] == 60
    meta = json.loads((tmp_path / "model" / "model_metadata.json").read_text())
    assert meta["hyperparameters"] == {
        "svm_c": 2.5,
        "svm_gamma": "0.1",
        "svm_max_rows": 400,
        "boosting_learning_rate": 0.3,
        "boosting_max_iter": 20,
        "seed": 3,
    }
    # 479 training rows are more than svm_max_rows: gradient boosting, at most the rounds given.
    assert meta["model"]["estimator"] == metrics["model"]["estimator"] == "hist_gradient_boosting"
    assert 1 <= meta["model"]["boosting_rounds"] <= 20
    assert meta["data_uris"] == {
        "train": sample_splits["train"],
        "validation": sample_splits["validation"],
        "test": sample_splits["test"],
    }
    assert meta["label_column"] == "Class"


def test_the_push_step_passes_the_schema_and_the_registry(sample_splits, tmp_path):
    model = tmp_path / "model"
    model_steps.train(
        sample_splits["train"],
        sample_splits["validation"],
        sample_splits["test"],
        str(model),
        label_column="Class",
        svm_c=10.0,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=30000,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "Area" }\n')
    pushed = model_steps.push_model(
        str(model), str(tmp_path / "reg"), "mine", {"blessed": True, "accuracy": 0.9}, str(schema)
    )
    assert pushed == {"pushed": True, "version": 1, "uri": str(tmp_path / "reg" / "mine" / "v1")}
    assert (tmp_path / "reg" / "mine" / "v1" / "schema.pbtxt").read_text() == schema.read_text()
    # Evaluated with no champion, so first compared with v1 on the test split (the same model: a tie).
    again = model_steps.push_model(
        str(model),
        str(tmp_path / "reg"),
        "mine",
        {"blessed": True, "accuracy": 0.9},
        "",
        "",
        None,
        sample_splits["test"],
    )
    assert again["version"] == 2 and not (tmp_path / "reg" / "mine" / "v2" / "schema.pbtxt").exists()


def test_run_in_process_runs_every_step_in_order_into_one_folder(tmp_path):
    """What the benchmark times against the pipeline: the same steps, one process, a 600-row sample."""
    from beans_tasks import NAMES

    from kfx.config import Config
    from kfx.pipelines.in_process import beans_in_process as run_in_process

    run_dir = tmp_path / "run"
    out = run_in_process(Config(sample_rows=600, runs_dir=str(tmp_path / "runs"), model_name="m"), str(run_dir))
    assert list(out) == list(NAMES)
    assert (out["import-dataset"]["train_rows"], out["generate-statistics"]["features"]) == (479, 17)
    assert out["infer-schema"]["features"] == 17 and out["infer-schema"]["schema"].metadata["curated"] is False
    assert out["validate-statistics"]["anomalies_count"] == 0
    assert out["evaluate"]["accuracy"] == out["train"]["test_accuracy"] == 0.9 and out["evaluate"]["blessed"]
    assert (out["push-model"]["pushed"], out["push-model"]["version"]) == (True, 1)
    assert out["push-model"]["pushed_model"].metadata["uri"] == str(tmp_path / "runs" / "registry" / "m" / "v1")
    files = sorted(
        os.path.relpath(os.path.join(root, f), run_dir) for root, _, names in os.walk(run_dir) for f in names
    )
    assert files == sorted(
        [
            "import-dataset/train_data",
            "import-dataset/validation_data",
            "import-dataset/test_data",
            "find-model/registered_model",
            "generate-statistics/statistics/Split-train/stats.tfrecord",
            "generate-statistics/statistics/Split-validation/stats.tfrecord",
            "generate-statistics/statistics/Split-test/stats.tfrecord",
            "generate-statistics/statistics_view",
            "infer-schema/schema",
            "validate-statistics/anomalies/Split-train/anomalies.pbtxt",
            "validate-statistics/anomalies/Split-validation/anomalies.pbtxt",
            "validate-statistics/anomalies/Split-test/anomalies.pbtxt",
            "validate-statistics/report",
            "train/model/model.joblib",
            "train/model/model_metadata.json",
            "train/model/metrics.json",
            "check-serving/serving_check",
            "check-serving/serving_request",
            "evaluate/evaluation_view",
            "evaluate/metrics",
            "push-model/pushed_model",
        ]
    )
    # In one process too (which imported TFDV before training), the model loads where it is served.
    assert (out["check-serving"]["serving_ok"], out["check-serving"]["serving_check"].metadata["agreed"]) == (True, 60)
    assert sorted(os.listdir(tmp_path / "runs" / "registry" / "m" / "v1")) == [
        "evaluation.json",
        "manifest.json",
        "model.joblib",
        "model_metadata.json",
        "schema.pbtxt",
        "statistics",
    ]


def test_called_without_options_the_components_use_the_configurations_defaults(sample_csv, sample_splits, tmp_path):
    """A notebook or test that calls a component directly gets what `kfx run` does by default;
    the plain step functions take every value from their caller."""
    import inspect

    from kfp import dsl

    from kfx import components
    from kfx.config import Config

    config = Config()
    # The task types' options came after every caller of the plain steps: left out, each means what
    # the steps did before them (classes, accuracy; min_r2 is read only for a regression).
    later = {"task", "metric", "exclude_columns", "min_r2"}
    for name in ("import_dataset", "generate_statistics", "train", "evaluate", "validate_statistics"):
        steps = data_steps if hasattr(data_steps, name) else model_steps
        plain = inspect.signature(getattr(steps, name)).parameters.values()
        assert [p.name for p in plain if p.name in set(vars(config)) - later and p.default is not p.empty] == [], name
    made = {
        s: dsl.Dataset(name=s, uri=str(tmp_path / s), metadata={})
        for s in ("train_data", "validation_data", "test_data")
    }
    components.import_dataset.python_func(source=sample_csv, **made)
    expected = _paths(tmp_path / "b")
    data_steps.import_dataset(sample_csv, "Class", *expected, config.fractions, config.seed, config.sample_rows)
    assert [open(made[s].path).read() for s in made] == [open(p).read() for p in expected]
    model = dsl.Model(name="model", uri=str(tmp_path / "m"), metadata={})
    components.train.python_func(
        train_data=made["train_data"],
        validation_data=made["validation_data"],
        test_data=made["test_data"],
        model=model,
    )
    meta = json.loads((tmp_path / "m" / "model_metadata.json").read_text())
    assert meta["label_column"] == config.label_column
    assert meta["hyperparameters"] == {
        "svm_c": config.svm_c,
        "svm_gamma": config.svm_gamma,
        "svm_max_rows": config.svm_max_rows,
        "boosting_learning_rate": config.boosting_learning_rate,
        "boosting_max_iter": config.boosting_max_iter,
        "seed": config.seed,
    }
    metrics = dsl.Metrics(name="metrics", uri=str(tmp_path / "metrics"), metadata={})
    none = dsl.Artifact(name="registered_model", uri=str(tmp_path / "none"), metadata={"found": False})
    components.evaluate.python_func(
        model=model,
        test_data=made["test_data"],
        metrics=metrics,
        registered_model=none,
        classification_metrics=dsl.ClassificationMetrics(name="cm", uri=str(tmp_path / "cm"), metadata={}),
        evaluation_view=dsl.HTML(name="view", uri=str(tmp_path / "view.html"), metadata={}),
    )
    assert metrics.metadata["min_accuracy"] == config.min_accuracy
    assert metrics.metadata["accuracy_tolerance"] == config.accuracy_tolerance


def test_the_statistics_step_compares_train_with_validation_in_its_view(sample_splits, tmp_path):
    import base64
    import re

    from tensorflow_metadata.proto.v0 import statistics_pb2

    from kfx import statistics

    result = data_steps.generate_statistics(
        sample_splits["train"],
        sample_splits["validation"],
        sample_splits["test"],
        str(tmp_path / "statistics"),
        str(tmp_path / "view.html"),
        "memory",
    )
    assert result == {"train_rows": 479, "validation_rows": 60, "test_rows": 60, "features": 17}
    assert statistics.summarize(statistics.load_statistics(str(tmp_path / "statistics")))["validation"] == {
        "rows": 60,
        "features": 17,
    }
    blob = re.search(r'proto-input="([A-Za-z0-9+/=]+)"', (tmp_path / "view.html").read_text())[1]
    view = statistics_pb2.DatasetFeatureStatisticsList.FromString(base64.b64decode(blob))
    assert [(d.name, d.num_examples) for d in view.datasets] == [("train", 479), ("eval", 60)]


def test_the_beam_engine_gets_the_split_files_and_the_options(sample_splits, tmp_path):
    with pytest.raises(ValueError, match="^Unexpected pipeline runner: NoSuchRunner"):
        data_steps.generate_statistics(
            sample_splits["train"],
            sample_splits["validation"],
            sample_splits["test"],
            str(tmp_path / "statistics"),
            str(tmp_path / "view.html"),
            "beam",
            beam_options={"runner": "NoSuchRunner"},
        )
    assert not (tmp_path / "statistics").exists()


def test_run_in_process_passes_every_option_on(sample_csv, tmp_path):
    from kfx import schema as schemas
    from kfx.config import Config
    from kfx.errors import AnomaliesFound
    from kfx.pipelines.in_process import beans_in_process as run_in_process

    first = tmp_path / "first"
    run_in_process(Config(runs_dir=str(tmp_path / "r0"), sample_rows=600), str(first))
    curated = schemas.load_schema(str(first / "infer-schema" / "schema"))
    colour = curated.feature.add(name="Colour", type=1)  # a column the table does not have, required
    colour.presence.min_fraction = 1.0
    schemas.write_schema(curated, str(tmp_path / "curated.pbtxt"))
    config = Config(
        source=sample_csv,
        seed=7,
        train_fraction=0.7,
        validation_fraction=0.2,
        test_fraction=0.1,
        schema_file=str(tmp_path / "curated.pbtxt"),
        skew_threshold=0.9,
        svm_c=3.0,
        svm_gamma="auto",
        svm_max_rows=50,
        boosting_learning_rate=0.3,
        boosting_max_iter=20,
        min_accuracy=0.99,
        runs_dir=str(tmp_path / "runs"),
        model_name="other",
    )
    with pytest.raises(AnomaliesFound, match="^TFDV found 3 anomalies: 'Colour' in test \\(Column dropped\\)"):
        run_in_process(config, str(tmp_path / "strict"))
    out = run_in_process(config.replace(fail_on_anomalies=False), str(tmp_path / "run"))
    expected = tmp_path / "expected"
    data_steps.import_dataset(sample_csv, "Class", *_paths(expected), (0.7, 0.2, 0.1), 7, 0)
    for split in ("train", "validation", "test"):
        made = tmp_path / "run" / "import-dataset" / f"{split}_data"
        assert made.read_text() == (expected / f"{split}.csv").read_text()
    assert out["infer-schema"]["features"] == 18 and out["infer-schema"]["schema"].metadata["curated"] is True
    assert out["validate-statistics"]["anomalies_count"] == 3
    assert (
        "skew threshold train vs. validation: 0.9 plus a noise term"
        in (tmp_path / "run" / "validate-statistics" / "report").read_text()
    )
    meta = json.loads((tmp_path / "run" / "train" / "model" / "model_metadata.json").read_text())
    assert meta["hyperparameters"] == {
        "svm_c": 3.0,
        "svm_gamma": "auto",
        "svm_max_rows": 50,
        "boosting_learning_rate": 0.3,
        "boosting_max_iter": 20,
        "seed": 7,
    }
    assert meta["model"]["estimator"] == "hist_gradient_boosting" and meta["model"]["boosting_rounds"] <= 20
    assert out["evaluate"]["metrics"].metadata["min_accuracy"] == 0.99 and out["evaluate"]["blessed"] is False
    assert out["push-model"]["pushed"] is False and not (tmp_path / "runs" / "registry").exists()


def test_the_train_step_sets_its_own_contract_over_the_environments(sample_splits, tmp_path, monkeypatch):
    """Inside a Vertex AI job the environment already holds AIP_* variables; the step's own win."""
    monkeypatch.setenv("AIP_DATA_FORMAT", "bigquery")
    monkeypatch.setenv("AIP_MODEL_DIR", str(tmp_path / "elsewhere"))
    model_steps.train(
        sample_splits["train"],
        sample_splits["validation"],
        sample_splits["test"],
        str(tmp_path / "m"),
        label_column="Class",
        svm_c=10.0,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=30000,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    assert json.loads((tmp_path / "m" / "model_metadata.json").read_text())["data_format"] == "csv"
    assert not (tmp_path / "elsewhere").exists()


def test_a_model_folder_named_with_a_trailing_slash(sample_splits, tmp_path):
    """Folder names are joined after stripping one trailing slash, whatever the name ends with."""
    from kfx import evaluation, registry

    folder = str(tmp_path / "modelX") + "/"
    model_steps.train(
        sample_splits["train"],
        sample_splits["validation"],
        sample_splits["test"],
        folder,
        label_column="Class",
        svm_c=10.0,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=30000,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    assert sorted(os.listdir(tmp_path / "modelX")) == ["metrics.json", "model.joblib", "model_metadata.json"]
    result = evaluation.evaluate_model(folder, sample_splits["test"], 0.9)
    assert result["rows"] == 60
    pushed = registry.push_model(folder, str(tmp_path / "reg"), "beans", result)
    assert sorted(os.listdir(pushed["uri"])) == [
        "evaluation.json",
        "manifest.json",
        "model.joblib",
        "model_metadata.json",
    ]


def test_a_sampled_source_may_hold_a_column_named_index(tmp_path, beans_sample):
    """A table pandas wrote with its index starts with a column "index": sampled, it is kept as it was."""
    source = tmp_path / "indexed.csv"
    beans_sample.rename_axis("index").reset_index().to_csv(source, index=False)
    result = data_steps.import_dataset(str(source), "Class", *_paths(tmp_path), (0.8, 0.1, 0.1), 42, 300)
    assert (
        result["columns"][0] == "index"
        and result["train_rows"] + result["validation_rows"] + result["test_rows"] == 301
    )
    train = pd.read_csv(_paths(tmp_path)[0])
    assert list(train.columns) == result["columns"] and train["index"].is_monotonic_increasing
