"""The local pipeline on a table as real tables arrive: empty cells, a text column and an ID column
(``benchmarks/make_tables.py``'s beans_messy)."""

import importlib.util
import io
import json
import os

import numpy as np
import pytest

from kfx.config import Config
from kfx.local import run_local
from kfx.summary import format_summary

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_tables():
    spec = importlib.util.spec_from_file_location("make_tables", os.path.join(REPO, "benchmarks", "make_tables.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def messy_table(beans):
    return make_tables().messy(beans)


def _check_the_model_predicts_empty_cells(summary):
    import joblib

    model = joblib.load(os.path.join(summary["push"]["uri"], "model.joblib"))
    meta = json.load(open(os.path.join(summary["push"]["uri"], "model_metadata.json")))
    instance = [None if f in ("Origin", "Area", "Perimeter") else 1.0 for f in meta["features"]]
    instance[meta["features"].index("ConvexArea")] = 50000.0
    predicted = model.predict(np.asarray(json.loads(json.dumps([instance]))))
    assert predicted[0] in meta["classes"]


@pytest.mark.e2e
def test_a_sample_of_the_messy_table_trains_gradient_boosting_above_a_small_switch_point(messy_table, tmp_path):
    from kfx import splitting

    source = tmp_path / "messy.csv"
    splitting.stratified_sample(messy_table, "Class", 600, seed=42).to_csv(source, index=False)
    out = io.StringIO()
    config = Config(
        source=str(source), runs_dir=str(tmp_path / "runs"), record_lineage=False, svm_max_rows=100, min_accuracy=0.8
    )
    result = run_local(config, out=out)
    assert result.status == "complete", result.summary.get("error")
    model = result.summary["model"]
    assert (model["estimator"], model["train_rows"], model["svm_max_rows"]) == ("hist_gradient_boosting", 479, 100)
    assert model["id_columns"] == ["BeanId"] and model["blessed"] is True
    text = format_summary(result.summary)
    assert "  trainer     hist_gradient_boosting on 479 training rows (> svm_max_rows 100)" in text
    assert "            left out ID-like column(s) BeanId: nearly one value per row" in text
    _check_the_model_predicts_empty_cells(result.summary)


@pytest.mark.slow
def test_the_whole_messy_table_is_blessed_with_the_svc(messy_table, tmp_path):
    source = tmp_path / "beans_messy.csv"
    messy_table.to_csv(source, index=False)
    result = run_local(
        Config(source=str(source), runs_dir=str(tmp_path / "runs"), record_lineage=False), out=io.StringIO()
    )
    assert result.status == "complete", result.summary.get("error")
    model = result.summary["model"]
    assert (model["estimator"], model["train_rows"], model["id_columns"]) == ("svc", 10887, ["BeanId"])
    assert model["blessed"] is True and model["test_accuracy"] >= 0.93
    _check_the_model_predicts_empty_cells(result.summary)
