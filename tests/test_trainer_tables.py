"""The trainer on real tables: empty cells, text columns, ID columns, values it never saw, and
the model it chooses by the number of training rows."""

import io
import json
import os
import pickle
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from kfx.errors import ConfigError, DataError
from kfx_trainer import task
from kfx_trainer.model import MISSING, to_matrix


def contract(splits, model_dir):
    return {
        "AIP_MODEL_DIR": str(model_dir),
        "AIP_DATA_FORMAT": "csv",
        "AIP_TRAINING_DATA_URI": splits["train"],
        "AIP_VALIDATION_DATA_URI": splits["validation"],
        "AIP_TEST_DATA_URI": splits["test"],
    }


def messy(frame: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """``frame`` as real tables arrive: empty Area / Perimeter cells, a text column with empty
    cells and an ID column (what ``benchmarks/make_tables.py`` does to the whole table)."""
    rng = np.random.default_rng(seed)
    frame = frame.copy()
    for column in ("Area", "Perimeter"):
        frame[column] = frame[column].astype(float)
        frame.loc[rng.random(len(frame)) < 0.1, column] = np.nan
    origin = rng.choice(np.array(["farm-a", "farm-b", "farm-c"], dtype=object), len(frame))
    origin[rng.random(len(frame)) < 0.1] = None
    frame.insert(0, "Origin", origin)
    frame.insert(0, "BeanId", [f"bean-{i:06d}" for i in rng.permutation(len(frame))])
    return frame


@pytest.fixture(scope="module")
def messy_splits(sample_splits, tmp_path_factory):
    folder = tmp_path_factory.mktemp("messy")
    paths = {}
    for offset, (split, path) in enumerate(sample_splits.items()):
        paths[split] = str(folder / f"{split}.csv")
        messy(pd.read_csv(path), seed=offset).to_csv(paths[split], index=False)
    return paths


@pytest.fixture(scope="module", params=[30000, 0], ids=["svc", "boosting"])
def messy_model(request, messy_splits, tmp_path_factory):
    """The trainer's model of the messy sample: the SVC (479 rows <= 30000) and gradient boosting (svm_max_rows 0)."""
    folder = tmp_path_factory.mktemp("model")
    metrics = task.main(["--svm-max-rows", str(request.param)], environ=contract(messy_splits, folder))
    meta = json.loads((folder / "model_metadata.json").read_text())
    return joblib.load(folder / "model.joblib"), meta, metrics


def test_the_messy_table_is_read_as_it_was_written(messy_splits):
    train = pd.read_csv(messy_splits["train"])
    assert train["Area"].isna().sum() > 0 and train["Origin"].isna().sum() > 0
    assert train["BeanId"].nunique() == len(train) == 479


def test_an_id_column_is_left_out_and_recorded(messy_model):
    model, meta, metrics = messy_model
    assert meta["id_columns"] == ["BeanId"] and "BeanId" not in meta["features"]
    assert meta["features"][:2] == ["Origin", "Area"] and len(meta["features"]) == 17
    assert meta["categorical"] == ["Origin"]
    assert "90%" in meta["id_rule"]
    assert model.n_features_in_ == 17
    assert metrics["test"]["accuracy"] > 0.8


def test_rows_with_empty_cells_get_predictions_as_vertex_ai_sends_them(messy_model, messy_splits):
    model, meta, _ = messy_model
    rows = pd.read_csv(messy_splits["test"]).iloc[:4]
    instances = to_matrix(rows, meta["features"]).tolist()
    instances[0][1] = None  # Area: JSON null
    instances[1][0] = None  # Origin: JSON null
    instances[2][1:3] = [None, None]  # Area and Perimeter
    # The request body is JSON; Vertex AI's scikit-learn predictor hands the model np.asarray(instances).
    body = json.loads(json.dumps({"instances": instances}))
    array = np.asarray(body["instances"])
    assert array.dtype == object and array[0][1] is None
    predicted = model.predict(array)
    assert len(predicted) == 4 and set(predicted) <= set(meta["classes"])
    # None and NaN are the same missing value to the model.
    with_nan = np.asarray(body["instances"], dtype=object)
    with_nan[0][1] = float("nan")
    with_nan[1][0] = float("nan")
    with_nan[2][1:3] = [float("nan"), float("nan")]
    assert list(model.predict(with_nan)) == list(predicted)


def test_an_empty_number_becomes_the_training_median_inside_the_model(messy_model, messy_splits):
    model, meta, _ = messy_model
    train = pd.read_csv(messy_splits["train"])
    row = pd.read_csv(messy_splits["test"]).iloc[:1]
    empty = to_matrix(row, meta["features"])
    empty[0][1] = None
    median = to_matrix(row.assign(Area=train["Area"].median()), meta["features"])
    assert np.allclose(model[0].transform(empty).astype(float), model[0].transform(median).astype(float))


def test_an_empty_text_cell_is_a_category_of_its_own_and_an_unseen_one_no_error(messy_model, messy_splits):
    model, meta, _ = messy_model
    row = pd.read_csv(messy_splits["test"]).iloc[:1]
    encoder = model[0].named_transformers_["categorical"][-1]
    assert list(encoder.categories_[0]) == [MISSING, "farm-a", "farm-b", "farm-c"]
    for value in (None, float("nan"), "farm-z"):
        matrix = to_matrix(row.assign(Origin=value), meta["features"])
        assert model.predict(matrix)[0] in meta["classes"]

    def onehot(value):
        return model[0].transform(to_matrix(row.assign(Origin=value), meta["features"]))[0][-4:].tolist()

    assert onehot(None) == onehot(float("nan")) == [1.0, 0.0, 0.0, 0.0]
    assert onehot("farm-z") == [0.0, 0.0, 0.0, 0.0]


def test_simple_imputer_alone_leaves_none_in_place():
    """Why the model's text columns go through two imputers: the default one misses JSON nulls."""
    from sklearn.impute import SimpleImputer

    column = np.array([["a"], [None], [float("nan")]], dtype=object)
    filled = SimpleImputer(strategy="constant", fill_value=MISSING).fit_transform(column)
    assert filled[1][0] is None and filled[2][0] == MISSING


def test_a_numeric_model_takes_a_null_in_a_request(sample_splits, tmp_path):
    task.main([], environ=contract(sample_splits, tmp_path))
    model = joblib.load(tmp_path / "model.joblib")
    meta = json.loads((tmp_path / "model_metadata.json").read_text())
    instances = to_matrix(pd.read_csv(sample_splits["test"]).iloc[:2], meta["features"]).tolist()
    instances[0][0] = None
    array = np.asarray(json.loads(json.dumps(instances)))
    assert array.dtype == object
    assert set(model.predict(array)) <= set(meta["classes"])


def test_boosting_above_the_switch_point_and_the_svc_up_to_it(sample_splits, tmp_path):
    above = task.main(
        ["--svm-max-rows", "478", "--boosting-max-iter", "15"], environ=contract(sample_splits, tmp_path / "a")
    )
    meta = json.loads((tmp_path / "a" / "model_metadata.json").read_text())
    assert meta["model"]["estimator"] == "hist_gradient_boosting"
    assert meta["model"]["class"] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert (meta["model"]["train_rows"], meta["model"]["svm_max_rows"]) == (479, 478)
    final = joblib.load(tmp_path / "a" / "model.joblib")[-1]
    assert type(final).__name__ == "HistGradientBoostingClassifier" and final.max_iter == 15
    assert meta["model"]["boosting_rounds"] == final.n_iter_ <= 15
    assert above["test"]["accuracy"] > 0.8

    task.main(["--svm-max-rows", "479"], environ=contract(sample_splits, tmp_path / "b"))
    meta = json.loads((tmp_path / "b" / "model_metadata.json").read_text())
    assert meta["model"] == {
        "estimator": "svc",
        "class": "sklearn.svm.SVC",
        "train_rows": 479,
        "svm_max_rows": 479,
        "rule": "the exact RBF SVC up to svm_max_rows training rows, histogram gradient boosting above",
    }
    assert type(joblib.load(tmp_path / "b" / "model.joblib")[-1]).__name__ == "SVC"


def _modules(model) -> set[str]:
    """The modules of every class and function a pickle of ``model`` names."""
    found = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            found_class = super().find_class(module, name)
            # Cython classes name their module by its short name (scikit-learn's "_loss"); the
            # module loaded under that name says which package it belongs to.
            found.add(sys.modules[module].__name__.split(".")[0])
            return found_class

    Recorder(io.BytesIO(pickle.dumps(model))).load()
    return found


def test_the_saved_model_holds_only_library_classes(messy_model):
    """Vertex AI's prebuilt image has scikit-learn and its dependencies, not kfx or the trainer."""
    model, _, _ = messy_model
    assert _modules(model) <= {"sklearn", "numpy", "builtins", "copyreg", "_codecs"}


def test_id_like_means_text_with_distinct_values_in_most_filled_cells():
    from kfx_trainer.model import id_like_columns

    n = 100
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "near_id": [f"r{i}" for i in range(90)] + ["r0"] * 10,  # 90 distinct of 100: ID-like
            "below": [f"r{i}" for i in range(89)] + ["r0"] * 11,  # 89 distinct of 100: kept
            "sparse_id": [f"r{i}" for i in range(20)] + [None] * 80,  # distinct in every filled cell
            "farm": ["a", "b"] * 50,
            "number": [i * 1.5 for i in range(n)],  # distinct, but a measurement
            "empty": [None] * n,
        }
    )
    assert id_like_columns(frame, list(frame.columns)) == ["id", "near_id", "sparse_id"]


def test_a_table_of_only_id_columns_is_named(tmp_path):
    frame = pd.DataFrame({"BeanId": [f"b{i}" for i in range(40)], "Class": ["A", "B"] * 20})
    paths = {}
    for split in ("train", "validation", "test"):
        paths[split] = str(tmp_path / f"{split}.csv")
        frame.to_csv(paths[split], index=False)
    with pytest.raises(DataError) as caught:
        task.main([], environ=contract(paths, tmp_path / "m"))
    assert str(caught.value) == (
        "The training data has no feature column besides the label 'Class' and the ID-like column(s) BeanId "
        "(>= 90% distinct); pass a table with columns that describe the rows."
    )


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--svm-max-rows", "-1"], "--svm-max-rows is -1; pass 0 (always gradient boosting) or a row count."),
        (["--boosting-learning-rate", "0"], "--boosting-learning-rate is 0.0; pass a positive number such as 0.1."),
        (["--boosting-max-iter", "0"], "--boosting-max-iter is 0; pass a positive number of rounds such as 100."),
    ],
)
def test_a_hyperparameter_no_model_takes_is_named_before_any_data_is_read(option, message, tmp_path):
    missing = {split: str(tmp_path / "none.csv") for split in ("train", "validation", "test")}
    with pytest.raises(ConfigError) as caught:
        task.main(option, environ=contract(missing, tmp_path / "m"))
    assert str(caught.value) == message
    assert not (tmp_path / "m").exists()


def test_share_cores_keeps_a_setting_already_made(monkeypatch):
    from kfx_trainer.model import share_cores

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    share_cores()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    share_cores()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
