"""The trainer under the Vertex AI custom-training contract, run as the container runs it."""

import json
import os
import subprocess
import sys

import joblib
import pytest

from kfx.errors import ConfigError
from kfx_trainer import inputs, task
from kfx_trainer.model import to_matrix


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
    assert meta["hyperparameters"] == {
        "svm_c": 10.0,
        "svm_gamma": "scale",
        "svm_max_rows": 30000,
        "boosting_learning_rate": 0.1,
        "boosting_max_iter": 100,
        "seed": 42,
    }
    # The exact data handed over is kept with the model: the pipeline evaluates on this test split.
    assert meta["data_format"] == "csv"
    assert meta["data_uris"] == {
        "train": sample_splits["train"],
        "validation": sample_splits["validation"],
        "test": sample_splits["test"],
    }
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
    frame = inputs.read_split(str(shards / "training-*.csv"), "csv")
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
    proc = subprocess.run(
        [sys.executable, "-m", "kfx_trainer.task", "--svm-gamma", "auto"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["test"]["rows"] == 60
    env.pop("AIP_MODEL_DIR")
    proc = subprocess.run([sys.executable, "-m", "kfx_trainer.task"], env=env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("trainer: error: The trainer needs the environment variable(s) AIP_MODEL_DIR")
    assert "Traceback" not in proc.stderr


def test_options_defaults_and_help(monkeypatch, capsys):
    # The defaults are the Config's: the trainer reads them from kfx.config, not from literals of its own.
    assert vars(task.parse_args([])) == {
        "label_column": "Class",
        "svm_c": 10.0,
        "svm_gamma": "scale",
        "svm_max_rows": 30000,
        "boosting_learning_rate": 0.1,
        "boosting_max_iter": 100,
        "seed": 42,
        "task": "",
        "exclude_columns": "",
    }
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        task.parse_args(["--help"])
    assert capsys.readouterr().out == (
        "usage: python -m kfx_trainer.task [-h] [--label-column LABEL_COLUMN]\n"
        "                                  [--svm-c SVM_C] [--svm-gamma SVM_GAMMA]\n"
        "                                  [--svm-max-rows SVM_MAX_ROWS]\n"
        "                                  [--boosting-learning-rate BOOSTING_LEARNING_RATE]\n"
        "                                  [--boosting-max-iter BOOSTING_MAX_ITER]\n"
        "                                  [--seed SEED] [--task TASK]\n"
        "                                  [--exclude-columns EXCLUDE_COLUMNS]\n"
        "\n"
        "Entry point of the trainer: ``python -m kfx_trainer.task [options]``.\n"
        "\n"
        "options:\n"
        "  -h, --help            show this help message and exit\n"
        "  --label-column LABEL_COLUMN\n"
        "                        Column holding the class (default: Class).\n"
        "  --svm-c SVM_C         SVM regularisation C (default: 10.0).\n"
        "  --svm-gamma SVM_GAMMA\n"
        '                        RBF gamma: "scale", "auto" or a number (default:\n'
        "                        scale).\n"
        "  --svm-max-rows SVM_MAX_ROWS\n"
        "                        Training rows up to which the model is the exact RBF\n"
        "                        SVC; above them it is gradient boosting (default:\n"
        "                        30000).\n"
        "  --boosting-learning-rate BOOSTING_LEARNING_RATE\n"
        "                        Gradient boosting's learning rate (default: 0.1).\n"
        "  --boosting-max-iter BOOSTING_MAX_ITER\n"
        "                        Gradient boosting's most rounds; early stopping ends\n"
        "                        sooner (default: 100).\n"
        "  --seed SEED           Random state of the model (default: 42).\n"
        "  --task TASK           classification or regression; empty infers it from the\n"
        "                        training labels (see kfx.tasks).\n"
        "  --exclude-columns EXCLUDE_COLUMNS\n"
        "                        Columns, separated by commas, that the model does not\n"
        "                        learn from (default: none).\n"
    )


def test_gamma_values():
    assert [task._gamma(v) for v in ("scale", "auto", "0.25", "3")] == ["scale", "auto", 0.25, 3.0]
    with pytest.raises(ConfigError) as caught:
        task._gamma("wide")
    assert str(caught.value) == "--svm-gamma 'wide' is not valid; pass scale, auto or a positive number."


def test_the_contract_defaults_to_csv_and_names_what_is_missing():
    env = {"AIP_MODEL_DIR": "m", "AIP_TRAINING_DATA_URI": "a", "AIP_VALIDATION_DATA_URI": "b", "AIP_TEST_DATA_URI": "c"}
    assert task.read_contract(env) == {"model_dir": "m", "format": "csv", "train": "a", "validation": "b", "test": "c"}
    with pytest.raises(ConfigError) as caught:
        task.read_contract({**env, "AIP_VALIDATION_DATA_URI": ""})
    assert str(caught.value) == (
        "The trainer needs the environment variable(s) AIP_VALIDATION_DATA_URI; "
        "set them as a Vertex AI custom training job with a managed dataset does."
    )


def test_the_model_carries_the_options_it_was_given(sample_splits, tmp_path):
    import time

    started = time.perf_counter()
    metrics = task.main(
        ["--svm-c", "2.5", "--svm-gamma", "0.1", "--seed", "3"],
        environ=contract(sample_splits, str(tmp_path / "model") + "/"),
    )
    took = time.perf_counter() - started
    assert sorted(os.listdir(tmp_path / "model")) == ["metrics.json", "model.joblib", "model_metadata.json"]
    svc = joblib.load(tmp_path / "model" / "model.joblib")[-1]
    assert (svc.C, svc.gamma, svc.random_state) == (2.5, 0.1, 3)
    assert set(metrics) == {"fit_seconds", "train_rows", "validation", "test"}
    assert metrics["validation"].keys() == metrics["test"].keys() == {"accuracy", "macro_f1", "rows"}
    assert 0 < metrics["fit_seconds"] <= took and metrics["fit_seconds"] == round(metrics["fit_seconds"], 3)
    assert (tmp_path / "model" / "metrics.json").read_text() == json.dumps(metrics, indent=2)


def test_build_model_column_kinds_and_the_two_estimators():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, PowerTransformer
    from sklearn.svm import SVC

    from kfx_trainer.model import MAX_CATEGORIES, MISSING, build_model

    options = dict(c=10.0, gamma="scale", learning_rate=0.2, max_iter=30, seed=42)
    model = build_model([False, True, False], "svc", **options)
    columns, svc = model[0], model[-1]
    assert [(name, cols) for name, _, cols in columns.transformers] == [("numeric", [0, 2]), ("categorical", [1])]
    numeric, text = columns.transformers[0][1], columns.transformers[1][1]
    # Numbers: the training median for a missing value, then Yeo-Johnson for the RBF kernel.
    assert [type(s) for _, s in numeric.steps] == [SimpleImputer, PowerTransformer]
    assert numeric[0].strategy == "median"
    # Text: NaN and None (a JSON null) both become one category; unseen values are no error.
    assert [type(s) for _, s in text.steps] == [SimpleImputer, SimpleImputer, OneHotEncoder]
    assert [(s.missing_values, s.fill_value) for s in (text[0], text[1])] == [
        (text[0].missing_values, MISSING),
        (None, MISSING),
    ]
    assert text[0].missing_values != text[0].missing_values  # NaN
    assert (text[-1].handle_unknown, text[-1].max_categories) == ("infrequent_if_exist", MAX_CATEGORIES)
    assert type(svc) is SVC and (svc.C, svc.gamma, svc.random_state) == (10.0, "scale", 42)

    boosted = build_model([False, True, False], "hist_gradient_boosting", **options)
    # Trees need no Yeo-Johnson: numbers are only imputed.
    assert [type(s) for _, s in boosted[0].transformers[0][1].steps] == [SimpleImputer]
    final = boosted[-1]
    assert type(final) is HistGradientBoostingClassifier
    assert (final.learning_rate, final.max_iter, final.early_stopping, final.random_state) == (0.2, 30, True, 42)
    assert [name for name, _, _ in build_model([False], "svc", **options)[0].transformers] == ["numeric"]
    assert [name for name, _, _ in build_model([True], "svc", **options)[0].transformers] == ["categorical"]
    with pytest.raises(ValueError, match="Unknown estimator 'forest'"):
        build_model([False], "forest", **options)


def test_the_estimator_is_the_svc_up_to_svm_max_rows_and_boosting_above():
    from kfx_trainer.model import choose_estimator

    assert [choose_estimator(rows, 30000) for rows in (1, 29999, 30000, 30001, 1_088_880)] == [
        "svc",
        "svc",
        "svc",
        "hist_gradient_boosting",
        "hist_gradient_boosting",
    ]
    assert choose_estimator(1, 0) == "hist_gradient_boosting"


def test_a_text_column_is_one_hot_encoded_and_an_unseen_value_is_no_error(sample_splits, tmp_path):
    import pandas as pd

    folder = tmp_path / "data"
    folder.mkdir()
    paths = {}
    for split, path in sample_splits.items():
        frame = pd.read_csv(path)
        frame.insert(1, "Farm", ["north", "south"] * (len(frame) // 2) + ["north"] * (len(frame) % 2))
        paths[split] = str(folder / f"{split}.csv")
        frame.to_csv(paths[split], index=False)
    task.main([], environ=contract(paths, tmp_path / "model"))
    meta = json.loads((tmp_path / "model" / "model_metadata.json").read_text())
    assert meta["categorical"] == ["Farm"] and meta["features"][:2] == ["Area", "Farm"]
    model = joblib.load(tmp_path / "model" / "model.joblib")
    row = pd.read_csv(paths["test"]).iloc[:1].assign(Farm="east")
    assert to_matrix(row, meta["features"]).dtype == object
    assert model.predict(to_matrix(row, meta["features"]))[0] in meta["classes"]


def test_a_label_missing_from_the_training_data_is_named(sample_splits, tmp_path):
    from kfx.errors import DataError

    with pytest.raises(DataError) as caught:
        task.main(["--label-column", "Variety"], environ=contract(sample_splits, tmp_path / "m"))
    assert str(caught.value) == "Label column 'Variety' is not in the training data; pass --label-column."


def test_cli_prints_the_metrics_or_one_sentence(sample_splits, tmp_path, monkeypatch, capsys):
    for name, value in contract(sample_splits, tmp_path / "m").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["trainer", "--seed", "1"])
    assert task.cli() == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == json.loads((tmp_path / "m" / "metrics.json").read_text()) and err == ""
    monkeypatch.setenv("AIP_DATA_FORMAT", "tfrecord")
    assert task.cli() == 2
    assert capsys.readouterr() == (
        "",
        "trainer: error: AIP_DATA_FORMAT is 'tfrecord'; the trainer reads csv or bigquery.\n",
    )


def test_features_go_to_the_model_as_floats_when_all_are_numbers():
    import pandas as pd

    ints = pd.DataFrame({"a": [1, 2], "b": [3, 4], "label": ["x", "y"]})
    assert to_matrix(ints, ["a", "b"]).dtype == float and to_matrix(ints, ["a", "b"]).tolist() == [
        [1.0, 3.0],
        [2.0, 4.0],
    ]
    mixed = ints.assign(c=["u", "v"])
    assert to_matrix(mixed, ["a", "c"]).dtype == object and to_matrix(mixed, ["a", "c"]).tolist() == [
        [1, "u"],
        [2, "v"],
    ]


def test_split_files_are_read_as_one_table_or_named_when_none_match(sample_splits, tmp_path):
    import pandas as pd

    from kfx.errors import SourceError

    train = pd.read_csv(sample_splits["train"])
    train.iloc[:100].to_csv(tmp_path / "part-0.csv", index=False)
    train.iloc[100:].to_csv(tmp_path / "part-1.csv", index=False)
    frame = inputs.read_split(str(tmp_path / "part-*.csv"), "csv")
    assert list(frame.index) == list(range(479)) and frame["Area"].tolist() == train["Area"].tolist()
    with pytest.raises(SourceError) as caught:
        inputs.read_split(str(tmp_path / "none-*.csv"), "csv")
    assert str(caught.value) == (
        f"No data file matches {str(tmp_path / 'none-*.csv')!r}; check the data URI handed to the trainer."
    )


def test_the_model_metadata_file(sample_splits, tmp_path):
    task.main([], environ=contract(sample_splits, tmp_path / "m"))
    text = (tmp_path / "m" / "model_metadata.json").read_text()
    meta = json.loads(text)
    assert text == json.dumps(meta, indent=2)
    assert (meta["framework"], meta["label_column"], meta["categorical"]) == ("scikit-learn", "Class", [])
    assert meta["classes"] == ["BARBUNYA", "BOMBAY", "CALI", "DERMASON", "HOROZ", "SEKER", "SIRA"]
