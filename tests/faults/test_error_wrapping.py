"""A user's error surfaces as its one sentence and exit code wherever a component raises it, and a
table that lacks a feature the champion reads is a validation anomaly. Real processes, the real
kfp.local runner (warm and cold) and the real CLI; no mocks."""

import os
import subprocess
import sys

import pytest
from beans_tasks import at
from kfp import dsl

from kfx.component import component

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SENTENCE = "Column 'x' of 'table.csv' is odd; pass a table whose column 'x' is even."


@component
def refuses(kind: str, sentence: str, out: dsl.OutputPath(str)):
    """Raises ``kind`` (a kfx.errors class, else a builtin) with ``sentence`` from its own body, not
    through a kfx.data_steps function, after writing half an output."""
    import builtins

    from kfx import errors

    with open(out, "w") as f:
        f.write("half")
    raise (getattr(errors, kind, None) or getattr(builtins, kind))(sentence)


@dsl.pipeline(name="refusing")
def refusing(kind: str, sentence: str = SENTENCE):
    refuses(kind=kind, sentence=sentence).set_caching_options(False)


# --- any component: a KfxError from its body, through the real local runner ---------------------


def _run(tmp_path, monkeypatch, warm: bool, kind: str):
    """Runs ``refuses`` as a one-step pipeline with kfx's local runner; returns the result, the task's
    exit status and whether the warm process forked it."""
    import io

    import kfx.stops
    import kfx.warm
    from kfx.config import Config
    from kfx.local import run_local

    seen = {"forked": False}
    if not warm:

        def refuse():
            raise OSError("no warm process in this test")

        monkeypatch.setattr(kfx.warm, "WarmServer", refuse)
    else:
        start = kfx.warm.WarmServer.start

        def started(self, full_command):
            process = start(self, full_command)
            seen["forked"] = process is not None
            return process

        monkeypatch.setattr(kfx.warm.WarmServer, "start", started)
    run_process = kfx.stops.Stop.run_process

    def observed(self, full_command):
        seen["status"] = run_process(self, full_command)
        return seen["status"]

    monkeypatch.setattr(kfx.stops.Stop, "run_process", observed)

    config = Config(runs_dir=str(tmp_path), record_lineage=False, enable_caching=False, pipeline_name="refusing")
    result = run_local(config, out=io.StringIO(), pipeline=refusing, arguments={"kind": kind})
    return result, seen


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_kfx_error_raised_in_a_component_body_surfaces_as_its_sentence_and_exit_code(tmp_path, monkeypatch, warm):
    result, seen = _run(tmp_path, monkeypatch, warm, "AnomaliesFound")
    assert seen["forked"] is warm
    assert seen["status"] == 3  # the task's own exit status: AnomaliesFound's exit code
    assert result.status == "failed"
    assert (result.summary["error_kind"], result.summary["error"]) == ("AnomaliesFound", SENTENCE)
    error = result.error()
    assert type(error).__name__ == "AnomaliesFound" and error.exit_code == 3 and str(error) == SENTENCE
    log = open(os.path.join(result.run_dir, "pipeline.log")).read()
    assert f"kfx-error: AnomaliesFound: {SENTENCE}" in [line.strip() for line in log.splitlines()]
    assert "Traceback" not in log
    # The half-written output went with the failed task.
    assert not os.path.exists(result.events[0].task_root)


def test_any_other_error_keeps_its_traceback_and_exit_1(tmp_path, monkeypatch):
    result, seen = _run(tmp_path, monkeypatch, False, "ValueError")
    assert seen["status"] == 1 and result.status == "failed"
    assert result.summary["error_kind"] == "StepFailed"
    log = open(os.path.join(result.run_dir, "pipeline.log")).read()
    assert f"ValueError: {SENTENCE}" in log and "Traceback" in log and "kfx-error" not in log


def test_every_kfx_component_runs_kfps_executor_through_kfxs_and_the_yaml_keeps_it(tmp_path):
    from kfp import compiler, components

    from kfx.executor import COMMAND
    from kfx.report import declared
    from kfx.warm import step_arguments

    python = [s for s in declared() if getattr(s.component, "python_func", None) is not None]
    assert len(python) >= 20
    for step in python:
        command = step.component.component_spec.implementation.container.command
        assert command[:2] == ["sh", "-ec"] and COMMAND in command[2], step.name
        assert step_arguments(command) == command[3:], step.name
    path = str(tmp_path / "refuses.yaml")
    compiler.Compiler().compile(refuses, package_path=path)
    loaded = components.load_component_from_file(path)
    assert COMMAND in loaded.component_spec.implementation.container.command[2]


def test_the_executor_entry_point_without_a_module_says_how_to_call_it():
    done = subprocess.run([sys.executable, "-m", "kfx.executor"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 1
    assert done.stderr.strip() == "usage: python -m kfx.executor -m MODULE [ARGS...]"


# --- a table that lacks a feature the champion reads ----------------------------------------------


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """A registry whose model ``beans`` v1 a clean 600-row run pushed: {runs, registry}."""
    root = tmp_path_factory.mktemp("champion")
    folders = {"runs": str(root / "runs"), "registry": str(root / "registry")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kfx",
            "run",
            "--sample-rows",
            "600",
            "--runs-dir",
            folders["runs"],
            "--registry-dir",
            folders["registry"],
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.path.isdir(os.path.join(folders["registry"], "beans", "v1"))
    return folders


def _table(tmp_path, beans, drop=(), rename=None, drift=""):
    """Beans changed as asked, as ``beans.csv`` (so its model is ``beans``, the champion's)."""
    table = beans.drop(columns=list(drop)).rename(columns=rename or {})
    if drift:
        table.loc[table.index % 2 == 0, drift] *= 10
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "beans.csv"
    table.to_csv(path, index=False)
    return str(path)


@pytest.mark.e2e
def test_a_table_without_a_feature_the_champion_reads_is_an_anomaly_with_drift_measured(
    champion, beans, kfx_cli, tmp_path
):
    where = ["--runs-dir", champion["runs"], "--registry-dir", champion["registry"]]
    source = _table(tmp_path, beans, drop=["Perimeter"], drift="Area")
    done = kfx_cli("run", "--sample-rows", "600", "--source", source, *where)
    # Both in one sentence: the feature the table lacks, and the drift measured on the features it has.
    sentence = (
        "This table lacks the feature 'Perimeter' that the champion beans v1 reads (drift from its training "
        "data measured on the 16 other features), and TFDV found 1 anomalies: 'Area' drifted from the "
        "champion's training data (High approximate Jensen-Shannon divergence between current and previous); "
        "add it to the table, or pass --model-name with a new name for a model of this table, and fix the "
        "data or curate the schema (--schema-file)."
    )
    assert done.returncode == 3, done.output
    assert done.stderr == f"kfx: error: {sentence}\n"
    assert "Traceback" not in done.output
    assert f"{at('find-model')} done" in done.stdout and f"{at('validate-statistics')} FAILED" in done.stdout
    assert f"failed at   validate-statistics: {sentence}" in done.stdout

    # Scoring the same table with the champion is still refused, with one sentence.
    done = kfx_cli("predict", "--model", "beans", "--source", source, *where)
    assert done.returncode == 2, done.output
    assert done.stderr == (
        f"kfx: error: Column 'Perimeter' that model beans v1 reads is not in {source!r}; add it to "
        "the table, or score the table with a model trained on its columns.\n"
    )


def test_the_sentence_names_the_missing_features_and_the_drift_measured_on_the_rest():
    from kfx.thresholds import DRIFT, JS, Comparison
    from kfx.validation import Finding, anomalies_error, missing_findings

    compared = [
        Comparison(name, DRIFT, JS, 0.15, 0.01, (479, 479), ("train", "previous train"), measured=0.02)
        for name in ("Area", "Class")
    ]
    missing = missing_findings(["Perimeter", "Roundness"], "beans v3")
    assert [(f.split, f.feature, f.check) for f in missing] == [
        ("train", "Perimeter", "missing"),
        ("train", "Roundness", "missing"),
    ]
    error = anomalies_error(missing, "beans v3", compared)
    assert error.exit_code == 3
    assert str(error) == (
        "This table lacks the features 'Perimeter', 'Roundness' that the champion beans v3 reads "
        "(drift from its training data measured on the 2 other features: none drifted); add them "
        "to the table, or pass --model-name with a new name for a model of this table."
    )
    # Without missing features the sentence is TFDV's, as before.
    skewed = Finding("train", "Area", "High Linfty distance", "…", "skew")
    assert str(anomalies_error([skewed])) == (
        "TFDV found 1 anomalies: 'Area' differs between train and validation (High Linfty distance); fix the data "
        "or curate the schema (--schema-file), or pass --no-fail-on-anomalies to go on."
    )


@pytest.mark.e2e
def test_a_table_with_another_label_column_stays_a_model_mismatch(champion, beans, kfx_cli, tmp_path):
    source = _table(tmp_path, beans, rename={"Class": "Kind"})
    done = kfx_cli(
        "run",
        "--sample-rows",
        "600",
        "--source",
        source,
        "--label-column",
        "Kind",
        "--runs-dir",
        champion["runs"],
        "--registry-dir",
        champion["registry"],
    )
    assert done.returncode == 2, done.output
    assert done.stderr == (
        "kfx: error: Model beans v1 predicts 'Class', but this run's label column is 'Kind'; "
        "pass --model-name with a new name for a model of this table.\n"
    )
    assert f"{at('find-model')} FAILED" in done.stdout and "Traceback" not in done.output
