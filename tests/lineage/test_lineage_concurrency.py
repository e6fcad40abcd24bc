"""Two `kfx run` processes writing one store at the same time, then `kfx lineage diff` between them."""

from __future__ import annotations

import json
import sqlite3

import pytest

from kfx.lineage.store import LineageStore
from kfx.pipeline_tasks import tasks_of
from kfx.pipelines.local_train import beans

pytestmark = pytest.mark.e2e


def test_two_concurrent_runs_are_both_recorded_completely(concurrent_runs):
    store = LineageStore(concurrent_runs.store_path)
    runs = store.runs()
    assert sorted(r.run_id for r in runs) == sorted(s["run_id"] for s in concurrent_runs.summaries)
    assert {r.status for r in runs} == {"complete"}
    a, b = runs
    assert a.started < b.ended and b.started < a.ended, "the two runs did not overlap"
    summaries = {s["run_id"]: s for s in concurrent_runs.summaries}
    for run in runs:
        summary = summaries[run.run_id]
        graph = store.run_graph(run.run_id)
        assert sorted(x.step for x in graph.executions.values()) == sorted(tasks_of(beans).names)
        assert {x.state for x in graph.executions.values()} == {"complete"}
        # Nine steps' artifacts: 3 splits, the champion reference, 2 statistics, schema, 2 validation, model,
        # 2 serving check, 3 evaluation, push.
        assert len([a for a in graph.artifacts.values() if a.type != "DataSource"]) == 16
        assert run.metrics["accuracy"] == pytest.approx(summary["model"]["test_accuracy"])
        assert all(a.properties["run_id"] == run.run_id for a in graph.artifacts.values() if a.type != "DataSource")
    # Both runs read the same table and meet at one DataSource artifact.
    sources = store.mlmd.get_artifacts_by_type("DataSource")
    assert len(sources) == 1
    assert len(store.mlmd.get_events_by_artifact_ids([sources[0].id])) == 2
    with sqlite3.connect(f"file:{concurrent_runs.store_path}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_diff_names_the_changed_parameter_and_shows_data_and_metrics(concurrent_runs, lineage_cli):
    by_c = {s["config"]["svm_c"]: s for s in concurrent_runs.summaries}
    a, b = by_c[10.0], by_c[2.0]
    code, out, err = lineage_cli(
        "lineage", "diff", a["run_id"], b["run_id"], "--json", "--runs-dir", concurrent_runs.runs_dir
    )
    assert code == 0, err
    data = json.loads(out)
    assert [(p["name"], p["a"], p["b"]) for p in data["parameters"]] == [("train.svm_c", 10.0, 2.0)]
    # push-model's "blessed" and "reason" and evaluate's "serving_ok" are results handed on, compared under
    # metrics, not parameters; registry_dir and check-serving's serving_env name places. 19 before the champion,
    # then find-model's label_column and model_name, validate-statistics' drift_threshold and evaluate's
    # accuracy_tolerance; then the task types' train.exclude_columns, evaluate.metric and evaluate.min_r2
    # (the task is import-dataset's output, handed on to train: a result, not a parameter); and the trainer's
    # train.trainer_module and train.trainer_code (an empty trainer_args list is not recorded).
    assert data["unchanged_parameters"] == 28
    rows = {r["name"]: (r["a"], r["b"], r["changed"]) for r in data["data"]}
    assert rows["train_rows"] == (a["rows"]["train"], b["rows"]["train"], False)
    metrics = {r["name"]: (r["a"], r["b"]) for r in data["metrics"]}
    assert metrics["accuracy"] == pytest.approx((a["model"]["test_accuracy"], b["model"]["test_accuracy"]))
    assert metrics["status"] == ("complete", "complete")
    code, out, _ = lineage_cli("lineage", "diff", a["run_id"], b["run_id"], "--runs-dir", concurrent_runs.runs_dir)
    lines = out.splitlines()
    assert lines[2] == "parameters (1 changed, 28 the same)"
    assert lines[3].split() == ["*", "train.svm_c", "10", "->", "2"]
    assert any(line.split()[:2] == ["train_rows", str(a["rows"]["train"])] for line in lines)


def test_diff_of_an_unknown_run_is_one_sentence(concurrent_runs, lineage_cli):
    run_a = concurrent_runs.summaries[0]["run_id"]
    code, out, err = lineage_cli("lineage", "diff", run_a, "kfx-beans-nope", "--runs-dir", concurrent_runs.runs_dir)
    assert code == 2 and out == ""
    assert err.startswith("kfx: error: No run 'kfx-beans-nope' in lineage store ") and err.count("\n") == 1
