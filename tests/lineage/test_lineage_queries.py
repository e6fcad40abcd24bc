"""`kfx lineage runs` and `kfx lineage show` (and kfx.lineage) on a real recorded run."""

from __future__ import annotations

import json
import os

import pytest

import kfx.lineage as lineage

pytestmark = pytest.mark.e2e


def test_runs_lists_the_run_with_status_and_accuracy(recorded_run, lineage_cli):
    summary = recorded_run.result.summary
    [run] = lineage.runs(recorded_run.config)
    assert run.run_id == summary["run_id"] and run.status == "complete"
    code, out, err = lineage_cli("lineage", "runs", "--runs-dir", recorded_run.config.runs_dir)
    assert code == 0 and err == ""
    header, row = out.strip().splitlines()
    assert header.split()[:3] == ["RUN", "STATUS", "STARTED"]
    assert row.split()[0:2] == [summary["run_id"], "complete"]
    assert f"{summary['model']['test_accuracy']:.4f}" in row


def test_show_a_model_gives_source_splits_checks_and_trainer_parameters(recorded_run):
    summary = recorded_run.result.summary
    for ref in (summary["run_id"], "latest", f"{summary['run_id']}/train/model", summary["model"]["uri"]):
        up = lineage.show(ref, recorded_run.config)
        assert up.artifact.type == "Model" and up.artifact.uri == summary["model"]["uri"], ref
    assert up.run_id == summary["run_id"]
    assert up.source_uri.endswith("kfx/data/dry_bean.csv.gz")
    assert {a.properties["split"]: a.properties["rows"] for a in up.splits} == summary["rows"]
    assert up.first("ExampleStatistics").uri == summary["statistics"]["uri"]
    assert up.first("ExampleStatistics").properties["features"] == summary["statistics"]["features"]
    assert up.first("Schema").uri == summary["schema"]["uri"]
    assert up.first("ExampleAnomalies").properties["anomalies"] == summary["anomalies"]["count"]
    assert up.trainer_parameters == {
        "label_column": "Class",
        "svm_c": 10.0,
        "svm_gamma": "scale",
        "seed": 42.0,
        "svm_max_rows": 30000.0,
        "boosting_learning_rate": 0.1,
        "boosting_max_iter": 100.0,
        "trainer_module": "kfx_trainer.task",
        "trainer_code": "",
        "task": "classification",  # import-dataset's, handed on
        "exclude_columns": "",
    }
    assert [x.step for x in up.steps] == [
        "import-dataset",
        "generate-statistics",
        "infer-schema",
        "validate-statistics",
        "train",
    ]
    # What the model was not made from stays out: no evaluation, no push, no HTML views.
    assert not {"Metrics", "PushedModel", "HTML"} & {a.type for a in up.graph.artifacts.values()}


def test_show_a_pushed_model_by_its_registry_path(recorded_run, lineage_cli):
    summary = recorded_run.result.summary
    code, out, err = lineage_cli("lineage", "show", summary["push"]["uri"], "--runs-dir", recorded_run.config.runs_dir)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"PushedModel {summary['run_id']}/push-model/pushed_model")
    assert any(line.startswith("  trainer     ") and "svm_c=10" in line for line in lines)
    assert any(line.split()[:3] == ["split", "train", str(summary["rows"]["train"])] for line in lines)
    # Each data check once, under its own section: the prediction pipeline's checks share these types.
    assert [line.split()[0] for line in lines[1:] if not line.startswith("  step ")] == [
        "uri",
        "properties",
        "run",
        "source",
        "split",
        "split",
        "split",
        "statistics",
        "schema",
        "anomalies",
        "trainer",
    ]
    # The push read the champion reference, so find-model is upstream; check-serving handed evaluate a value only.
    assert [line.split()[1] for line in lines if line.startswith("  step        ")] == [
        "import-dataset",
        "find-model",
        "generate-statistics",
        "infer-schema",
        "validate-statistics",
        "train",
        "evaluate",
        "push-model",
    ]


def test_show_json_and_an_unknown_name(recorded_run, lineage_cli):
    runs_dir = recorded_run.config.runs_dir
    code, out, _ = lineage_cli("lineage", "show", "latest", "--json", "--runs-dir", runs_dir)
    data = json.loads(out)
    assert code == 0 and data["artifact"]["type"] == "Model" and data["trainer_parameters"]["svm_c"] == 10.0
    assert [s["properties"]["split"] for s in data["splits"]] == ["train", "validation", "test"]
    assert data["statistics"]["uri"] == recorded_run.result.summary["statistics"]["uri"]
    assert data["scoring_statistics"] is None and data["scoring_anomalies"] is None
    code, out, err = lineage_cli("lineage", "show", "no-such-run", "--runs-dir", runs_dir)
    assert code == 2 and out == ""
    assert err == (
        "kfx: error: No artifact or run called 'no-such-run' in the lineage store; pass a run id, an "
        "artifact id, a name such as RUN/STEP/OUTPUT, or an artifact URI (`kfx lineage runs` lists the runs).\n"
    )


def test_graph_command_draws_png_and_svg(recorded_run, lineage_cli, tmp_path):
    path = str(tmp_path / "g.png")
    code, out, _ = lineage_cli(
        "lineage", "graph", recorded_run.result.run_id, "-o", path, "--runs-dir", recorded_run.config.runs_dir
    )
    assert code == 0 and out.split() == [path, path[:-4] + ".svg"]
    assert os.path.getsize(path) > 10_000 and open(path, "rb").read(4) == b"\x89PNG"
