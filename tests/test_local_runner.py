"""The local runner around kfp.local, fast: a one-task pipeline run by the real kfp.local executor.

``kfx run`` builds the whole pipeline; here ``build_pipeline`` hands the runner a
pipeline with only the real ``validate_statistics`` component (statistics and schema
imported with ``dsl.importer``), so what the runner does with a task that fails, a
task that writes anomalies and a run that stops early is checked in a couple of
seconds, through the same CLI a user calls.
"""

import json
import os

import pytest

from kfx.pipeline import STEPS

ANOMALY = (
    "TFDV found 1 anomalies: 'Class' in test (Unexpected string values); fix the data or curate the schema "
    "(--schema-file), or pass --no-fail-on-anomalies to go on."
)


@pytest.fixture(scope="module")
def checks(beans_sample, tmp_path_factory):
    """Statistics of a sample whose test split has a class the schema does not know, and that schema."""
    from kfx import splitting, statistics
    from kfx import schema as schemas

    folder = tmp_path_factory.mktemp("checks")
    splits = splitting.stratified_split(beans_sample, "Class", (0.8, 0.1, 0.1), 42)
    stats = statistics.compute_statistics(splits)
    schemas.write_schema(schemas.infer_schema(stats["train"]), str(folder / "schema.pbtxt"))
    test = splits["test"].copy()
    test.loc[:4, "Class"] = "PINTO"
    statistics.write_statistics(statistics.compute_statistics({**splits, "test": test}), str(folder / "statistics"))
    (folder / "no-champion.json").write_text('{"found": false}')
    return folder


@pytest.fixture
def validation_only(checks, monkeypatch):
    """Makes ``kfx run`` build a pipeline of the validate-statistics task alone."""
    from kfp import dsl

    import kfx.pipeline
    from kfx import components

    def build(config):
        @dsl.pipeline(name=config.resolved_pipeline_name)
        def pipeline(skew_threshold: float = config.skew_threshold, fail_on_anomalies: bool = config.fail_on_anomalies):
            stats = dsl.importer(artifact_uri=str(checks / "statistics"), artifact_class=dsl.Artifact)
            schema = dsl.importer(artifact_uri=str(checks / "schema.pbtxt"), artifact_class=dsl.Artifact)
            none = dsl.importer(artifact_uri=str(checks / "no-champion.json"), artifact_class=dsl.Artifact,
                                metadata={"found": False})  # no champion: no drift check
            components.validate_statistics(
                statistics=stats.output, schema=schema.output, registered_model=none.output, skew_threshold=skew_threshold,
                fail_on_anomalies=fail_on_anomalies,
            ).set_caching_options(False)

        return pipeline

    monkeypatch.setattr(kfx.pipeline, "build_pipeline", build)


def _run(tmp_path, capsys, *options):
    from kfx.cli import main

    code = main(["run", "--runs-dir", str(tmp_path / "runs"), "--no-record-lineage", "--skew-threshold", "0.9", *options])
    out, err = capsys.readouterr()
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    return code, out, err, run_dir, json.loads((run_dir / "summary.json").read_text())


def test_anomalies_fail_the_run_with_exit_code_3_and_the_failed_tasks_outputs_are_removed(validation_only, tmp_path, capsys):
    code, out, err, run_dir, summary = _run(tmp_path, capsys)
    assert code == 3
    assert err == f"kfx: error: {ANOMALY}\n"
    assert f"[1/{len(STEPS)}] validate-statistics FAILED after" in out
    assert f"  failed at   validate-statistics: {ANOMALY}" in out.splitlines()
    assert (summary["status"], summary["failed_step"], summary["error_kind"], summary["error"]) == (
        "failed", "validate-statistics", "AnomaliesFound", ANOMALY)
    assert summary["anomalies"] is None and summary["artifacts"] == {}
    # The task wrote its anomalies and report before failing; the runner removed them.
    files = sorted(os.path.relpath(os.path.join(root, f), run_dir) for root, _, names in os.walk(run_dir) for f in names)
    assert files == ["pipeline.log", "summary.json"]
    assert f"kfx-error: AnomaliesFound: {ANOMALY}" in (run_dir / "pipeline.log").read_text()


def test_with_fail_on_anomalies_off_the_task_completes_and_a_short_run_is_named(validation_only, tmp_path, capsys):
    code, out, err, run_dir, summary = _run(tmp_path, capsys, "--no-fail-on-anomalies")
    log = str(run_dir / "pipeline.log")
    assert summary["steps"][0]["name"] == "validate-statistics" and summary["steps"][0]["state"] == "complete"
    assert summary["anomalies"]["count"] == 1 and summary["anomalies"]["features"] == ["Class"]
    anomalies = summary["artifacts"]["validate-statistics/anomalies"]
    assert "PINTO" in open(os.path.join(anomalies, "Split-test", "anomalies.pbtxt")).read()
    # One task ran where the pipeline has more: the run does not pass for complete.
    assert (summary["status"], summary["error_kind"]) == ("failed", "StepFailed")
    assert summary["error"] == f"Only 1 of {len(STEPS)} steps ran; see {log}."
    assert code == 1 and err == f"kfx: error: Only 1 of {len(STEPS)} steps ran; see {log}.\n"
    assert f"  anomalies   1 (Class); report: {summary['artifacts']['validate-statistics/report']}" in out.splitlines()
