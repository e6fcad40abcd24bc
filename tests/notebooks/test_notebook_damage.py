"""kfx.course.damage: damaged copies of a table, and what TFDV reports on them."""

from __future__ import annotations

import pytest

from kfx.course import damage
from kfx.errors import DataError


def test_new_category_sets_a_share_of_rows_and_leaves_the_input_alone(beans_sample):
    before = beans_sample.copy()
    out = damage.with_new_category(beans_sample, "Class", "PINTO", share=0.05, seed=0)
    assert (out["Class"] == "PINTO").sum() == round(len(beans_sample) * 0.05) == 30
    assert (out["Class"] != beans_sample["Class"]).sum() == 30
    assert beans_sample.equals(before)
    again = damage.with_new_category(beans_sample, "Class", "PINTO", share=0.05, seed=0)
    assert again.equals(out)


def test_new_category_refuses_a_value_already_present(beans_sample):
    with pytest.raises(DataError, match="'SIRA' already occurs in 'Class'"):
        damage.with_new_category(beans_sample, "Class", "SIRA")


def test_without_column_drops_it(beans_sample):
    out = damage.without_column(beans_sample, "Solidity")
    assert list(out.columns) == [c for c in beans_sample.columns if c != "Solidity"]
    with pytest.raises(DataError, match="Column 'Nope' is not in the table"):
        damage.without_column(beans_sample, "Nope")


def test_drift_scales_and_keeps_an_integer_column_integer(beans_sample):
    out = damage.with_drift(beans_sample, "Area", 1.5)
    assert out["Area"].dtype == beans_sample["Area"].dtype
    assert out["Area"].iloc[0] == round(beans_sample["Area"].iloc[0] * 1.5)
    floats = damage.with_drift(beans_sample, "Solidity", 2.0)
    assert floats["Solidity"].iloc[0] == pytest.approx(beans_sample["Solidity"].iloc[0] * 2)
    with pytest.raises(DataError, match="'Class' is not numeric"):
        damage.with_drift(beans_sample, "Class", 2.0)


def test_tfdv_finds_each_kind_of_damage(sample_frames, sample_stats):
    from kfx import schema as schemas
    from kfx import statistics, tfdv_core

    schema = schemas.infer_schema(sample_stats["train"])
    damaged = damage.damaged_copy(sample_frames["validation"])
    stats = statistics.compute_statistics({"damaged": damaged})["damaged"]
    found = tfdv_core.validate_statistics(stats, schema)
    assert {k: v.short_description for k, v in found.anomaly_info.items()} == {
        "Class": "Unexpected string values",
        "Solidity": "Column dropped",
    }
    for feature in schema.feature:
        if feature.name == "Area":
            feature.drift_comparator.jensen_shannon_divergence.threshold = 0.1
    drift = tfdv_core.validate_statistics(stats, schema, previous_statistics=sample_stats["train"])
    assert drift.anomaly_info["Area"].short_description.startswith("High approximate Jensen-Shannon divergence")


def test_drift_in_rows_scales_every_other_row_only(beans_sample):
    before = beans_sample.copy()
    out = damage.with_drift_in_rows(beans_sample, "Perimeter", 10.0)
    ratio = out["Perimeter"] / beans_sample["Perimeter"]
    assert list(ratio.iloc[:4].round(6)) == [10.0, 1.0, 10.0, 1.0]
    assert (ratio.round(6) == 10.0).sum() == 300 and (ratio == 1.0).sum() == len(beans_sample) - 300
    assert out.drop(columns="Perimeter").equals(beans_sample.drop(columns="Perimeter"))
    assert beans_sample.equals(before)
    with pytest.raises(DataError, match="every is 0; pass 1"):
        damage.with_drift_in_rows(beans_sample, "Perimeter", every=0)
    with pytest.raises(DataError, match="'Class' is not numeric"):
        damage.with_drift_in_rows(beans_sample, "Class")
