"""validate_scoring_statistics: the table to score against the model's schema, and its drift from training."""

import os

import pandas as pd
import pytest
from kfp.dsl import Artifact, Markdown

from kfx import components, scoring
from kfx.errors import AnomaliesFound


@pytest.fixture(scope="module")
def described(registered, tmp_path_factory):
    """Statistics of tables to score: clean with and without the label, one with Area tripled, one with a new class."""
    folder = tmp_path_factory.mktemp("described")
    labelled = pd.read_csv(registered.labelled)
    tables = {
        "labelled": labelled,
        "unlabelled": labelled.drop(columns=["Class"]),
        "drifted": labelled.drop(columns=["Class"]).assign(Area=labelled["Area"] * 3),
        "two_drifted": labelled.drop(columns=["Class"]).assign(
            Area=labelled["Area"] * 3, Perimeter=labelled["Perimeter"] * 3
        ),
        "new_class": labelled.assign(Class=labelled["Class"].where(labelled.index >= 5, "PINTO")),
    }
    found = {}
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
        found[name] = str(folder / f"{name}-statistics")
        scoring.scoring_statistics(
            str(folder / f"{name}.csv"), registered.uri, found[name], str(folder / f"{name}.html")
        )
    return found


def _validate(registered, statistics, labelled, tmp_path, fail=True, threshold=0.15):
    return scoring.validate_scoring(
        statistics, registered.uri, labelled, str(tmp_path / "anomalies"), str(tmp_path / "report.md"), threshold, fail
    )


def test_plain_function_a_clean_table_validates_in_its_environment_and_drift_is_measured(
    registered, described, tmp_path
):
    result = _validate(registered, described["labelled"], True, tmp_path)
    assert (result["anomalies"], result["findings"], result["environment"]) == (0, [], "TRAINING")
    assert sorted(result["drift"]) == sorted(pd.read_csv(registered.labelled).columns)
    assert all(0 <= v < 0.15 for v in result["drift"].values())
    assert os.listdir(tmp_path / "anomalies") == ["Split-scoring"]
    report = (tmp_path / "report.md").read_text()
    assert report.startswith(
        "# Scoring data validation\n\nChecked against the model's schema in environment TRAINING; "
        "drift threshold: 0.15.\n\nNo anomalies found: the table matches the schema and no feature drifted.\n"
    )
    unlabelled = _validate(registered, described["unlabelled"], False, tmp_path)
    assert (unlabelled["anomalies"], unlabelled["environment"]) == (0, "SERVING")
    assert "Class" not in unlabelled["drift"]


def test_plain_function_fails_on_drift_before_anything_is_predicted(registered, described, tmp_path):
    with pytest.raises(AnomaliesFound) as error:
        _validate(registered, described["drifted"], False, tmp_path)
    assert str(error.value).startswith("TFDV found ")
    assert "'Area' (High approximate Jensen-Shannon divergence between current and previous)" in str(error.value)
    assert str(error.value).endswith("; fix the table, or pass --no-fail-on-anomalies to predict anyway.")
    assert "| Area | High approximate Jensen-Shannon divergence" in (tmp_path / "report.md").read_text()
    result = _validate(registered, described["drifted"], False, tmp_path, fail=False)
    assert result["drift"]["Area"] > 0.15 and "Area" in {f["feature"] for f in result["findings"]}


def test_plain_function_a_class_the_schema_does_not_know_is_an_anomaly_when_labelled(registered, described, tmp_path):
    result = _validate(registered, described["new_class"], True, tmp_path, fail=False)
    assert [(f["feature"], f["short"]) for f in result["findings"]] == [("Class", "Unexpected string values")]


def test_python_func_records_count_environment_and_largest_drift(registered, described, new_artifact, tmp_path):
    anomalies, report = new_artifact(Artifact, "scoring_anomalies"), new_artifact(Markdown, "scoring_report")
    from kfp.dsl import Artifact as Stats

    assert components.validate_scoring_statistics.python_func(
        scoring_statistics=Stats(name="s", uri=described["unlabelled"], metadata={}),
        registered_model=registered.reference_artifact(tmp_path),
        labelled=False,
        scoring_anomalies=anomalies,
        scoring_report=report,
        drift_threshold=0.15,
        fail_on_anomalies=True,
    ) == (0,)
    meta = anomalies.metadata
    assert {k: meta[k] for k in ("anomalies", "drift_threshold", "environment", "features")} == {
        "anomalies": 0,
        "drift_threshold": 0.15,
        "environment": "SERVING",
        "features": [],
    }
    assert meta["max_drift"] == max(meta["drift"].values())
    assert meta["drift"][meta["max_drift_feature"]] == meta["max_drift"]


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    round_trip(components.validate_scoring_statistics, {"drift_threshold", "fail_on_anomalies"})


def test_a_version_pushed_without_a_schema_is_checked_against_one_inferred_from_its_training_statistics(
    registered, described, tmp_path
):
    """A version may lack schema.pbtxt (a push without a schema): its training statistics still give the classes."""
    from types import SimpleNamespace

    from kfx import registry

    version = registered.copy_without(tmp_path, registry.SCHEMA_FILE)
    result = _validate(SimpleNamespace(uri=version), described["new_class"], True, tmp_path, fail=False)
    assert [(f["feature"], f["short"]) for f in result["findings"]] == [("Class", "Unexpected string values")]
    assert (
        (tmp_path / "report.md")
        .read_text()
        .startswith(
            "# Scoring data validation\n\n"
            "Checked against the model's schema in environment TRAINING; drift threshold: 0.15.\n"
        )
    )


def test_each_anomalous_feature_is_named_in_the_one_sentence_and_each_distance_in_the_report(
    registered, described, tmp_path
):
    with pytest.raises(AnomaliesFound) as error:
        _validate(registered, described["two_drifted"], False, tmp_path)
    drifted = "High approximate Jensen-Shannon divergence between current and previous"
    assert str(error.value).startswith(f"TFDV found 2 anomalies in the table to score: 'Area' ({drifted}); ")
    assert f"; 'Perimeter' ({drifted}); fix the table" in str(error.value)
    result = _validate(registered, described["two_drifted"], False, tmp_path, fail=False)
    report = (tmp_path / "report.md").read_text()
    assert "| feature | drift from the training statistics |" in report
    for feature in ("Area", "Perimeter", "Solidity"):
        assert f"| {feature} | {result['drift'][feature]:.4f} |" in report
    # Each distance is the largest measurement rounded to 4 places: an undrifted feature's is small, not 0.
    assert all(v == round(v, 4) for v in result["drift"].values())
    assert 0 < result["drift"]["Solidity"] < 0.15


def test_a_version_without_a_schema_nor_training_statistics_is_not_checked_and_says_so(registered, described, tmp_path):
    from types import SimpleNamespace

    from kfx import registry

    version = registered.copy_without(tmp_path, registry.SCHEMA_FILE, registry.STATISTICS_FOLDER)
    result = _validate(SimpleNamespace(uri=version), described["drifted"], False, tmp_path)
    assert result == {"anomalies": 0, "findings": [], "drift": {}, "environment": "SERVING"}
    assert (tmp_path / "report.md").read_text() == (
        "# Scoring data validation\n\nThe model version keeps no schema nor training statistics: nothing was checked.\n"
    )
