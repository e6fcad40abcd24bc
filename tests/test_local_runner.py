"""The local runner around kfp.local, fast: a one-task pipeline run by the real kfp.local executor.

``kfx run --pipeline`` runs a pipeline file of the user's; here that pipeline has only the real
``validate_statistics`` component (statistics and schema imported with ``dsl.importer``), so what
the runner does with a task that fails and a task that writes anomalies is checked in a couple of
seconds, through the same CLI a user calls.
"""

import json
import os

import pytest

ANOMALY = (
    "TFDV found 1 anomalies: 'Class' in test (Unexpected string values); fix the data or curate the schema "
    "(--schema-file), or pass --no-fail-on-anomalies to go on."
)


@pytest.fixture(scope="module")
def checks(beans_sample, tmp_path_factory):
    """Statistics of a sample whose test split has a class the schema does not know, and that schema."""
    from kfx import schema as schemas
    from kfx import splitting, statistics

    folder = tmp_path_factory.mktemp("checks")
    splits = splitting.stratified_split(beans_sample, "Class", (0.8, 0.1, 0.1), 42)
    stats = statistics.compute_statistics(splits)
    schemas.write_schema(schemas.infer_schema(stats["train"]), str(folder / "schema.pbtxt"))
    test = splits["test"].copy()
    test.loc[:4, "Class"] = "PINTO"
    statistics.write_statistics(statistics.compute_statistics({**splits, "test": test}), str(folder / "statistics"))
    (folder / "no-champion.json").write_text('{"found": false}')
    return folder


VALIDATION_ONLY = """
from kfp import dsl
from kfx import components


@dsl.pipeline(name="validation-only")
def validation_only(statistics: str, schema: str, skew_threshold: float = 0.15, fail_on_anomalies: bool = True):
    stats = dsl.importer(artifact_uri=statistics, artifact_class=dsl.Artifact)
    schema = dsl.importer(artifact_uri=schema, artifact_class=dsl.Artifact)
    components.validate_statistics(  # no champion: no drift check
        statistics=stats.output, schema=schema.output, skew_threshold=skew_threshold,
        fail_on_anomalies=fail_on_anomalies,
    ).set_caching_options(False)
"""


@pytest.fixture
def validation_only(checks, tmp_path):
    """A pipeline file of the validate-statistics task alone, and its options for ``kfx run``."""
    path = tmp_path / "validation_only.py"
    path.write_text(VALIDATION_ONLY)
    return ["--pipeline", f"{path}:validation_only", *_checks(checks)]


def _checks(checks):
    return ["--param", f"statistics={checks / 'statistics'}", "--param", f"schema={checks / 'schema.pbtxt'}"]


def _run(tmp_path, capsys, *options):
    from kfx.cli import main

    code = main(
        ["run", "--runs-dir", str(tmp_path / "runs"), "--no-record-lineage", "--skew-threshold", "0.9", *options]
    )
    out, err = capsys.readouterr()
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    return code, out, err, run_dir, json.loads((run_dir / "summary.json").read_text())


def test_anomalies_fail_the_run_with_exit_code_3_and_the_failed_tasks_outputs_are_removed(
    validation_only, tmp_path, capsys
):
    code, out, err, run_dir, summary = _run(tmp_path, capsys, *validation_only)
    assert code == 3
    assert err == f"kfx: error: {ANOMALY}\n"
    assert "[1/1] validate-statistics FAILED after" in out
    assert f"  failed at   validate-statistics: {ANOMALY}" in out.splitlines()
    assert (summary["status"], summary["failed_step"], summary["error_kind"], summary["error"]) == (
        "failed",
        "validate-statistics",
        "AnomaliesFound",
        ANOMALY,
    )
    assert summary["anomalies"] is None and summary["artifacts"] == {}
    # The task wrote its anomalies and report before failing; the runner removed them.
    files = sorted(
        os.path.relpath(os.path.join(root, f), run_dir) for root, _, names in os.walk(run_dir) for f in names
    )
    assert files == ["pipeline.log", "summary.json"]
    assert f"kfx-error: AnomaliesFound: {ANOMALY}" in (run_dir / "pipeline.log").read_text()


def test_with_fail_on_anomalies_off_the_task_completes(validation_only, tmp_path, capsys):
    code, out, err, run_dir, summary = _run(tmp_path, capsys, *validation_only, "--no-fail-on-anomalies")
    log = str(run_dir / "pipeline.log")
    assert summary["steps"][0]["name"] == "validate-statistics" and summary["steps"][0]["state"] == "complete"
    assert summary["anomalies"]["count"] == 1 and summary["anomalies"]["features"] == ["Class"]
    anomalies = summary["artifacts"]["validate-statistics/anomalies"]
    assert "PINTO" in open(os.path.join(anomalies, "Split-test", "anomalies.pbtxt")).read()
    # The importers are no steps of the run: kfp.local resolves them without a process.
    assert (summary["status"], code, err) == ("complete", 0, "")
    assert "[1/1] validate-statistics done in" in out and os.path.isfile(log)
    assert f"  anomalies   1 (Class); report: {summary['artifacts']['validate-statistics/report']}" in out.splitlines()


def test_a_pipeline_kfp_local_cannot_run_to_its_end_fails_naming_why(checks, tmp_path, capsys):
    # kfp 2.13's local runner runs no condition: the run says why it stopped, not a traceback.
    path = tmp_path / "gated.py"
    path.write_text(
        VALIDATION_ONLY.replace(
            "    ).set_caching_options(False)",
            """    ).set_caching_options(False)
    with dsl.If(fail_on_anomalies == True):  # noqa: E712
        components.validate_statistics(statistics=stats.output, schema=schema.output, fail_on_anomalies=False)
""",
        )
    )
    code, out, err, run_dir, summary = _run(
        tmp_path, capsys, "--pipeline", f"{path}:validation_only", *_checks(checks), "--no-fail-on-anomalies"
    )
    assert (summary["status"], summary["error_kind"], code) == ("failed", "StepFailed", 1)
    ran = len(summary["steps"])
    assert summary["error"].startswith(
        f"Only {ran} of 2 steps ran: kfp.local cannot run the rest ('dsl.Condition' is not supported by local"
    )
    assert err == f"kfx: error: {summary['error']}\n"
