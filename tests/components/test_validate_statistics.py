"""validate_statistics: anomalies of every split against the schema, and train vs. validation skew."""

import os

import pandas as pd
import pytest
from kfp.dsl import Artifact, Markdown

from kfx import components, statistics, steps
from kfx.errors import AnomaliesFound

UNEXPECTED = {
    "split": "test", "feature": "Class", "short": "Unexpected string values",
    "description": "Examples contain values missing from the schema: PINTO (~8%). ",
}
ANOMALY = (
    "TFDV found 1 anomalies: 'Class' in test (Unexpected string values); fix the data or curate the schema "
    "(--schema-file), or pass --no-fail-on-anomalies to go on."
)
SPLIT_FOLDERS = ["Split-test", "Split-train", "Split-validation"]


@pytest.fixture(scope="module")
def damaged(upstream, tmp_path_factory):
    """Statistics of the sample whose test split has five rows of a class the schema does not know."""
    frames = {split: pd.read_csv(path) for split, path in upstream.splits.items()}
    frames["test"].loc[:4, "Class"] = "PINTO"
    folder = str(tmp_path_factory.mktemp("damaged") / "statistics")
    statistics.write_statistics(statistics.compute_statistics(frames), folder)
    return Artifact(name="statistics", uri=folder, metadata={})


def _outputs(new_artifact):
    return new_artifact(Artifact, "anomalies"), new_artifact(Markdown, "report")


def test_plain_function_finds_nothing_in_clean_splits_and_writes_the_report(upstream, tmp_path):
    anomalies, report = str(tmp_path / "anomalies"), str(tmp_path / "report.md")
    result = steps.validate_statistics(upstream.statistics, upstream.schema, anomalies, report, 0.15, True)
    assert result == {"anomalies": 0, "findings": []}
    assert sorted(os.listdir(anomalies)) == SPLIT_FOLDERS
    assert all(os.listdir(os.path.join(anomalies, s)) == ["anomalies.pbtxt"] for s in SPLIT_FOLDERS)
    assert open(report).read() == (
        "# Data validation\n\nChecked splits: test, train, validation; skew threshold train vs. validation: 0.15.\n\n"
        "No anomalies found: every split matches the schema and no feature is skewed.\n"
    )


def test_plain_function_a_low_skew_threshold_flags_every_feature_of_train(upstream, tmp_path):
    result = steps.validate_statistics(upstream.statistics, upstream.schema, str(tmp_path / "a"),
                                       str(tmp_path / "r.md"), 0.01, False)
    assert result["anomalies"] == 17
    assert sorted(f["feature"] for f in result["findings"]) == sorted(upstream.columns)
    assert {f["split"] for f in result["findings"]} == {"train"}
    assert {f["short"] for f in result["findings"] if f["feature"] == "Class"} == {
        "High Linfty distance between training and serving"}


def test_plain_function_fails_on_anomalies_after_writing_them(upstream, damaged, tmp_path):
    anomalies, report = tmp_path / "anomalies", tmp_path / "report.md"
    with pytest.raises(AnomaliesFound) as error:
        steps.validate_statistics(damaged.path, upstream.schema, str(anomalies), str(report), 0.15, True)
    assert str(error.value) == ANOMALY
    assert "PINTO" in (anomalies / "Split-test" / "anomalies.pbtxt").read_text()
    assert "| test | Class | Unexpected string values |" in report.read_text()
    assert steps.validate_statistics(damaged.path, upstream.schema, str(anomalies), str(report), 0.15, False) == {
        "anomalies": 1, "findings": [UNEXPECTED]}


def test_python_func_records_the_count_threshold_and_features(upstream, new_artifact):
    anomalies, report = _outputs(new_artifact)
    outputs = components.validate_statistics.python_func(
        statistics=upstream.statistics_artifact(), schema=upstream.schema_artifact(), anomalies=anomalies, report=report
    )
    assert outputs == (0,)
    assert anomalies.metadata == {"anomalies": 0, "skew_threshold": 0.15, "features": []}
    assert sorted(os.listdir(anomalies.path)) == SPLIT_FOLDERS
    assert "No anomalies found" in open(report.path).read()


def test_python_func_names_the_anomalous_features_or_fails(upstream, damaged, new_artifact):
    anomalies, report = _outputs(new_artifact)
    outputs = components.validate_statistics.python_func(
        statistics=damaged, schema=upstream.schema_artifact(), anomalies=anomalies, report=report,
        skew_threshold=0.2, fail_on_anomalies=False,
    )
    assert outputs == (1,)
    assert anomalies.metadata == {"anomalies": 1, "skew_threshold": 0.2, "features": ["Class"]}
    with pytest.raises(AnomaliesFound, match="'Class' in test"):
        components.validate_statistics.python_func(
            statistics=damaged, schema=upstream.schema_artifact(), anomalies=anomalies, report=report
        )


def test_kfp_local_run(kfp_local, upstream, damaged):
    outputs = kfp_local.run(
        components.validate_statistics, {"statistics": damaged, "schema": upstream.schema_artifact()},
        fail_on_anomalies=False,
    )
    assert outputs["anomalies_count"] == 1
    assert outputs["anomalies"].path.startswith(str(kfp_local.root))
    assert outputs["anomalies"].metadata == {"anomalies": 1, "skew_threshold": 0.15, "features": ["Class"]}
    assert "| test | Class | Unexpected string values |" in open(outputs["report"].path).read()


def test_kfp_local_run_fails_the_task_on_anomalies_with_one_kfx_error_line(kfp_local, upstream, damaged, capfd):
    with pytest.raises(RuntimeError, match="Inner task failed: .*validate-statistics"):
        kfp_local.run(components.validate_statistics, {"statistics": damaged, "schema": upstream.schema_artifact()})
    out = capfd.readouterr().out
    assert f"kfx-error: AnomaliesFound: {ANOMALY}" in [line.strip() for line in out.splitlines()]
    assert "Traceback" not in out


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.validate_statistics, from_config={"skew_threshold", "fail_on_anomalies"})
    assert loaded.component_spec.outputs["report"].type == "system.Markdown@0.0.1"
    assert loaded.component_spec.outputs["anomalies_count"].type == "Integer"
