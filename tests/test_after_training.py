"""After training, end to end: champion vs challenger, drift from the champion's training data, and
thresholds that fit a small table, each through runs of the real local pipeline (kfp.local) that
share a temporary runs folder (registry and lineage store).

The beans runs use a stratified 2,000-row sample of the packaged table.
"""

import io
import os

import pytest
from beans_tasks import at

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
    assert model["reason"].startswith(
        f"lost to the champion: test accuracy {model['test_accuracy']:.4f} vs champion v1"
    )
    assert worse.summary["push"]["pushed"] is False
    assert worse.summary["push"]["reason"] == f"not blessed: {model['reason']}"
    from kfx.summary import format_summary

    text = format_summary(worse.summary)
    assert "not blessed: lost to the champion" in text and "champion    beans v1:" in text
    assert f"{at('find-model')} done in" in console and "found=True" in console
    assert sorted(os.listdir(folder / "registry" / "beans")) == ["v1"]


def test_the_champion_run_again_is_not_pushed_twice(runs):
    folder, first, _, _, again = runs
    assert again.status == "complete"
    assert again.summary["model"]["blessed"] is True
    assert again.summary["push"] == {
        "pushed": False,
        "version": 1,
        "uri": str(folder / "registry" / "beans" / "v1"),
        "reason": "this model is already version 1, the champion",
    }
    assert sorted(os.listdir(folder / "registry" / "beans")) == ["v1"]


def test_the_model_and_run_are_named_after_the_source(tmp_path, beans_sample):
    source = tmp_path / "Dry Beans 2024.csv"
    beans_sample.to_csv(source, index=False)
    result = run_local(
        Config(source=str(source), runs_dir=str(tmp_path / "runs"), record_lineage=False, fail_on_anomalies=False),
        out=io.StringIO(),
    )
    assert result.status == "complete", result.summary.get("error")
    assert result.run_id.startswith("kfx-dry-beans-2024-")
    assert result.summary["push"]["uri"] == str(tmp_path / "runs" / "registry" / "dry-beans-2024" / "v1")


def test_a_shifted_table_stops_the_run_naming_the_drifted_feature(tmp_path, beans):
    """Perimeter x10 in half the rows (every other row: both splits see it, so train vs. validation
    skew cannot), run after a clean run of the same model with the clean run's schema."""
    from kfx.splitting import stratified_sample

    clean = stratified_sample(beans, "Class", 2000, seed=42)
    shifted = clean.copy()
    shifted.loc[shifted.index[::2], "Perimeter"] *= 10
    clean.to_csv(tmp_path / "beans.csv", index=False)
    shifted.to_csv(tmp_path / "beans-shifted.csv", index=False)
    runs = tmp_path / "runs"
    first = run_local(Config(source=str(tmp_path / "beans.csv"), runs_dir=str(runs)), out=io.StringIO())
    assert first.status == "complete" and first.summary["push"]["version"] == 1
    assert first.summary["anomalies"]["drift_from"] == ""  # no champion yet: nothing to drift from
    schema = first.summary["artifacts"]["infer-schema/schema"]
    second = run_local(
        Config(source=str(tmp_path / "beans-shifted.csv"), model_name="beans", schema_file=schema, runs_dir=str(runs)),
        out=io.StringIO(),
    )
    assert (second.status, second.summary["failed_step"], second.summary["error_kind"]) == (
        "failed",
        "validate-statistics",
        "AnomaliesFound",
    )
    assert second.summary["error"].startswith(
        "TFDV found 1 anomalies: 'Perimeter' drifted from the champion's training data (High approximate Jensen-Shannon"
    )
    assert os.listdir(runs / "registry" / "beans") == ["v1"]


def test_iris_with_default_settings_completes_with_no_anomalies(tmp_path):
    """A 150-row, 3-class table: the thresholds widen for its 120 vs. 15 rows, so a clean random split passes."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.frame.drop(columns="target").assign(species=iris.target_names[iris.target])
    frame.to_csv(tmp_path / "iris.csv", index=False)
    result = run_local(
        Config(source=str(tmp_path / "iris.csv"), label_column="species", runs_dir=str(tmp_path / "runs")),
        out=io.StringIO(),
    )
    assert result.status == "complete", result.summary.get("error")
    assert result.summary["rows"] == {"train": 120, "validation": 15, "test": 15}
    assert result.summary["anomalies"]["count"] == 0
    assert result.summary["push"]["uri"] == str(tmp_path / "runs" / "registry" / "iris" / "v1")
    report = open(result.summary["artifacts"]["validate-statistics/report"]).read()
    # The report gives each feature's threshold and why: the base plus a noise term for 120 vs. 15 rows.
    assert "0.15 base + " in report and "(120 train vs. 15 validation rows)" in report
