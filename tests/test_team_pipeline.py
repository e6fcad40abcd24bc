"""A team's own pipeline, written as plain KFP, run with kfx's local runner (``kfx run --pipeline``).

``examples/team_pipeline.py`` uses four kfx components and a trainer of the team's own that knows
nothing of kfx. Run through the real CLI and the real kfp.local executor, it gets what kfx's own
pipeline gets: the console, ``summary.json``, caching, clean stops and lineage.
"""

import ast
import json
import os
import signal
import subprocess
import sys

import pytest
from live_run import REPO, LiveRun

EXAMPLE = os.path.join(REPO, "examples", "team_pipeline.py")
PIPELINE = f"{EXAMPLE}:forest"


def _kfx(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "kfx", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _summary(runs, out):
    run_id = next(line.split()[1] for line in out.splitlines() if line.startswith("Run "))
    return json.loads((runs / run_id / "summary.json").read_text())


def test_the_example_is_a_short_plain_kfp_file_of_four_kfx_components_and_one_of_its_own():
    source = open(EXAMPLE, encoding="utf-8").read()
    assert len(source.splitlines()) <= 60
    tree = ast.parse(source)
    imported = [
        a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "kfx.components"
        for a in n.names
    ]
    assert len(imported) == 4
    # Nothing else of kfx: the team's own component is plain kfp.
    assert [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and "kfx" in n.module] == [
        "kfx.components"
    ]


@pytest.mark.e2e
def test_a_teams_pipeline_runs_reuses_every_step_and_traces_its_model_to_the_source(tmp_path):
    runs = tmp_path / "runs"
    first = _kfx(
        "run", "--pipeline", PIPELINE, "--param", "sample_rows=600", "--param", "trees=20", "--runs-dir", str(runs)
    )
    assert first.returncode == 0, first.stdout + first.stderr
    summary = _summary(runs, first.stdout)
    assert summary["pipeline"] == "team-forest" and summary["status"] == "complete"
    assert [s["name"] for s in summary["steps"]] == [
        "import-dataset",
        "generate-statistics",
        "infer-schema",
        "validate-statistics",
        "train-forest",
    ]
    assert "[5/5] train-forest done in " in first.stdout
    # kfx's components report as they do in kfx's pipeline; the team's from what it gave kfp.
    assert summary["rows"]["train"] == 479 and summary["anomalies"]["count"] == 0
    forest = summary["train-forest"]
    assert 0.5 < forest["accuracy"] <= 1 and forest["Output"] == forest["accuracy"]
    assert os.path.isfile(os.path.join(forest["model"], "model.pkl"))
    assert f"  train-forest Output {forest['Output']:.4g}, accuracy {forest['accuracy']:.4g}" in first.stdout

    second = _kfx(
        "run", "--pipeline", PIPELINE, "--param", "sample_rows=600", "--param", "trees=20", "--runs-dir", str(runs)
    )
    assert second.returncode == 0, second.stdout + second.stderr
    again = _summary(runs, second.stdout)
    assert {s["state"] for s in again["steps"]} == {"cached"} and len(again["steps"]) == 5
    assert "cached      5 of 5 steps reused earlier outputs" in second.stdout
    # A changed argument of the team's step runs that step alone again.
    third = _kfx(
        "run", "--pipeline", PIPELINE, "--param", "sample_rows=600", "--param", "trees=10", "--runs-dir", str(runs)
    )
    assert [s["state"] for s in _summary(runs, third.stdout)["steps"]] == ["cached"] * 4 + ["complete"]

    shown = _kfx("lineage", "show", "--runs-dir", str(runs), again["run_id"])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"Model {again['run_id']}/train-forest/model ")
    assert any(line.split()[:2] == ["source", os.path.join(REPO, "kfx", "data", "dry_bean.csv.gz")] for line in lines)
    assert any(line.split()[:3] == ["split", "train", "479"] for line in lines)


@pytest.mark.e2e
def test_ctrl_c_stops_a_teams_pipeline_cleanly(tmp_path):
    runs = tmp_path / "runs"
    run = LiveRun(str(runs), options=("--pipeline", PIPELINE))
    run.wait_for("[2/5] generate-statistics ...")
    os.killpg(run.proc.pid, signal.SIGINT)
    code, out, err = run.finish()
    assert code == 130, out + err
    summary = _summary(runs, out)
    assert summary["status"] == "interrupted" and summary["stopped_step"] == "generate-statistics"
    assert [s["state"] for s in summary["steps"]] == ["complete", "canceled"]
    assert "kfx: interrupted: Run " in err


@pytest.mark.parametrize(
    "options, sentence",
    [
        (
            ["--pipeline", "nowhere.py:forest"],
            "--pipeline 'nowhere.py:forest': 'nowhere.py' does not exist; pass "
            "FILE.py:FUNCTION (a @dsl.pipeline function) or a compiled FILE.yaml.",
        ),
        (
            ["--pipeline", f"{EXAMPLE}:trees"],
            f"--pipeline '{EXAMPLE}:trees': {EXAMPLE} has no @dsl.pipeline function 'trees' (it has: forest).",
        ),
        (
            ["--pipeline", PIPELINE, "--param", "leaves=3"],
            "--param 'leaves=3': the pipeline has no parameter 'leaves' "
            "(it has: label_column, sample_rows, source, trees).",
        ),
        (
            ["--pipeline", PIPELINE, "--param", "trees=many"],
            "--param trees='many' is not a int, the type of 'trees'; pass one.",
        ),
        (
            ["--pipeline", PIPELINE, "--param", "trees"],
            "--param 'trees' has no value; pass NAME=VALUE, such as --param svm_c=3.",
        ),
        (
            ["--param", "trees=3"],
            "--param sets an argument of a --pipeline pipeline; pass --pipeline FILE.py:FUNCTION too.",
        ),
    ],
)
def test_a_bad_pipeline_or_argument_is_one_sentence_before_anything_runs(tmp_path, options, sentence):
    result = _kfx("run", *options, "--runs-dir", str(tmp_path / "runs"))
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"kfx: error: {sentence}\n")
    assert not (tmp_path / "runs").exists()


def test_a_compiled_pipeline_yaml_runs_as_its_python_function_does(tmp_path):
    from kfp import compiler

    from kfx.pipelines.loading import load_pipeline, pipeline_arguments

    sys.path.insert(0, os.path.dirname(EXAMPLE))
    try:
        from team_pipeline import forest
    finally:
        sys.path.remove(os.path.dirname(EXAMPLE))
    compiler.Compiler().compile(forest, str(tmp_path / "forest.yaml"))
    loaded = load_pipeline(str(tmp_path / "forest.yaml"))
    assert loaded.pipeline_spec.root.dag.tasks.keys() == forest.pipeline_spec.root.dag.tasks.keys()
    assert pipeline_arguments(loaded, {"source": "x.csv", "svm_c": 3.0}, ["trees=7", "sample_rows=600"]) == {
        "source": "x.csv",
        "trees": 7,
        "sample_rows": 600,
    }
