"""What a task reports: a report's references are checked where it is written; a task without one
is reported from what every KFP component gives."""

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from kfx import components
from kfx.events import TaskEvent
from kfx.report import Figure, Report, describe_generic, generic_figures, report_for
from kfx.summary import task_figures


@dsl.component(base_image="python:3.11-slim")
def score(table: Input[Dataset], metrics: Output[Metrics], threshold: float) -> float:
    return threshold


def test_a_reference_that_names_nothing_is_refused_where_the_report_is_written():
    with pytest.raises(ValueError, match=r"^Report of score: 'metric.accuracy' names no output or input"):
        Report(score, figures=(Figure("accuracy", "metric.accuracy"),))  # "metric", not "metrics"
    with pytest.raises(ValueError, match=r"^Report of score: 'input.treshold' names no output or input"):
        Report(score, figures=(Figure("threshold", "input.treshold"),))
    with pytest.raises(ValueError, match=r"^Report of score: type given for 'table'"):
        Report(score, types={"table": "Scores"})
    ok = Report(score, figures=(Figure("accuracy", "metrics.accuracy"), Figure("t", "input.threshold")))
    assert ok.name == "score" and ok.outputs == frozenset({"metrics", "Output"})


def test_every_kfx_component_has_one_report_found_by_its_name_and_only_with_its_outputs():
    reports = components.reports()
    assert sorted(reports) == sorted(getattr(components, name).name for name in components.__all__)
    train = reports["train"]
    assert report_for("train") is train and report_for("train-2") is train  # kfp's name for a second task
    assert report_for("train", train.outputs) is train
    # A team's own "train" with other outputs is not kfx's.
    assert report_for("train", ["model", "metrics"]) is None
    assert report_for("train-forest") is None


def test_a_task_without_a_report_gives_its_values_metrics_and_artifact_uris():
    metrics = dsl.Metrics(name="metrics", uri="/runs/r/score/metrics", metadata={"accuracy": 0.91, "rows": 60})
    table = dsl.Dataset(name="table", uri="/runs/r/score/table", metadata={"rows": 60})
    event = TaskEvent(
        "score",
        "complete",
        0.0,
        ended=1.0,
        outputs={"Output": 0.5, "metrics": metrics, "table": table, "labels": ["a", "b"]},
    )
    found = generic_figures(event.outputs)
    assert found == {
        "Output": 0.5,
        "metrics": "/runs/r/score/metrics",
        "accuracy": 0.91,
        "rows": 60,
        "table": "/runs/r/score/table",
    }
    section, values, named = task_figures(None, event)
    assert (section, values) == ("score", found)
    assert named == {"Output": 0.5, "accuracy": 0.91, "rows": 60}
    assert describe_generic("score", values) == [
        "score       Output 0.5, accuracy 0.91, rows 60",
        "            /runs/r/score/metrics",
        "            /runs/r/score/table",
    ]
