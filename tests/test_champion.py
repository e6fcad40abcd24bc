"""Champion vs challenger end to end: runs of the local pipeline against the registry they share.

Each run is the real pipeline through kfp.local on a stratified 2,000-row sample of beans;
the registry and lineage store are the runs' own (a temporary runs folder).
"""

import io
import os

import pytest

from kfx.config import Config
from kfx.local import run_local

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A first run (pushed as v1), then one clearly worse (a tiny C), then the first again."""
    folder = tmp_path_factory.mktemp("runs")
    base = Config(sample_rows=2000, runs_dir=str(folder))
    first = run_local(base, out=io.StringIO())
    console = io.StringIO()
    worse = run_local(base.replace(svm_c=0.001, min_accuracy=0.0), out=console)
    again = run_local(base, out=io.StringIO())
    return folder, first, worse, console.getvalue(), again


def test_a_worse_second_run_is_not_pushed_and_says_it_lost_to_the_champion(runs):
    folder, first, worse, console, _ = runs
    assert first.status == "complete" and first.summary["push"]["version"] == 1
    assert first.summary["champion"]["found"] is False
    assert worse.status == "complete", worse.summary.get("error")
    model = worse.summary["model"]
    champion_accuracy = first.summary["model"]["test_accuracy"]
    # The champion (v1) was scored on the second run's own test rows: the same split, so the same accuracy.
    assert (model["champion_version"], model["champion_accuracy"]) == (1, champion_accuracy)
    assert model["test_accuracy"] < champion_accuracy - 0.01 and model["blessed"] is False
    assert model["reason"].startswith(f"lost to the champion: test accuracy {model['test_accuracy']:.4f} vs champion v1")
    assert worse.summary["push"]["pushed"] is False
    assert worse.summary["push"]["reason"] == f"not blessed: {model['reason']}"
    from kfx.summary import format_summary

    text = format_summary(worse.summary)
    assert "not blessed: lost to the champion" in text and "champion    beans v1:" in text
    assert "[2/8] find-model done in" in console and "found=True" in console
    assert sorted(os.listdir(folder / "registry" / "beans")) == ["v1"]


def test_the_champion_run_again_is_not_pushed_twice(runs):
    folder, first, _, _, again = runs
    assert again.status == "complete"
    assert again.summary["model"]["blessed"] is True
    assert again.summary["push"] == {
        "pushed": False, "version": 1, "uri": str(folder / "registry" / "beans" / "v1"),
        "reason": "this model is already version 1, the champion"}
    assert sorted(os.listdir(folder / "registry" / "beans")) == ["v1"]


def test_the_model_and_run_are_named_after_the_source(tmp_path, beans_sample):
    source = tmp_path / "Dry Beans 2024.csv"
    beans_sample.to_csv(source, index=False)
    result = run_local(Config(source=str(source), runs_dir=str(tmp_path / "runs"), record_lineage=False,
                              fail_on_anomalies=False), out=io.StringIO())
    assert result.status == "complete", result.summary.get("error")
    assert result.run_id.startswith("kfx-dry-beans-2024-")
    assert result.summary["push"]["uri"] == str(tmp_path / "runs" / "registry" / "dry-beans-2024" / "v1")
