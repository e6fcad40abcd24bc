"""TFDV statistics, schema and validation with the real TFDV (imported once for this module)."""

import os

import pytest

from kfx import comparators, statistics, validation, validation_report
from kfx import schema as schemas
from kfx.config import Config
from kfx.errors import AnomaliesFound, ConfigError


@pytest.fixture(scope="module")
def tfdv():
    return statistics.import_tfdv()


@pytest.fixture(scope="module")
def split_frames(beans):
    from kfx import splitting

    return splitting.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=42)


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
        "BARBUNYA",
        "BOMBAY",
        "CALI",
        "DERMASON",
        "HOROZ",
        "SEKER",
        "SIRA",
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
    # Same answers as TFDV's own Python API, given the schema with kfx's per-feature comparators.
    assert anomalies["test"] == tfdv.validate_statistics(damaged_stats["test"], schema)
    compared = validation.validate(damaged_stats, schema, skew_threshold=0.1).comparisons
    assert anomalies["train"] == tfdv.validate_statistics(
        damaged_stats["train"],
        comparators.with_comparators(schema, compared),
        serving_statistics=damaged_stats["validation"],
    )


def test_report_and_error_list_each_feature(stats, damaged_stats, tmp_path):
    schema = schemas.infer_schema(stats["train"])
    anomalies = validation.validate_splits(damaged_stats, schema, Config().skew_threshold)
    found = validation.findings(anomalies)
    # The default skew threshold, 0.15, catches Area measured three times larger in validation.
    assert ("train", "Area") in {(f.split, f.feature) for f in found}
    report = validation_report.report_markdown(found, list(damaged_stats), 0.1)
    assert f"**{len(found)} anomalies found.**" in report
    assert "| test | Class | schema | Unexpected string values |" in report
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
    beam = statistics.compute_statistics(
        frames, engine="beam", data_uris=sample_splits, beam_options={"runner": "DirectRunner"}
    )
    memory = statistics.compute_statistics(frames)
    assert statistics.summarize(beam) == statistics.summarize(memory)

    def means(stats):
        return {
            f.path.step[0]: f.num_stats.mean for f in stats["train"].datasets[0].features if f.HasField("num_stats")
        }

    # CSV text round-trips floats to the last digit or so.
    assert means(beam) == pytest.approx(means(memory), rel=1e-7) and len(means(beam)) == 16


def test_beam_runs_here_on_the_portable_runner_and_dataflow_options_pass_unchanged(monkeypatch):
    from kfx import beamstats
    from kfx.vertex.statistics import beam_pipeline_options

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    big = beamstats.MULTI_PROCESS_BYTES
    one = {"direct_running_mode": "in_memory", "direct_num_workers": 1}
    assert beamstats.runner_options(None, big - 1) == {"runner": beamstats.PORTABLE, **one}
    assert beamstats.runner_options({"runner": "DirectRunner"}, big) == {
        "runner": beamstats.PORTABLE,
        "direct_running_mode": "multi_processing",
        "direct_num_workers": 4,
    }
    # What the caller says about the workers wins.
    assert beamstats.runner_options({"direct_num_workers": 1}, big) == {
        "runner": beamstats.PORTABLE,
        "direct_num_workers": 1,
    }
    dataflow = beam_pipeline_options(
        "DataflowRunner",
        "my-project",
        "europe-west4",
        "gs://my-bucket",
        subnetwork="regions/europe-west4/subnetworks/s",
        sdk_container_image="img",
    )
    given = dict(dataflow)
    assert beamstats.runner_options(dataflow, big) == given and dataflow == given
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert beamstats.runner_options(None, big) == {"runner": beamstats.PORTABLE, **one}


def _words_and_numbers(proto):
    """A statistics proto's text words and its numbers, apart: to compare the numbers up to rounding."""
    from google.protobuf import text_format

    words, numbers = [], []
    for word in text_format.MessageToString(proto).split():
        try:
            numbers.append(float(word))
        except ValueError:
            words.append(word)
    return words, numbers


BEAM_WORKERS = r"""
import json, sys
from kfx import beamstats
uris, out = json.loads(sys.argv[1]), sys.argv[2]
multi = {"direct_running_mode": "multi_processing", "direct_num_workers": 2}
for name, range_bytes in (("whole", beamstats.RANGE_BYTES), ("ranges", 4096)):
    # 4 kB ranges: each file is read in pieces by both workers.
    beamstats.RANGE_BYTES = range_bytes
    for split, proto in beamstats.csv_statistics(uris, multi).items():
        open(f"{out}/{name}-{split}.pb", "wb").write(proto.SerializeToString())
bad = dict(uris, train=f"{out}/bad.csv")
open(bad["train"], "w").write(open(uris["train"]).read() + "1,2,3\n")
try:
    beamstats.csv_statistics(bad, multi)
except Exception as err:
    print("failed:", type(err).__name__)
"""


@pytest.mark.slow
def test_beam_worker_processes_give_one_processs_statistics_and_leave_no_process_behind(tfdv, sample_splits, tmp_path):
    """Runs the beam engine with two worker processes in a child process marked by an environment
    variable the workers inherit; once it is done, no process may carry the mark."""
    import json
    import subprocess
    import sys
    import uuid

    import psutil
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from kfx import beamstats

    single = beamstats.csv_statistics(sample_splits, {"direct_running_mode": "in_memory", "direct_num_workers": 1})
    mark = uuid.uuid4().hex
    done = subprocess.run(
        [sys.executable, "-c", BEAM_WORKERS, json.dumps(sample_splits), str(tmp_path)],
        env={**os.environ, "KFX_TEST_MARK": mark},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "failed: RuntimeError" in done.stdout  # a bad row fails the pipeline ...

    def marked(process):
        try:
            return process.environ().get("KFX_TEST_MARK") == mark
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return False

    assert [p.cmdline() for p in psutil.process_iter() if marked(p)] == []  # ... and leaves no worker either

    def load(name):
        return statistics_pb2.DatasetFeatureStatisticsList.FromString((tmp_path / f"{name}.pb").read_bytes())

    for split, proto in single.items():
        assert load(f"whole-{split}") == proto
        # Spread over both workers, sums differ in the last digits at most (the order of additions).
        assert load(f"ranges-{split}").datasets[0].num_examples == proto.datasets[0].num_examples
        words, numbers = _words_and_numbers(load(f"ranges-{split}"))
        assert words == _words_and_numbers(proto)[0] and numbers == pytest.approx(
            _words_and_numbers(proto)[1], rel=1e-12
        )


@pytest.fixture(scope="module")
def damaged_folder(stats, damaged_stats, tmp_path_factory):
    """The damaged splits' statistics and the clean schema, written as the pipeline's artifacts are."""
    folder = tmp_path_factory.mktemp("damaged")
    statistics.write_statistics(damaged_stats, str(folder / "statistics"))
    schemas.write_schema(schemas.infer_schema(stats["train"]), str(folder / "schema.pbtxt"))
    return folder


DAMAGED_ERROR = (
    "TFDV found 4 anomalies: 'Class' in test (Unexpected string values); "
    "'Area' differs between train and validation (High approximate Jensen-Shannon divergence between training and "
    "serving); 'Solidity' differs between train and validation (serving data missing); 'Solidity' in validation "
    "(Column dropped); "
    "fix the data or curate the schema (--schema-file), or pass --no-fail-on-anomalies to go on."
)


def test_the_validate_step_fails_on_anomalies_after_writing_its_report(damaged_folder, tmp_path):
    from kfx import data_steps

    with pytest.raises(AnomaliesFound) as caught:
        data_steps.validate_statistics(
            str(damaged_folder / "statistics"),
            str(damaged_folder / "schema.pbtxt"),
            str(tmp_path / "anomalies"),
            str(tmp_path / "report.md"),
            skew_threshold=0.1,
            drift_threshold=0.15,
            fail_on_anomalies=True,
        )
    assert str(caught.value) == DAMAGED_ERROR and caught.value.exit_code == 3
    # What was found is kept for the reader even though the step failed.
    assert "**4 anomalies found.**" in (tmp_path / "report.md").read_text()
    assert sorted(os.listdir(tmp_path / "anomalies")) == ["Split-test", "Split-train", "Split-validation"]


def test_with_fail_on_anomalies_off_the_step_reports_and_goes_on(damaged_folder, tmp_path):
    from kfx import data_steps

    result = data_steps.validate_statistics(
        str(damaged_folder / "statistics"),
        str(damaged_folder / "schema.pbtxt"),
        str(tmp_path / "anomalies"),
        str(tmp_path / "report.md"),
        skew_threshold=0.1,
        drift_threshold=0.15,
        fail_on_anomalies=False,
    )
    assert result["anomalies"] == 4
    assert [(f["split"], f["feature"], f["short"]) for f in result["findings"]] == [
        ("test", "Class", "Unexpected string values"),
        ("train", "Area", "High approximate Jensen-Shannon divergence between training and serving"),
        ("train", "Solidity", "serving data missing"),
        ("validation", "Solidity", "Column dropped"),
    ]
    report = (tmp_path / "report.md").read_text()
    assert (
        "Checked splits: test, train, validation; skew threshold train vs. validation: 0.1 plus a noise term "
        "per feature for the rows compared (see Thresholds)."
    ) in report
    assert [f["check"] for f in result["findings"]] == ["schema", "skew", "skew", "schema"]


def test_the_skew_threshold_reaches_the_skew_check(damaged_folder, tmp_path):
    from kfx import data_steps

    # The default, 0.15, catches Area measured three times larger in validation.
    default = data_steps.validate_statistics(
        str(damaged_folder / "statistics"),
        str(damaged_folder / "schema.pbtxt"),
        str(tmp_path / "d"),
        str(tmp_path / "d.md"),
        Config().skew_threshold,
        Config().drift_threshold,
        fail_on_anomalies=False,
    )
    assert ("train", "Area") in {(f["split"], f["feature"]) for f in default["findings"]}
    assert "skew threshold train vs. validation: 0.15 plus a noise term" in (tmp_path / "d.md").read_text()

    loose = data_steps.validate_statistics(
        str(damaged_folder / "statistics"),
        str(damaged_folder / "schema.pbtxt"),
        str(tmp_path / "a"),
        str(tmp_path / "r.md"),
        skew_threshold=0.99,
        drift_threshold=0.15,
        fail_on_anomalies=False,
    )
    assert [(f["split"], f["feature"]) for f in loose["findings"]] == [
        ("test", "Class"),
        ("train", "Solidity"),
        ("validation", "Solidity"),
    ]


def test_anomalies_raise_one_sentence_inside_a_task_or_not(damaged_folder, tmp_path, monkeypatch):
    # Inside a task the component's command (kfx.executor) prints it as one kfx-error line and exits 3
    # (tests/components/test_validate_statistics.py runs it so); the step itself only raises.
    from kfx import data_steps

    for runtime in ("true", "false"):
        monkeypatch.setenv("_KFP_RUNTIME", runtime)
        with pytest.raises(AnomaliesFound) as caught:
            data_steps.validate_statistics(
                str(damaged_folder / "statistics"),
                str(damaged_folder / "schema.pbtxt"),
                str(tmp_path / "anomalies"),
                str(tmp_path / "report.md"),
                skew_threshold=0.1,
                drift_threshold=0.15,
                fail_on_anomalies=True,
            )
        assert str(caught.value) == DAMAGED_ERROR and caught.value.exit_code == 3


def test_skew_comparators_by_feature_kind():
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = text_format.Parse(
        # The feature that has a comparator comes first: the ones after it still get theirs.
        'feature { name: "kept" type: FLOAT skew_comparator { infinity_norm { threshold: 0.5 } } } '
        'feature { name: "f" type: FLOAT } feature { name: "i" type: INT } '
        'feature { name: "b" type: INT bool_domain {} } feature { name: "s" type: BYTES }',
        schema_pb2.Schema(),
    )
    result = {f.name: f.skew_comparator for f in comparators.with_skew_comparators(schema, 0.2).feature}
    assert result["f"].jensen_shannon_divergence.threshold == pytest.approx(0.2)
    assert result["i"].jensen_shannon_divergence.threshold == pytest.approx(0.2)
    assert result["b"].infinity_norm.threshold == pytest.approx(0.2) and not result["b"].HasField(
        "jensen_shannon_divergence"
    )
    assert result["s"].infinity_norm.threshold == pytest.approx(0.2)
    assert result["kept"].infinity_norm.threshold == 0.5 and not result["kept"].HasField("jensen_shannon_divergence")
    # The schema passed in is not changed.
    assert not any(f.HasField("skew_comparator") for f in schema.feature if f.name != "kept")


def test_skew_is_checked_only_against_the_named_split(stats, damaged_stats):
    schema = schemas.infer_schema(stats["train"])
    without_validation = {k: v for k, v in damaged_stats.items() if k != "validation"}
    found = validation.findings(validation.validate_splits(without_validation, schema, skew_threshold=0.1))
    assert [(f.split, f.feature) for f in found] == [("test", "Class")]
    against_test = validation.findings(
        validation.validate_splits(damaged_stats, schema, skew_threshold=0.1, compare_to="test")
    )
    assert ("train", "Area") not in {(f.split, f.feature) for f in against_test}


def test_a_dataset_level_anomaly_is_a_finding_of_its_own(stats):
    schema = schemas.infer_schema(stats["train"])
    schema.dataset_constraints.min_examples_count = 10**9
    found = validation.findings(validation.validate_splits({"test": stats["test"]}, schema, Config().skew_threshold))
    assert found == [
        validation.Finding(
            "test",
            "(dataset)",
            "Low num examples in dataset.",
            "The dataset has 1362 examples, which is fewer than expected.",
        )
    ]


def test_report_text_and_escaping():
    found = [validation.Finding("train", "x", "Odd", "a|b\nc"), validation.Finding("test", "y", "New", "z", "drift")]
    assert validation_report.report_markdown(found, ["train", "test"], 0.15) == (
        "# Data validation\n"
        "\n"
        "Checked splits: train, test; skew threshold train vs. validation: 0.15.\n"
        "\n"
        "**2 anomalies found.**\n"
        "\n"
        "| split | feature | check | anomaly | details |\n"
        "|---|---|---|---|---|\n"
        "| train | x | schema | Odd | a\\|b c |\n"
        "| test | y | drift | New | z |\n"
    )
    assert validation_report.report_markdown([], ["train", "test"], 0.2) == (
        "# Data validation\n\nChecked splits: train, test; skew threshold train vs. validation: 0.2.\n\n"
        "No anomalies found: every split matches the schema and no feature is skewed.\n"
    )
    assert found[0].to_dict() == {
        "split": "train",
        "feature": "x",
        "short": "Odd",
        "description": "a|b\nc",
        "check": "schema",
    }


def test_a_damaged_statistics_file_is_named(stats, tmp_path):
    from kfx.errors import SourceError

    statistics.write_statistics({"train": stats["train"]}, str(tmp_path))
    path = tmp_path / "Split-train" / "stats.tfrecord"
    good = path.read_bytes()
    for damaged in (
        good[:-1] + bytes([good[-1] ^ 1]),
        good[:20] + bytes([good[20] ^ 1]) + good[21:],
        good[:-10],
        good[:5],
        b"",
    ):
        path.write_bytes(damaged)
        with pytest.raises(SourceError) as caught:
            statistics.load_statistics(str(tmp_path))
        assert str(caught.value) == (
            f"Statistics file {str(path)!r} is damaged (bad TFRecord framing); compute the statistics again."
        )
    assert statistics.from_tfrecord(statistics.to_tfrecord(b"abc")) == b"abc"
    assert statistics.to_tfrecord(b"") == bytes(8) + statistics._masked_crc(bytes(8)) + statistics._masked_crc(b"")


def test_a_schema_with_no_features_is_refused(tmp_path):
    from kfx import data_steps

    for text in ("", "# a comment only\n", 'string_domain { name: "x" value: "a" }\n'):
        path = tmp_path / "empty.pbtxt"
        path.write_text(text)
        with pytest.raises(ConfigError) as caught:
            schemas.load_schema(str(path))
        assert str(caught.value) == (
            f"Schema file {str(path)!r} declares no features; pass a schema with at least one feature."
        )
    with pytest.raises(ConfigError, match="declares no features"):
        data_steps.infer_schema(str(tmp_path / "statistics"), str(tmp_path / "out" / "schema.pbtxt"), str(path))
    assert not (tmp_path / "out").exists()


def test_a_curated_schema_is_copied_as_is(stats, tmp_path):
    from kfx import data_steps

    curated = tmp_path / "curated.pbtxt"
    curated.write_text("# curated by hand\n" + schemas.schema_text(schemas.infer_schema(stats["train"])))
    result = data_steps.infer_schema(str(tmp_path / "none"), str(tmp_path / "schema.pbtxt"), str(curated))
    assert result == {"features": 17, "curated": True}
    assert (tmp_path / "schema.pbtxt").read_text() == curated.read_text()


def test_the_schema_step_infers_from_train(stats, tmp_path):
    from kfx import data_steps

    statistics.write_statistics(stats, str(tmp_path / "statistics"))
    result = data_steps.infer_schema(str(tmp_path / "statistics"), str(tmp_path / "schema.pbtxt"))
    assert result == {"features": 17, "curated": False}
    assert schemas.load_schema(str(tmp_path / "schema.pbtxt")) == schemas.infer_schema(stats["train"])


def test_splits_are_checked_for_drift_against_the_previous_training_statistics(stats, damaged_stats):
    """validate_splits hands the previous training split and the drift threshold on: Area three times larger
    in this run's validation split is drift when that split's statistics stand for the previous training data."""
    schema = schemas.infer_schema(stats["train"])
    anomalies = validation.validate_splits(
        stats, schema, skew_threshold=1.0, previous=damaged_stats["validation"], drift_threshold=0.1
    )
    found = {(f.split, f.feature, f.check) for f in validation.findings(anomalies)}
    assert ("train", "Area", validation.DRIFT) in found
    assert validation.findings(validation.validate_splits(stats, schema, skew_threshold=1.0)) == []
