"""Real local runs recorded in the store: what each step, artifact and event looks like there."""

from __future__ import annotations

import os

import pytest

from kfx.lineage.store import LineageStore
from kfx.pipeline_tasks import tasks_of
from kfx.pipelines.local_train import beans

pytestmark = pytest.mark.e2e

ARTIFACT_TYPES = {
    "import-dataset": {"train_data": "Dataset", "validation_data": "Dataset", "test_data": "Dataset"},
    "find-model": {"registered_model": "RegisteredModel"},
    "generate-statistics": {"statistics": "ExampleStatistics", "statistics_view": "HTML"},
    "infer-schema": {"schema": "Schema"},
    "validate-statistics": {"anomalies": "ExampleAnomalies", "report": "Markdown"},
    "train": {"model": "Model"},
    "check-serving": {"serving_check": "ServingCheck", "serving_request": "PredictionRequest"},
    "evaluate": {"metrics": "Metrics", "classification_metrics": "ClassificationMetrics", "evaluation_view": "HTML"},
    "push-model": {"pushed_model": "PushedModel"},
}


def test_every_step_is_an_execution_with_parameters_state_and_timing(recorded_run):
    store = LineageStore(recorded_run.store_path)
    run_id = recorded_run.result.run_id
    graph = store.run_graph(run_id)
    by_step = {x.step: x for x in graph.executions.values()}
    assert sorted(by_step) == sorted(tasks_of(beans).names)
    assert {x.state for x in by_step.values()} == {"complete"}
    for event in recorded_run.result.events:
        stored = by_step[event.name]
        assert stored.name == f"{run_id}/{event.name}"
        assert stored.started == pytest.approx(event.started) and stored.ended == pytest.approx(event.ended)
    assert by_step["train"].parameters == {
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
    assert by_step["import-dataset"].parameters["sample_rows"] == 600.0
    assert by_step["evaluate"].outputs["blessed"] is recorded_run.result.summary["model"]["blessed"]
    rows = recorded_run.result.summary["rows"]
    assert {k: by_step["import-dataset"].outputs[f"{k}_rows"] for k in rows} == rows


def test_every_output_is_a_typed_artifact_with_its_uri_and_key_properties(recorded_run):
    store = LineageStore(recorded_run.store_path)
    run_id = recorded_run.result.run_id
    graph = store.run_graph(run_id)
    made = {(a.properties["step"], a.output): a for a in graph.artifacts.values() if a.type != "DataSource"}
    expected = {(step, out): kind for step, outs in ARTIFACT_TYPES.items() for out, kind in outs.items()}
    assert {k: a.type for k, a in made.items()} == expected
    summary = recorded_run.result.summary
    for key, uri in summary["artifacts"].items():
        step, out = key.split("/")
        assert made[(step, out)].uri == uri and made[(step, out)].name == f"{run_id}/{step}/{out}"
    assert made[("import-dataset", "train_data")].properties["rows"] == summary["rows"]["train"]
    assert made[("evaluate", "metrics")].properties["accuracy"] == pytest.approx(summary["model"]["test_accuracy"])
    assert made[("evaluate", "metrics")].properties["blessed"] == summary["model"]["blessed"]
    assert made[("push-model", "pushed_model")].properties["version"] == summary["push"]["version"]
    assert made[("check-serving", "serving_check")].properties["ok"] == summary["serving"]["ok"] == 1
    # The first run into an empty registry: no champion, and the reference says why.
    champion = made[("find-model", "registered_model")].properties
    assert (
        (champion["found"], champion["model_name"], champion["version"])
        == (False, "beans", "")
        == (summary["champion"]["found"], summary["champion"]["model_name"], summary["champion"]["version"])
    )
    assert (
        champion["reason"]
        == summary["champion"]["reason"]
        == (f"the registry {recorded_run.config.resolved_registry_dir} holds no version of model 'beans'")
    )
    [source] = graph.of_type("DataSource")
    assert source.uri.endswith("kfx/data/dry_bean.csv.gz")


def test_events_link_each_step_to_what_it_read_and_wrote(recorded_run):
    graph = LineageStore(recorded_run.store_path).run_graph(recorded_run.result.run_id)
    train = graph.step("train")
    assert sorted(k for k, _ in graph.inputs_of(train.id)) == ["test_data", "train_data", "validation_data"]
    assert [(k, a.type) for k, a in graph.outputs_of(train.id)] == [("model", "Model")]
    push = graph.step("push-model")
    assert sorted((k, a.type) for k, a in graph.inputs_of(push.id)) == [
        ("metrics", "Metrics"),
        ("model", "Model"),
        ("registered_model", "RegisteredModel"),
        ("schema", "Schema"),
        ("statistics", "ExampleStatistics"),
        ("test_data", "Dataset"),
    ]
    assert [(k, a.type) for k, a in graph.inputs_of(graph.step("import-dataset").id)] == [("source", "DataSource")]
    # find-model reads the training split; the three steps that compare with the champion read its one reference.
    [(key, table)] = graph.inputs_of(graph.step("find-model").id)
    assert (key, table.name) == ("table", f"{recorded_run.result.run_id}/import-dataset/train_data")
    [(_, champion)] = graph.outputs_of(graph.step("find-model").id)
    for step in ("validate-statistics", "evaluate", "push-model"):
        assert dict(graph.inputs_of(graph.step(step).id))["registered_model"].id == champion.id, step
    # One output event per artifact made, one input event per artifact read.
    assert sum(e.kind == "output" for e in graph.events) == sum(len(v) for v in ARTIFACT_TYPES.values())
    # import, find-model, statistics, schema, validation, train, serving check, evaluate, push.
    assert sum(e.kind == "input" for e in graph.events) == 1 + 1 + 3 + 1 + 3 + 3 + 2 + 3 + 6


def test_the_run_context_holds_status_timing_metrics_and_the_graph_picture(recorded_run):
    store = LineageStore(recorded_run.store_path)
    summary = recorded_run.result.summary
    [run] = store.runs()
    assert (run.run_id, run.status, run.pipeline) == (summary["run_id"], "complete", "kfx-beans")
    assert run.metrics["accuracy"] == pytest.approx(summary["model"]["test_accuracy"])
    assert run.metrics["train_rows"] == summary["rows"]["train"]
    # The run is timed from when recording began (before the pipeline is built) to its end.
    assert run.started <= recorded_run.result.events[0].started and run.ended >= recorded_run.result.events[-1].ended
    # ... and within the call to run_local (bounds by order, not by a guess at how slow the machine is).
    assert recorded_run.called <= run.started and run.ended <= recorded_run.returned
    assert run.seconds >= summary["seconds"]
    picture = summary["lineage_graph"]
    assert picture == os.path.join(summary["run_dir"], "lineage.svg") == run.lineage_graph
    svg = open(picture).read()
    assert (
        svg.startswith("<svg")
        and svg.count('<g class="execution"') == len(tasks_of(beans).names)
        and svg.count('<g class="artifact"') == 17
    )
    assert ">push-model<" in svg and ">[ExampleStatistics]<" in svg and svg.count("<line ") == 16 + 23
    from kfx.summary import format_summary

    assert f"  lineage     {picture}" in format_summary(summary).splitlines()


def test_a_failed_run_keeps_the_steps_before_the_failure(failed_run):
    store = LineageStore(failed_run.store_path)
    run_id = failed_run.result.run_id
    run = store.run(run_id)
    assert (run.status, run.failed_step) == ("failed", "validate-statistics")
    assert run.error == failed_run.result.summary["error"] and "anomal" in run.error
    graph = store.run_graph(run_id)
    states = {x.step: x.state for x in graph.executions.values()}
    assert states == {
        "import-dataset": "complete",
        "find-model": "complete",
        "generate-statistics": "complete",
        "infer-schema": "complete",
        "validate-statistics": "failed",
    }
    failed = graph.step("validate-statistics")
    assert failed.parameters["skew_threshold"] == 0.001 and failed.error == failed_run.result.summary["error"]
    # The failed step's outputs were removed by the runner, so none are recorded; its inputs are.
    assert graph.outputs_of(failed.id) == []
    assert sorted(k for k, _ in graph.inputs_of(failed.id)) == ["registered_model", "schema", "statistics"]
    assert sorted(a.type for a in graph.artifacts.values()) == [
        "DataSource",
        "Dataset",
        "Dataset",
        "Dataset",
        "ExampleStatistics",
        "HTML",
        "RegisteredModel",
        "Schema",
    ]
