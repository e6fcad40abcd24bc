"""Size-aware skew and drift thresholds (kfx.thresholds, kfx.validation) on real TFDV statistics of real tables.

Small tables come from scikit-learn's bundled ones (no download), split as the pipeline splits
(stratified 0.8 / 0.1 / 0.1 with Config's seed); ``benchmarks/bench_thresholds.py`` measures the
same over 20 seeds per table.
"""

import math

import pytest

from kfx import comparators, statistics, thresholds, validation, validation_report
from kfx import schema as schemas
from kfx.config import Config
from kfx.errors import AnomaliesFound, ConfigError, SourceError

SHIFTED = "Perimeter"


@pytest.fixture(scope="module")
def tfdv():
    return statistics.import_tfdv()


def sklearn_table(name: str):
    """One of scikit-learn's bundled tables, its class names in ``target``."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    frame["target"] = [str(bunch.target_names[i]) for i in bunch.target]
    return frame


def split_stats(frame, label: str) -> dict:
    from kfx import splitting

    config = Config()
    return statistics.compute_statistics(splitting.stratified_split(frame, label, config.fractions, config.seed))


@pytest.fixture(scope="module")
def wine_stats(tfdv):
    return split_stats(sklearn_table("wine"), "target")


@pytest.fixture(scope="module")
def beans_stats(tfdv, beans):
    return split_stats(beans, "Class")


@pytest.fixture(scope="module")
def shifted_beans_stats(tfdv, beans):
    """Beans with Perimeter ten times larger in half its rows (drawn with seed 0)."""
    import numpy as np

    frame = beans.copy()
    rows = np.random.default_rng(0).permutation(len(frame))[: len(frame) // 2]
    frame.loc[rows, SHIFTED] = frame.loc[rows, SHIFTED] * 10
    return split_stats(frame, "Class")


@pytest.mark.parametrize("table", ["iris", "wine"])
def test_clean_splits_of_small_tables_pass_with_the_defaults(tfdv, table):
    stats = split_stats(sklearn_table(table), "target")
    schema = schemas.infer_schema(stats["train"])
    checked = validation.validate(stats, schema, Config().skew_threshold)
    assert validation.findings(checked.anomalies) == []
    # Every feature was compared and measured, each below its threshold.
    assert {c.feature for c in checked.comparisons} == {f.name for f in schema.feature}
    assert all(c.check == "skew" and c.measured is not None and not c.exceeded for c in checked.comparisons)


def test_one_fixed_threshold_flags_most_of_wine(wine_stats):
    """What the size-aware thresholds replace: 0.15 for every feature flags a clean split of wine."""
    schema = schemas.infer_schema(wine_stats["train"])
    fixed = comparators.with_skew_comparators(schema, Config().skew_threshold)
    from kfx import tfdv_core

    anomalies = tfdv_core.validate_statistics(wine_stats["train"], fixed, serving_statistics=wine_stats["validation"])
    assert len(anomalies.anomaly_info) == 9  # of its 13 features (and the label)


def test_the_threshold_widens_for_a_small_table_and_the_report_says_why(wine_stats, beans_stats):
    config = Config()
    wine = validation.validate(wine_stats, schemas.infer_schema(wine_stats["train"]), config.skew_threshold)
    beans = validation.validate(beans_stats, schemas.infer_schema(beans_stats["train"]), config.skew_threshold)
    alcohol = next(c for c in wine.comparisons if c.feature == "alcohol")
    area = next(c for c in beans.comparisons if c.feature == "Area")
    assert (alcohol.rows, area.rows) == ((142, 18), (10887, 1362))
    # 2 x 2 (10 - 1) / (8 ln 2) x (1/n + 1/m): the JS noise term of two 10-bucket histograms.
    assert alcohol.noise == pytest.approx(2 * 18 / (8 * math.log(2)) * (1 / 142 + 1 / 18))
    assert alcohol.threshold == pytest.approx(0.15 + 0.4064, abs=1e-4)
    # Beans' Area: chance in TFDV's own approximation (its long tail moves each side's bucket edges),
    # simulated, is above the closed form's 0.0054.
    assert area.threshold == pytest.approx(0.15 + 0.0226, abs=1e-4)
    assert alcohol.threshold > 3 * area.threshold

    report = validation_report.report_markdown(
        validation.findings(wine.anomalies), list(wine_stats), config.skew_threshold, wine.comparisons
    )
    assert "skew threshold train vs. validation: 0.15 plus a noise term per feature" in report
    assert "| alcohol | skew | Jensen-Shannon | " in report
    assert "| 0.5564 | 0.15 base + 0.4064 noise (142 train vs. 18 validation rows) |" in report
    assert "| target | skew | L-infinity | " in report
    beans_report = validation_report.report_markdown([], list(beans_stats), config.skew_threshold, beans.comparisons)
    assert "| 0.1726 | 0.15 base + 0.0226 noise (10887 train vs. 1362 validation rows) |" in beans_report


def test_a_shifted_feature_is_flagged_as_drift_naming_it(beans_stats, shifted_beans_stats, tmp_path):
    from kfx import data_steps

    config = Config()
    statistics.write_statistics(shifted_beans_stats, str(tmp_path / "statistics"))
    statistics.write_statistics({"train": beans_stats["train"]}, str(tmp_path / "champion"))
    schemas.write_schema(schemas.infer_schema(shifted_beans_stats["train"]), str(tmp_path / "schema.pbtxt"))
    args = (
        str(tmp_path / "statistics"),
        str(tmp_path / "schema.pbtxt"),
        str(tmp_path / "anomalies"),
        str(tmp_path / "report.md"),
        config.skew_threshold,
    )
    with pytest.raises(AnomaliesFound) as caught:
        data_steps.validate_statistics(*args, config.drift_threshold, True, str(tmp_path / "champion"))
    assert str(caught.value) == (
        "TFDV found 1 anomalies: 'Perimeter' drifted from the champion's training data (High approximate "
        "Jensen-Shannon divergence between current and previous); fix the data or curate the schema (--schema-file), "
        "or pass --no-fail-on-anomalies to go on."
    )

    result = data_steps.validate_statistics(*args, config.drift_threshold, False, str(tmp_path / "champion"))
    assert [(f["split"], f["feature"], f["check"]) for f in result["findings"]] == [("train", SHIFTED, "drift")]
    drift = {t["feature"]: t for t in result["thresholds"] if t["check"] == "drift"}
    assert len(drift) == 17 and drift[SHIFTED]["measured"] == pytest.approx(0.578, abs=0.005)
    assert drift[SHIFTED]["threshold"] == pytest.approx(0.1746, abs=1e-4)
    assert drift[SHIFTED]["why"] == "0.15 base + 0.0246 noise (10887 train vs. 10887 previous train rows)"
    assert all(t["measured"] < t["threshold"] for name, t in drift.items() if name != SHIFTED)
    report = (tmp_path / "report.md").read_text()
    assert "Drift threshold train vs. the previous training statistics: 0.15 plus a noise term" in report
    assert (
        "| train | Perimeter | drift | High approximate Jensen-Shannon divergence between current and previous |"
    ) in report
    assert "| Perimeter | drift | Jensen-Shannon | 0.57" in report and "**above** | 0.1746 |" in report


def test_clean_beans_has_not_drifted_from_its_own_training_statistics(beans_stats, shifted_beans_stats):
    config = Config()
    clean = validation.validate(
        beans_stats,
        schemas.infer_schema(beans_stats["train"]),
        config.skew_threshold,
        previous=beans_stats["train"],
        drift_threshold=config.drift_threshold,
    )
    assert validation.findings(clean.anomalies) == []
    assert {c.check for c in clean.comparisons} == {"skew", "drift"}
    assert all(c.measured == 0 for c in clean.comparisons if c.check == "drift")


def test_skew_and_drift_of_one_feature_are_two_findings(beans_stats, shifted_beans_stats):
    """The shifted training split against clean validation data is skewed and drifted at once."""
    stats = {"train": shifted_beans_stats["train"], "validation": beans_stats["validation"]}
    checked = validation.validate(
        stats,
        schemas.infer_schema(stats["train"]),
        Config().skew_threshold,
        previous=beans_stats["train"],
        drift_threshold=Config().drift_threshold,
    )
    found = [(f.feature, f.check, f.short) for f in validation.findings(checked.anomalies)]
    assert found == [
        (SHIFTED, "skew", "High approximate Jensen-Shannon divergence between training and serving"),
        (SHIFTED, "drift", "High approximate Jensen-Shannon divergence between current and previous"),
    ]


def test_noise_terms():
    assert thresholds.js_noise(100, 100, buckets=10) == pytest.approx(2 * 18 / (8 * math.log(2)) * 0.02)
    assert thresholds.js_noise(100, 100, buckets=20) == pytest.approx(2 * 38 / (8 * math.log(2)) * 0.02)
    assert thresholds.linf_noise(100, 100, share=0.5) == pytest.approx(3.5 * math.sqrt(0.25 * 0.02))
    assert thresholds.linf_noise(100, 100, share=0.9) < thresholds.linf_noise(100, 100, share=0.5)
    # More rows, less noise.
    assert thresholds.js_noise(10_000, 1_000) < thresholds.js_noise(1_000, 100) < thresholds.js_noise(100, 10)
    assert thresholds.js_noise(0, 10) == math.inf and thresholds.linf_noise(10, 0, 0.5) == math.inf
    nothing = thresholds.Comparison("x", "skew", thresholds.JS, 0.15, math.inf, (0, 10), ("train", "validation"))
    assert nothing.threshold == 1.0 and nothing.to_dict()["noise"] is None
    assert nothing.why() == "0.15 base; no values on one side (0 train vs. 10 validation rows)"
    big = thresholds.Comparison("x", "skew", thresholds.JS, 0.9, 0.2, (5, 5), ("train", "validation"))
    assert big.threshold == 1.0 and big.why().endswith(", capped at 1")


def test_a_comparator_in_the_schema_is_kept(wine_stats):
    schema = schemas.infer_schema(wine_stats["train"])
    curated = next(f for f in schema.feature if f.name == "alcohol")
    curated.skew_comparator.jensen_shannon_divergence.threshold = 0.01
    checked = validation.validate(wine_stats, schema, Config().skew_threshold)
    alcohol = next(c for c in checked.comparisons if c.feature == "alcohol")
    assert alcohol.curated and alcohol.threshold == pytest.approx(0.01) and alcohol.why() == "set in the schema"
    assert [(f.feature, f.check) for f in validation.findings(checked.anomalies)] == [("alcohol", "skew")]


def test_drift_needs_its_threshold_and_the_previous_training_statistics(beans_stats, tmp_path):
    from kfx import data_steps

    schema = schemas.infer_schema(beans_stats["train"])
    with pytest.raises(TypeError, match="drift_threshold"):
        validation.validate(beans_stats, schema, 0.15, previous=beans_stats["train"])
    statistics.write_statistics(beans_stats, str(tmp_path / "statistics"))
    statistics.write_statistics({"test": beans_stats["test"]}, str(tmp_path / "champion"))
    schemas.write_schema(schema, str(tmp_path / "schema.pbtxt"))
    with pytest.raises(SourceError) as caught:
        data_steps.validate_statistics(
            str(tmp_path / "statistics"),
            str(tmp_path / "schema.pbtxt"),
            str(tmp_path / "out" / "anomalies"),
            str(tmp_path / "out" / "report.md"),
            Config().skew_threshold,
            Config().drift_threshold,
            True,
            str(tmp_path / "champion"),
        )
    assert str(caught.value) == (
        f"Previous statistics folder {str(tmp_path / 'champion')!r} holds no Split-train/stats.tfrecord; "
        "pass the statistics folder of a registered model version."
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["skew_threshold", "drift_threshold"])
@pytest.mark.parametrize("value", [0.0, -0.1, 1.5])
def test_config_refuses_a_threshold_outside_0_to_1(name, value):
    with pytest.raises(ConfigError) as caught:
        Config().replace(**{name: value})
    assert str(caught.value) == f"{name} is {value}; pass a number above 0 and at most 1, such as 0.15."
    assert Config().replace(**{name: 1.0}).to_dict()[name] == 1.0
