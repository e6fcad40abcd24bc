"""The beans pipeline compiled and run end to end through KFP's own local executor (kfp.local)."""

import json
import os

import pytest
import yaml
from beans_tasks import NAMES, at

from kfx.config import Config
from kfx.local import run_local
from kfx.pipelines import compile_pipeline


def test_local_target_compiles_to_its_steps_in_order(tmp_path):
    path = compile_pipeline(Config(image="example.com/kfx:1.0"), str(tmp_path / "p.yaml"))
    spec = yaml.safe_load(open(path))
    tasks = spec["root"]["dag"]["tasks"]
    assert sorted(tasks) == sorted(NAMES)
    deps = {name: set(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert deps["generate-statistics"] == {"import-dataset"}
    assert deps["validate-statistics"] == {
        "generate-statistics",
        "infer-schema",
        "find-model",
    }  # drift from the champion
    assert {"validate-statistics", "import-dataset"} <= deps["train"]
    assert deps["find-model"] == {"import-dataset"}
    assert "find-model" in deps["evaluate"]
    # import-dataset: its test split, to compare with a champion pushed while the run ran.
    assert deps["push-model"] == {
        "evaluate",
        "infer-schema",
        "train",
        "generate-statistics",
        "find-model",
        "import-dataset",
    }
    # The gate is an input of push-model, wired from evaluate's output.
    blessed = tasks["push-model"]["inputs"]["parameters"]["blessed"]["taskOutputParameter"]
    assert blessed == {"outputParameterKey": "blessed", "producerTask": "evaluate"}
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {"example.com/kfx:1.0"}
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["label_column"]["defaultValue"] == "Class" and params["seed"]["defaultValue"] == 42


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    import io

    runs = tmp_path_factory.mktemp("runs")
    out = io.StringIO()
    result = run_local(Config(sample_rows=600, runs_dir=str(runs), record_lineage=False), out=out)
    return result, out.getvalue(), runs


@pytest.mark.e2e
def test_sample_run_completes_every_step(sample_run):
    result, console, runs = sample_run
    assert result.status == "complete", result.summary.get("error")
    assert [e.name for e in result.events] == list(NAMES)
    assert all(e.state == "complete" for e in result.events)
    for name in NAMES:
        assert f"{at(name)} ..." in console and f"{at(name)} done in" in console
    s = result.summary
    assert s["rows"] == {"train": 479, "validation": 60, "test": 60}
    assert s["statistics"]["features"] == 17 and s["schema"]["features"] == 17
    assert s["anomalies"]["count"] == 0
    assert 0.8 < s["model"]["test_accuracy"] <= 1 and s["model"]["blessed"] is True
    assert s["push"] == {"pushed": True, "version": 1, "uri": str(runs / "registry" / "beans" / "v1")}


@pytest.mark.e2e
def test_sample_run_writes_summary_and_real_artifacts(sample_run):
    result, _, runs = sample_run
    on_disk = json.load(open(os.path.join(result.run_dir, "summary.json")))
    assert on_disk["status"] == "complete" and on_disk["rows"] == result.summary["rows"]
    assert on_disk["config"]["sample_rows"] == 600
    from kfx import statistics

    stats = statistics.load_statistics(on_disk["statistics"]["uri"])
    assert {k: int(v.datasets[0].num_examples) for k, v in stats.items()} == {
        "train": 479,
        "validation": 60,
        "test": 60,
    }
    assert os.path.isfile(os.path.join(on_disk["model"]["uri"], "model.joblib"))
    assert "confusion matrix" in open(on_disk["model"]["view"]).read()
    assert sorted(os.listdir(runs / "registry" / "beans" / "v1")) == [
        "evaluation.json",
        "manifest.json",
        "model.joblib",
        "model_metadata.json",
        "schema.pbtxt",
        "statistics",
    ]
    assert "Executing task" in open(on_disk["log"]).read()


@pytest.mark.e2e
def test_anomalies_fail_the_run_and_leave_nothing_half_made(tmp_path, beans_sample):
    import io

    from kfx.errors import AnomaliesFound

    damaged = beans_sample.copy()
    damaged.loc[damaged.index[-12:], "Class"] = "PINTO"  # a class seen only in a few rows
    schema_dir = tmp_path / "schema"
    # A curated schema from clean data knows no PINTO.
    clean = tmp_path / "clean.csv"
    beans_sample.to_csv(clean, index=False)
    from kfx import schema as schemas
    from kfx import splitting, statistics

    stats = statistics.compute_statistics(splitting.stratified_split(beans_sample, "Class", (0.8, 0.1, 0.1), 42))
    schema_dir.mkdir()
    schemas.write_schema(schemas.infer_schema(stats["train"]), str(schema_dir / "schema.pbtxt"))
    src = tmp_path / "damaged.csv"
    damaged.to_csv(src, index=False)
    result = run_local(
        Config(
            source=str(src),
            schema_file=str(schema_dir / "schema.pbtxt"),
            runs_dir=str(tmp_path / "runs"),
            record_lineage=False,
        ),
        out=io.StringIO(),
    )
    assert result.status == "failed"
    assert [(e.name, e.state) for e in result.events] == [
        ("import-dataset", "complete"),
        ("find-model", "complete"),
        ("generate-statistics", "complete"),
        ("infer-schema", "complete"),
        ("validate-statistics", "failed"),
    ]
    error = result.error()
    assert isinstance(error, AnomaliesFound)
    assert "'Class' in train (Unexpected string values)" in str(error)
    failed = result.events[-1]
    assert not os.path.exists(failed.task_root)
    summary = json.load(open(os.path.join(result.run_dir, "summary.json")))
    assert summary["status"] == "failed" and summary["failed_step"] == "validate-statistics"
    assert summary["model"] is None and summary["push"] is None


@pytest.mark.slow
def test_full_beans_table_reaches_the_published_accuracy(tmp_path):
    import io

    result = run_local(Config(runs_dir=str(tmp_path), record_lineage=False), out=io.StringIO())
    assert result.status == "complete", result.summary.get("error")
    assert result.summary["rows"] == {"train": 10887, "validation": 1362, "test": 1362}
    # Koklu & Ozkan (2020): best published accuracy on this table, SVM, 93.13 %.
    assert result.summary["model"]["test_accuracy"] >= 0.9313
    assert result.summary["anomalies"]["count"] == 0
