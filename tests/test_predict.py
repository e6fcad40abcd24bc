"""``kfx predict``: batch prediction with a registry model, a second pipeline run through the real kfp.local.

A model is trained once (``kfx run`` on a 2,000-row sample of beans) and pushed to the registry;
each test scores a table with it through the CLI a user calls, and reads what the run left:
the predictions file, ``summary.json``, the lineage store.
"""

import json
import os
import shutil

import pandas as pd
import pytest

from kfx.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A training run of 2,000 beans rows, its model pushed as beans v1: (runs folder, its summary)."""
    from kfp import local

    from kfx.config import Config
    from kfx.local import run_local

    runs = tmp_path_factory.mktemp("predict") / "runs"
    result = run_local(Config(runs_dir=str(runs), sample_rows=2000), out=open(os.devnull, "w"))
    local.config.LocalExecutionConfig.instance = None
    assert result.status == "complete" and result.summary["push"]["version"] == 1
    return runs, result.summary


@pytest.fixture(scope="module")
def tables(trained, tmp_path_factory):
    """Tables to score: the training run's test split (200 rows), and the same rows without the label."""
    runs, summary = trained
    folder = tmp_path_factory.mktemp("tables")
    test = summary["artifacts"]["import-dataset/test_data"]
    shutil.copy(test, folder / "test.csv")
    pd.read_csv(test).drop(columns=["Class"]).to_csv(folder / "unlabelled.csv", index=False)
    return folder


def _predict(runs, capsys, *options):
    code = main(["predict", "--runs-dir", str(runs), *options])
    out, err = capsys.readouterr()
    return code, out, err


def _summary(out):
    folder = next(line.split(None, 2)[2] for line in out.splitlines() if line.startswith("  run folder"))
    return json.load(open(os.path.join(folder, "summary.json")))


def _run_folders(runs):
    return sorted(n for n in os.listdir(runs) if n.startswith("kfx-"))


@pytest.mark.e2e
def test_scoring_the_test_split_gives_the_evaluations_accuracy_and_is_recorded(trained, tables, capsys):
    runs, training = trained
    code, out, err = _predict(runs, capsys, "--model", "beans@latest", "--source", str(tables / "test.csv"))
    assert code == 0, err
    summary = _summary(out)
    assert summary["status"] == "complete" and summary["pipeline"] == "kfx-predict-beans"
    assert [s["name"] for s in summary["steps"]] == [
        "find-scoring-model",
        "import-scoring-data",
        "generate-scoring-statistics",
        "validate-scoring-statistics",
        "predict",
    ]
    evaluation = json.load(open(runs / "registry" / "beans" / "v1" / "evaluation.json"))
    predicted = summary["predictions"]
    # The same rows the evaluation scored, by the same model: the same accuracy, exactly.
    assert predicted["accuracy"] == evaluation["accuracy"] == training["model"]["test_accuracy"]
    assert (predicted["rows"], predicted["labelled_rows"], predicted["version"]) == (200, 200, "1")
    assert summary["scoring_anomalies"]["environment"] == "TRAINING" and summary["scoring_anomalies"]["count"] == 0
    assert predicted["file"].startswith(summary["run_dir"] + os.sep)
    written = pd.read_csv(predicted["file"])
    assert list(written.columns)[-3:] == ["predicted_Class", "model_name", "model_version"]
    assert (written["predicted_Class"] == written["Class"]).mean() == evaluation["accuracy"]
    assert "predictions 200 rows by beans v1: " in out
    assert f"            accuracy {evaluation['accuracy']:.4f}" in out
    # The lineage store has the run under its own pipeline, and the predictions' version.
    assert main(["lineage", "runs", "--runs-dir", str(runs)]) == 0
    runs_table = capsys.readouterr().out
    assert f"{summary['run_id']}  complete" in runs_table and f"{evaluation['accuracy']:.4f}" in runs_table
    assert main(["lineage", "show", f"{summary['run_id']}/predict/predictions", "--runs-dir", str(runs), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["artifact"]["properties"]["version"] == "1"
    assert shown["artifact"]["properties"]["model_name"] == "beans"
    # The newest model is still the training run's: a prediction run makes none.
    assert main(["lineage", "show", "latest", "--runs-dir", str(runs), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == training["run_id"]


@pytest.mark.e2e
def test_a_table_without_the_label_is_scored_in_the_serving_environment_and_copied_to_output(
    trained,
    tables,
    capsys,
    tmp_path,
):
    runs, _ = trained
    output = tmp_path / "out" / "predictions.csv"
    code, out, err = _predict(
        runs, capsys, "--model", "beans", "--source", str(tables / "unlabelled.csv"), "--output", str(output)
    )
    assert code == 0, err
    summary = _summary(out)
    assert summary["scoring"]["labelled"] is False
    assert summary["scoring_anomalies"]["environment"] == "SERVING" and summary["scoring_anomalies"]["count"] == 0
    assert "accuracy" not in summary["predictions"]
    assert summary["predictions"]["output"] == str(output)
    assert output.read_bytes() == open(summary["predictions"]["file"], "rb").read()
    assert os.listdir(output.parent) == ["predictions.csv"]  # no partial file left beside it
    written = pd.read_csv(output)
    assert len(written) == 200 and "Class" not in written.columns
    assert set(written["predicted_Class"]) <= set(pd.read_csv(tables / "test.csv")["Class"].unique()) | {
        "BARBUNYA",
        "BOMBAY",
        "CALI",
        "DERMASON",
        "HOROZ",
        "SEKER",
        "SIRA",
    }
    # --output never replaces a file unless told to.
    before = _run_folders(runs)
    code, out, err = _predict(
        runs, capsys, "--model", "beans", "--source", str(tables / "unlabelled.csv"), "--output", str(output)
    )
    assert code == 2 and out == ""
    assert err == (f"kfx: error: --output '{output}' exists already; pass another path, or --force to replace it.\n")
    assert _run_folders(runs) == before
    output.write_text("kept\n")
    assert (
        _predict(
            runs, capsys, "--model", "beans", "--source", str(tables / "test.csv"), "--output", str(output), "--force"
        )[0]
        == 0
    )
    assert "predicted_Class" in output.read_text()


@pytest.mark.e2e
def test_a_named_version_scores_with_that_version(trained, tables, capsys, tmp_path):
    runs, _ = trained
    registry = tmp_path / "registry"
    shutil.copytree(runs / "registry", registry)
    shutil.copytree(registry / "beans" / "v1", registry / "beans" / "v2")  # a second push of the same model
    versions = {}
    for reference in ("beans@1", "beans@latest"):
        code, out, err = _predict(
            runs,
            capsys,
            "--model",
            reference,
            "--source",
            str(tables / "unlabelled.csv"),
            "--registry-dir",
            str(registry),
            "--no-record-lineage",
        )
        assert code == 0, err
        predicted = _summary(out)["predictions"]
        versions[reference] = (predicted["version"], set(pd.read_csv(predicted["file"])["model_version"]))
    assert versions == {"beans@1": ("1", {1}), "beans@latest": ("2", {2})}


@pytest.mark.e2e
def test_a_changed_version_folder_is_not_mistaken_for_the_one_scored_before(trained, tables, capsys, tmp_path):
    runs, _ = trained
    registry = tmp_path / "registry"
    shutil.copytree(runs / "registry", registry)
    options = ["--model", "beans", "--source", str(tables / "unlabelled.csv"), "--registry-dir", str(registry)]
    assert _predict(runs, capsys, *options)[0] == 0
    # The same version number now holds something else (a registry made again): only the steps that
    # read the version folder run again.
    evaluation = registry / "beans" / "v1" / "evaluation.json"
    evaluation.write_text(evaluation.read_text().replace('"blessed": true', '"blessed": true, "remade": true'))
    code, out, err = _predict(runs, capsys, *options)
    assert code == 0, err
    states = {s["name"]: s["state"] for s in _summary(out)["steps"]}
    assert states == {
        "find-scoring-model": "complete",
        "import-scoring-data": "cached",
        "generate-scoring-statistics": "complete",
        "validate-scoring-statistics": "complete",
        "predict": "complete",
    }
    assert _predict(runs, capsys, *options)[1].count(" cached from run ") == 4


@pytest.mark.e2e
@pytest.mark.parametrize(
    "options, sentence",
    [
        (["--model", "wine"], "The registry {registry} holds no version of model 'wine'; pass one of: beans."),
        (["--model", "beans@4"], "Model 'beans' has no version 4 in {registry} (it has v1); pass one of: beans."),
        (
            ["--model", "beans@new"],
            "Model version 'new' in 'beans@new' is not a number; pass NAME@3, NAME@v3 or NAME@latest.",
        ),
        (
            ["--model", "beans", "--source", ""],
            "No table to score; pass --source with a .csv or .parquet file, gs:// path or bq:// table.",
        ),
        (
            ["--model", "beans", "--source", "missing.csv"],
            "Source file 'missing.csv' does not exist; pass the path of an existing .csv or .parquet file.",
        ),
    ],
)
def test_a_bad_model_or_source_is_refused_before_any_run(trained, tables, capsys, options, sentence):
    runs, _ = trained
    before = _run_folders(runs)
    source = [] if "--source" in options else ["--source", str(tables / "test.csv")]
    code, out, err = _predict(runs, capsys, *options, *source)
    assert code == 2 and out == ""
    assert err == f"kfx: error: {sentence.format(registry=runs / 'registry')}\n"
    assert _run_folders(runs) == before


@pytest.mark.e2e
def test_a_table_the_model_cannot_read_fails_before_anything_is_predicted(trained, tables, capsys, tmp_path):
    runs, _ = trained
    frame = pd.read_csv(tables / "test.csv")
    frame.drop(columns=["Area"]).to_csv(tmp_path / "no_area.csv", index=False)
    typed = frame.astype({"Solidity": object})
    typed.loc[6, "Solidity"] = "round"
    typed.to_csv(tmp_path / "text.csv", index=False)
    expected = {
        "no_area.csv": f"Column 'Area' that model beans v1 reads is not in '{tmp_path / 'no_area.csv'}'; add it to the "
        "table, or score the table with a model trained on its columns.",
        "text.csv": f"Column 'Solidity' of '{tmp_path / 'text.csv'}' holds 'round' in line 8, but model beans v1 was "
        "trained on numbers there (FLOAT in its schema); fix that value, or score the table with a model "
        "trained on its columns.",
    }
    for name, sentence in expected.items():
        output = tmp_path / f"{name}.predictions.csv"
        code, out, err = _predict(
            runs, capsys, "--model", "beans", "--source", str(tmp_path / name), "--output", str(output)
        )
        assert code != 0
        assert err.splitlines()[-1] == f"kfx: error: {sentence}"
        summary = _summary(out)
        assert summary["status"] == "failed" and summary["failed_step"] == "import-scoring-data"
        assert [s["name"] for s in summary["steps"]] == ["find-scoring-model", "import-scoring-data"]
        assert summary["predictions"] is None and not output.exists()
        assert not any("predict" == os.path.basename(d) for d, _, _ in os.walk(summary["run_dir"]))


@pytest.mark.e2e
def test_a_drifted_table_fails_validation_unless_anomalies_may_pass(trained, tables, capsys, tmp_path):
    runs, _ = trained
    frame = pd.read_csv(tables / "unlabelled.csv")
    frame.assign(Area=frame["Area"] * 3).to_csv(tmp_path / "drifted.csv", index=False)
    code, out, err = _predict(runs, capsys, "--model", "beans", "--source", str(tmp_path / "drifted.csv"))
    assert code == 3
    assert "'Area' (High approximate Jensen-Shannon divergence between current and previous)" in err
    assert err.strip().endswith("fix the table, or pass --no-fail-on-anomalies to predict anyway.")
    assert _summary(out)["failed_step"] == "validate-scoring-statistics"
    code, out, err = _predict(
        runs, capsys, "--model", "beans", "--source", str(tmp_path / "drifted.csv"), "--no-fail-on-anomalies"
    )
    assert code == 0, err
    summary = _summary(out)
    assert summary["scoring_anomalies"]["max_drift_feature"] == "Area"
    assert summary["scoring_anomalies"]["max_drift"] > 0.15 and summary["predictions"]["rows"] == 200


@pytest.mark.e2e
@pytest.mark.e2e
@pytest.mark.slow
def test_the_full_table_scores_within_a_point_of_the_models_test_accuracy(tmp_path, capsys):
    """Trained on the whole beans table, the model's accuracy on all 13,611 rows is within one point of its
    accuracy on the test split alone."""
    from kfx import data

    runs = tmp_path / "runs"
    assert main(["run", "--runs-dir", str(runs), "--no-record-lineage"]) == 0
    capsys.readouterr()
    code, out, err = _predict(
        runs, capsys, "--model", "beans@latest", "--source", data.beans_path(), "--no-record-lineage"
    )
    assert code == 0, err
    predicted = _summary(out)["predictions"]
    evaluation = json.load(open(runs / "registry" / "beans" / "v1" / "evaluation.json"))
    assert predicted["rows"] == predicted["labelled_rows"] == 13611
    assert abs(predicted["accuracy"] - evaluation["accuracy"]) <= 0.01


def test_output_is_refused_inside_a_file_and_a_copy_never_lands_on_a_file_that_appeared(tmp_path):
    from kfx.batch_prediction import check_output, copy_output
    from kfx.errors import ConfigError

    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError) as error:
        check_output(str(tmp_path / "file" / "p.csv"), force=False)
    assert str(error.value) == (
        f"--output '{tmp_path / 'file' / 'p.csv'}' is inside '{tmp_path / 'file'}', "
        "which is a file; pass a path in a folder."
    )
    with pytest.raises(ConfigError, match="is a folder; pass the path of a file to write"):
        check_output(str(tmp_path), force=True)
    assert check_output("", force=False) == ""
    predictions = tmp_path / "predictions"
    predictions.write_text("a,predicted_Class\n1,SEKER\n")
    target = tmp_path / "out" / "p.csv"
    assert check_output(str(target), force=False) == str(target)
    target.parent.mkdir()
    target.write_text("someone else's\n")  # appeared while the run went
    with pytest.raises(ConfigError, match="exists already; pass another path, or --force to replace it.$"):
        copy_output(str(predictions), str(target), force=False)
    assert target.read_text() == "someone else's\n" and os.listdir(target.parent) == ["p.csv"]
    copy_output(str(predictions), str(target), force=True)
    assert target.read_text() == predictions.read_text() and os.listdir(target.parent) == ["p.csv"]


def test_the_prediction_pipeline_compiles_with_its_parameters_and_order(tmp_path):
    import yaml
    from kfp import compiler

    from kfx.batch_prediction import predict_config
    from kfx.config import Config
    from kfx.pipelines import arguments, local_values
    from kfx.pipelines.local_predict import batch_predict

    config = predict_config(Config(runs_dir=str(tmp_path / "runs"), source="new.csv"), "beans")
    path = tmp_path / "predict.yaml"
    values = arguments(batch_predict, {**local_values(config), "model_version": "3"})  # as kfx predict passes them
    compiler.Compiler().compile(batch_predict, package_path=str(path), pipeline_parameters=values)
    spec = yaml.safe_load(path.read_text())
    assert spec["pipelineInfo"]["name"] == "kfx-predict-beans"
    parameters = {k: v.get("defaultValue") for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    assert parameters == {
        "registry_dir": str(tmp_path / "runs" / "registry"),
        "model_name": "beans",
        "model_version": "3",
        "source": "new.csv",
        "drift_threshold": 0.15,
        "fail_on_anomalies": True,
    }
    tasks = spec["root"]["dag"]["tasks"]
    assert list(tasks) == [
        "find-scoring-model",
        "generate-scoring-statistics",
        "import-scoring-data",
        "predict",
        "validate-scoring-statistics",
    ]
    assert sorted(tasks["predict"]["dependentTasks"]) == [
        "find-scoring-model",
        "import-scoring-data",
        "validate-scoring-statistics",
    ]


def test_the_help_says_what_predict_options_mean_here(capsys):
    with pytest.raises(SystemExit) as done:
        main(["predict", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--model NAME[@VERSION] The registry model: NAME (its newest version), NAME@3 or NAME@latest." in text
    assert "--source SOURCE Table to score:" in text and "the label column may be absent." in text
    assert "the model version's training statistics above which a feature has drifted. Defaults to 0.15." in text


def test_a_reference_that_found_no_version_is_one_sentence_with_find_models_reason(tmp_path):
    from kfx import scoring
    from kfx.errors import ModelNotFound

    path = tmp_path / "registered_model"
    path.write_text(json.dumps({"found": False, "model_name": "beans", "reason": "model 'beans' has no version 7"}))
    with pytest.raises(ModelNotFound) as caught:
        scoring.read_reference(str(path))
    assert str(caught.value) == "Model 'beans' has no version 7; pass a model and version that `kfx run` pushed."
    path.write_text(json.dumps({"found": False, "model_name": "wine", "reason": ""}))
    with pytest.raises(ModelNotFound) as caught:
        scoring.read_reference(str(path))
    assert str(caught.value) == "No version of model 'wine' was found; pass a model and version that `kfx run` pushed."
    found = {"found": True, "model_name": "beans", "version": "2", "uri": "/registry/beans/v2"}
    path.write_text(json.dumps(found))
    assert scoring.read_reference(str(path)) == found
