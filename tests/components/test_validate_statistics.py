"""validate_statistics: anomalies of every split against the schema, and train vs. validation skew."""

import os

import pandas as pd
import pytest
from kfp.dsl import Artifact, Markdown

from kfx import components, data_steps, model_steps, statistics
from kfx.errors import AnomaliesFound

UNEXPECTED = {
    "split": "test",
    "feature": "Class",
    "short": "Unexpected string values",
    "description": "Examples contain values missing from the schema: PINTO (~8%). ",
    "check": "schema",
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
    result = data_steps.validate_statistics(upstream.statistics, upstream.schema, anomalies, report, 0.15, 0.15, True)
    assert (result["anomalies"], result["findings"]) == (0, [])
    # Each feature's skew threshold: the base plus the noise term for 479 train vs. 60 validation rows.
    assert [(t["feature"], t["check"], t["rows"]) for t in result["thresholds"]] == [
        (name, "skew", [479, 60]) for name in upstream.columns
    ]
    assert all(0.15 < t["threshold"] < 0.4 and t["measured"] < t["threshold"] for t in result["thresholds"])
    assert sorted(os.listdir(anomalies)) == SPLIT_FOLDERS
    assert all(os.listdir(os.path.join(anomalies, s)) == ["anomalies.pbtxt"] for s in SPLIT_FOLDERS)
    assert (
        open(report)
        .read()
        .startswith(
            "# Data validation\n\nChecked splits: test, train, validation; skew threshold train vs. validation: 0.15 "
            "plus a noise term per feature for the rows compared (see Thresholds).\n\n"
            "No anomalies found: every split matches the schema and no feature is skewed.\n\n## Thresholds\n"
        )
    )


def test_plain_function_a_low_skew_threshold_in_a_curated_schema_flags_every_feature_of_train(upstream, tmp_path):
    from kfx import comparators
    from kfx import schema as schemas

    # A low base alone does not: 479 against 60 rows differ by chance more than that.
    assert (
        data_steps.validate_statistics(
            upstream.statistics, upstream.schema, str(tmp_path / "b"), str(tmp_path / "b.md"), 0.01, 0.15, False
        )["anomalies"]
        == 0
    )
    curated = str(tmp_path / "curated.pbtxt")
    schemas.write_schema(comparators.with_skew_comparators(schemas.load_schema(upstream.schema), 0.01), curated)
    result = data_steps.validate_statistics(
        upstream.statistics, curated, str(tmp_path / "a"), str(tmp_path / "r.md"), 0.15, 0.15, False
    )
    assert result["anomalies"] == 17
    assert sorted(f["feature"] for f in result["findings"]) == sorted(upstream.columns)
    assert {(f["split"], f["check"]) for f in result["findings"]} == {("train", "skew")}
    assert {f["short"] for f in result["findings"] if f["feature"] == "Class"} == {
        "High Linfty distance between training and serving"
    }
    assert {t["why"] for t in result["thresholds"]} == {"set in the schema"}


def test_plain_function_fails_on_anomalies_after_writing_them(upstream, damaged, tmp_path):
    anomalies, report = tmp_path / "anomalies", tmp_path / "report.md"
    with pytest.raises(AnomaliesFound) as error:
        data_steps.validate_statistics(damaged.path, upstream.schema, str(anomalies), str(report), 0.15, 0.15, True)
    assert str(error.value) == ANOMALY
    assert "PINTO" in (anomalies / "Split-test" / "anomalies.pbtxt").read_text()
    assert "| test | Class | schema | Unexpected string values |" in report.read_text()
    result = data_steps.validate_statistics(
        damaged.path, upstream.schema, str(anomalies), str(report), 0.15, 0.15, False
    )
    assert (result["anomalies"], result["findings"]) == (1, [UNEXPECTED])


def test_python_func_records_the_count_threshold_and_features(upstream, new_artifact):
    anomalies, report = _outputs(new_artifact)
    outputs = components.validate_statistics.python_func(
        statistics=upstream.statistics_artifact(),
        schema=upstream.schema_artifact(),
        anomalies=anomalies,
        report=report,
        registered_model=upstream.no_champion(),
    )
    assert outputs == (0,)
    assert anomalies.metadata == {
        "anomalies": 0,
        "skew_threshold": 0.15,
        "drift_threshold": 0.15,
        "drift_from": "",
        "features": [],
        "drifted": [],
    }
    assert sorted(os.listdir(anomalies.path)) == SPLIT_FOLDERS
    assert "No anomalies found" in open(report.path).read()


def test_python_func_names_the_anomalous_features_or_fails(upstream, damaged, new_artifact):
    anomalies, report = _outputs(new_artifact)
    outputs = components.validate_statistics.python_func(
        statistics=damaged,
        schema=upstream.schema_artifact(),
        anomalies=anomalies,
        report=report,
        registered_model=upstream.no_champion(),
        skew_threshold=0.2,
        fail_on_anomalies=False,
    )
    assert outputs == (1,)
    assert anomalies.metadata == {
        "anomalies": 1,
        "skew_threshold": 0.2,
        "drift_threshold": 0.15,
        "drift_from": "",
        "features": ["Class"],
        "drifted": [],
    }
    with pytest.raises(AnomaliesFound, match="'Class' in test"):
        components.validate_statistics.python_func(
            statistics=damaged,
            schema=upstream.schema_artifact(),
            anomalies=anomalies,
            report=report,
            registered_model=upstream.no_champion(),
        )


@pytest.fixture(scope="module")
def champion(upstream, tmp_path_factory):
    """The upstream model pushed as v1, with its training statistics, and find_model's reference to it."""
    from kfx import registry

    reg = str(tmp_path_factory.mktemp("registry"))
    model_steps.push_model(upstream.model, reg, "beans", {"blessed": True}, upstream.schema, upstream.statistics)
    found = registry.resolve(reg, "beans")
    return Artifact(name="registered_model", uri=os.path.join(found["uri"], "reference.json"), metadata=found)


def test_python_func_measures_drift_from_the_champions_training_statistics(upstream, champion, new_artifact, tmp_path):
    anomalies, report = _outputs(new_artifact)
    # The same statistics as the champion's: nothing drifted, and the report says from which version.
    assert components.validate_statistics.python_func(
        statistics=upstream.statistics_artifact(),
        schema=upstream.schema_artifact(),
        anomalies=anomalies,
        report=report,
        registered_model=champion,
    ) == (0,)
    assert (anomalies.metadata["drift_from"], anomalies.metadata["drifted"]) == ("beans v1", [])
    # Perimeter ten times larger in half the training rows (and in half the validation rows, so no skew).
    frames = {split: pd.read_csv(path) for split, path in upstream.splits.items()}
    for split in ("train", "validation"):
        frames[split].loc[frames[split].index[::2], "Perimeter"] *= 10
    shifted = str(tmp_path / "shifted")
    statistics.write_statistics(statistics.compute_statistics(frames), shifted)
    anomalies, report = _outputs(new_artifact)
    outputs = components.validate_statistics.python_func(
        statistics=Artifact(name="statistics", uri=shifted, metadata={}),
        schema=upstream.schema_artifact(),
        anomalies=anomalies,
        report=report,
        registered_model=champion,
        fail_on_anomalies=False,
    )
    assert outputs == (1,)
    assert (anomalies.metadata["drift_from"], anomalies.metadata["drifted"]) == ("beans v1", ["Perimeter"])
    with pytest.raises(
        AnomaliesFound, match=r"^TFDV found 1 anomalies: 'Perimeter' drifted from the champion's training data"
    ):
        components.validate_statistics.python_func(
            statistics=Artifact(name="statistics", uri=shifted, metadata={}),
            schema=upstream.schema_artifact(),
            anomalies=anomalies,
            report=report,
            registered_model=champion,
        )


def test_kfp_local_run(kfp_local, upstream, damaged):
    outputs = kfp_local.run(
        components.validate_statistics,
        {"statistics": damaged, "schema": upstream.schema_artifact(), "registered_model": upstream.no_champion()},
        fail_on_anomalies=False,
    )
    assert outputs["anomalies_count"] == 1
    assert outputs["anomalies"].path.startswith(str(kfp_local.root))
    assert outputs["anomalies"].metadata == {
        "anomalies": 1,
        "skew_threshold": 0.15,
        "drift_threshold": 0.15,
        "drift_from": "",
        "features": ["Class"],
        "drifted": [],
    }
    assert "| test | Class | schema | Unexpected string values |" in open(outputs["report"].path).read()


def test_kfp_local_run_fails_the_task_on_anomalies_with_one_kfx_error_line(kfp_local, upstream, damaged, capfd):
    with pytest.raises(RuntimeError, match="Inner task failed: .*validate-statistics"):
        kfp_local.run(
            components.validate_statistics,
            {"statistics": damaged, "schema": upstream.schema_artifact(), "registered_model": upstream.no_champion()},
        )
    out = capfd.readouterr().out
    assert f"kfx-error: AnomaliesFound: {ANOMALY}" in [line.strip() for line in out.splitlines()]
    assert "Traceback" not in out


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(
        components.validate_statistics,
        from_config={"skew_threshold", "drift_threshold", "fail_on_anomalies"},
        written={"registered_model": None},
    )  # no champion: no drift to measure
    assert loaded.component_spec.outputs["report"].type == "system.Markdown@0.0.1"
    assert loaded.component_spec.outputs["anomalies_count"].type == "Integer"
