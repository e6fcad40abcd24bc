"""TFDV statistics, schema and validation with the real TFDV (imported once for this module)."""

import os

import pytest

from kfx import schema as schemas
from kfx import statistics, validation
from kfx.errors import AnomaliesFound, ConfigError


@pytest.fixture(scope="module")
def tfdv():
    return statistics.import_tfdv()


@pytest.fixture(scope="module")
def split_frames(beans):
    from kfx import data

    return data.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=42)


@pytest.fixture(scope="module")
def stats(tfdv, split_frames):
    return statistics.compute_statistics(split_frames)


def test_statistics_describe_every_split(stats):
    assert statistics.summarize(stats) == {
        "train": {"rows": 10887, "features": 17},
        "validation": {"rows": 1362, "features": 17},
        "test": {"rows": 1362, "features": 17},
    }
    area = next(f for f in stats["train"].datasets[0].features if f.path.step[0] == "Area")
    assert area.num_stats.min == 20420 and area.num_stats.max > 200000


def test_written_statistics_load_back_with_tfdv(tfdv, stats, tmp_path):
    statistics.write_statistics(stats, str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["Split-test", "Split-train", "Split-validation"]
    loaded = tfdv.load_statistics(str(tmp_path / "Split-train" / "stats.tfrecord"))
    assert loaded == stats["train"]
    assert statistics.load_statistics(str(tmp_path)) == stats


def test_statistics_html_holds_every_feature(stats):
    html = statistics.statistics_html(stats["train"], stats["validation"])
    assert html.startswith("<!DOCTYPE html>") and "facets-overview" in html
    # The page embeds the serialized protos; decode them back to check every feature is there.
    import base64
    import re

    from tensorflow_metadata.proto.v0 import statistics_pb2

    blob = re.search(r'proto-input="([A-Za-z0-9+/=]+)"', html)
    assert blob, "the Facets page carries the statistics proto"
    proto = statistics_pb2.DatasetFeatureStatisticsList.FromString(base64.b64decode(blob[1]))
    names = {f.path.step[0] for d in proto.datasets for f in d.features}
    assert len(names) == 17 and {"Area", "ShapeFactor4", "Class"} <= names
    assert [d.name for d in proto.datasets] == ["train", "eval"]


def test_schema_inference_matches_tfdv_without_tensorflow(tfdv, stats):
    ours = schemas.infer_schema(stats["train"])
    assert ours == tfdv.infer_schema(stats["train"])
    by_name = {f.name: f for f in ours.feature}
    assert len(by_name) == 17
    assert by_name["Area"].type == 2  # INT
    assert sorted(next(d for d in ours.string_domain if d.name == "Class").value) == [
        "BARBUNYA", "BOMBAY", "CALI", "DERMASON", "HOROZ", "SEKER", "SIRA",
    ]


def test_clean_splits_have_no_anomalies(stats):
    schema = schemas.infer_schema(stats["train"])
    anomalies = validation.validate_splits(stats, schema, skew_threshold=0.1)
    assert validation.findings(anomalies) == []


@pytest.fixture(scope="module")
def damaged_stats(tfdv, split_frames):
    """A new category in test, a missing column in validation, and drifted values in validation."""
    frames = dict(split_frames)
    test = frames["test"].copy()
    test.loc[:20, "Class"] = "PINTO"
    validation_frame = frames["validation"].drop(columns=["Solidity"]).copy()
    validation_frame["Area"] = validation_frame["Area"] * 3
    frames.update(test=test, validation=validation_frame)
    return statistics.compute_statistics(frames)


def test_damaged_data_is_caught_as_tfdv_would(tfdv, stats, damaged_stats):
    schema = schemas.infer_schema(stats["train"])
    anomalies = validation.validate_splits(damaged_stats, schema, skew_threshold=0.1)
    found = {(f.split, f.feature): f.short for f in validation.findings(anomalies)}
    assert found[("test", "Class")] == "Unexpected string values"
    assert found[("validation", "Solidity")] == "Column dropped"
    assert found[("train", "Area")] == "High approximate Jensen-Shannon divergence between training and serving"
    # Same answers as TFDV's own Python API.
    assert anomalies["test"] == tfdv.validate_statistics(damaged_stats["test"], schema)
    skew_schema = validation.with_skew_comparators(schema, 0.1)
    assert anomalies["train"] == tfdv.validate_statistics(
        damaged_stats["train"], skew_schema, serving_statistics=damaged_stats["validation"]
    )


def test_report_and_error_list_each_feature(stats, damaged_stats, tmp_path):
    schema = schemas.infer_schema(stats["train"])
    anomalies = validation.validate_splits(damaged_stats, schema)
    found = validation.findings(anomalies)
    report = validation.report_markdown(found, list(damaged_stats), 0.1)
    assert f"**{len(found)} anomalies found.**" in report
    assert "| test | Class | Unexpected string values |" in report
    error = validation.anomalies_error(found)
    assert isinstance(error, AnomaliesFound)
    assert "'Class' in test (Unexpected string values)" in str(error)
    assert "'Solidity' in validation (Column dropped)" in str(error)
    validation.write_anomalies(anomalies, str(tmp_path))
    text = (tmp_path / "Split-test" / "anomalies.pbtxt").read_text()
    assert "PINTO" in text


def test_curated_schema_is_loaded_and_checked(stats, tmp_path):
    path = tmp_path / "schema.pbtxt"
    schemas.write_schema(schemas.infer_schema(stats["train"]), str(path))
    assert len(schemas.load_schema(str(path)).feature) == 17
    bad = tmp_path / "bad.pbtxt"
    bad.write_text("feature { name: 'x' type: NOPE }")
    with pytest.raises(ConfigError, match="is not a TFDV schema text proto"):
        schemas.load_schema(str(bad))


def test_tfdv_core_does_not_need_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys; from kfx import tfdv_core; assert tfdv_core._core() is not None;"
        "print('tensorflow' in sys.modules, 'apache_beam' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_beam_engine_gives_the_statistics_of_the_memory_engine(tfdv, sample_splits):
    import pandas as pd

    frames = {k: pd.read_csv(v) for k, v in sample_splits.items()}
    beam = statistics.compute_statistics(frames, engine="beam", data_uris=sample_splits,
                                         beam_options={"runner": "DirectRunner"})
    memory = statistics.compute_statistics(frames)
    assert statistics.summarize(beam) == statistics.summarize(memory)

    def means(stats):
        return {f.path.step[0]: f.num_stats.mean for f in stats["train"].datasets[0].features
                if f.HasField("num_stats")}

    # CSV text round-trips floats to the last digit or so.
    assert means(beam) == pytest.approx(means(memory), rel=1e-7) and len(means(beam)) == 16
