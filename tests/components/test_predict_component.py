"""predict: each row of a table predicted by a registry version, and the accuracy when the label is there.

(Named apart from tests/test_predict.py, which runs ``kfx predict``: pytest needs distinct module names.)
"""

import pandas as pd
from kfp.dsl import Dataset

from kfx import components, scoring


def test_plain_function_writes_the_rows_then_the_prediction_model_and_version(registered, upstream, tmp_path):
    out = tmp_path / "predictions.csv"
    result = scoring.predict(registered.labelled, registered.reference, str(out))
    # The test split scored again: the accuracy evaluation measured on the same rows.
    assert result == {
        "rows": 60,
        "model_name": "beans",
        "version": "1",
        "label_column": "Class",
        "prediction_column": "predicted_Class",
        "labelled": True,
        "labelled_rows": 60,
        "accuracy": upstream.evaluation["accuracy"],
        "macro_f1": upstream.evaluation["macro_f1"],
    }
    written = pd.read_csv(out)
    source = pd.read_csv(registered.labelled)
    assert list(written.columns) == [*source.columns, "predicted_Class", "model_name", "model_version"]
    assert written[source.columns].equals(source)
    assert set(written["model_name"]) == {"beans"} and set(written["model_version"]) == {1}
    assert (written["predicted_Class"] == written["Class"]).mean() == upstream.evaluation["accuracy"]
    # The cells are the table's own text, not numbers printed again.
    assert out.read_text().splitlines()[1].startswith(open(registered.labelled).read().splitlines()[1] + ",")


def test_plain_function_predicts_a_table_without_the_label_alike(registered, tmp_path):
    labelled = scoring.predict(registered.labelled, registered.reference, str(tmp_path / "a.csv"))
    unlabelled = scoring.predict(registered.unlabelled, registered.reference, str(tmp_path / "b.csv"))
    assert unlabelled == {k: v for k, v in labelled.items() if k not in ("labelled_rows", "accuracy", "macro_f1")} | {
        "labelled": False
    }
    assert pd.read_csv(tmp_path / "b.csv")["predicted_Class"].equals(pd.read_csv(tmp_path / "a.csv")["predicted_Class"])


def test_python_func_records_the_version_in_the_predictions_metadata(registered, new_artifact, tmp_path):
    predictions = new_artifact(Dataset, "predictions")
    data = Dataset(name="scoring_data", uri=registered.unlabelled, metadata={})
    assert components.predict.python_func(
        scoring_data=data, registered_model=registered.reference_artifact(tmp_path), predictions=predictions
    ) == (60,)
    assert predictions.metadata == {
        "format": "csv",
        "model_uri": registered.uri,
        "rows": 60,
        "model_name": "beans",
        "version": "1",
        "label_column": "Class",
        "prediction_column": "predicted_Class",
        "labelled": False,
    }


def test_kfp_local_run(kfp_local, registered, tmp_path):
    from kfp.dsl import Artifact

    outputs = kfp_local.run(
        components.predict,
        {
            "scoring_data": Dataset(name="scoring_data", uri=registered.unlabelled, metadata={}),
            "registered_model": registered.reference_artifact(tmp_path),
        },
    )
    assert outputs["predicted_rows"] == 60
    assert outputs["predictions"].metadata["version"] == "1"
    assert len(pd.read_csv(outputs["predictions"].path)) == 60
    assert isinstance(outputs["predictions"], Artifact)


def test_compiled_interface_round_trips(round_trip):
    round_trip(components.predict, set())


def test_plain_function_refuses_a_registry_version_whose_model_changed_after_its_push(registered, tmp_path):
    """predict loads a version only after its files match the manifest its push wrote."""
    import shutil

    import pytest

    from kfx.errors import RegistryError

    copy = tmp_path / "registry"
    shutil.copytree(registered.registry, copy)
    uri = str(copy / "beans" / "v1")
    with open(f"{uri}/model.joblib", "ab") as f:
        f.write(b"\0")
    with pytest.raises(RegistryError, match="model.joblib"):
        scoring.predict(registered.labelled, {**registered.reference, "uri": uri}, str(tmp_path / "p.csv"))
    assert not (tmp_path / "p.csv").exists()


def test_plain_function_measures_macro_f1_over_every_class_the_model_knows(registered, tmp_path):
    """A labelled table of one class: macro-F1 counts the model's other classes too (as zero), as evaluation does."""
    import json

    from kfx.metrics import classification_metrics

    source = pd.read_csv(registered.labelled)
    one_class = source[source["Class"] == source["Class"].iloc[0]]
    table = tmp_path / "one_class.csv"
    one_class.to_csv(table, index=False)
    result = scoring.predict(str(table), registered.reference, str(tmp_path / "p.csv"))
    predicted = pd.read_csv(tmp_path / "p.csv")["predicted_Class"]
    classes = json.loads(open(f"{registered.uri}/model_metadata.json").read())["classes"]
    expected = classification_metrics(one_class["Class"], predicted, labels=classes)
    assert result["labelled_rows"] == len(one_class)
    assert result["macro_f1"] == expected["macro_f1"]
    assert result["macro_f1"] != classification_metrics(one_class["Class"], predicted)["macro_f1"]


def test_plain_function_measures_a_regressor_on_the_rows_that_have_a_label(tmp_path):
    """A regression version: the predictions file holds the numbers the model answered; RMSE, MAE and R² are
    measured on the labelled rows only."""
    import json

    import joblib
    import numpy as np
    from sklearn.linear_model import Ridge

    from kfx import registry
    from kfx.metrics import regression_metrics

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 2)), columns=["a", "b"])
    frame["y"] = 3 * frame["a"] - frame["b"] + rng.normal(scale=0.5, size=40)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    fitted = Ridge().fit(frame[["a", "b"]].to_numpy(), frame["y"])
    metadata = {"contract_version": 1, "task": "regression", "label_column": "y", "features": ["a", "b"]}
    (model_dir / "model_metadata.json").write_text(json.dumps(metadata))
    joblib.dump(fitted, model_dir / "model.joblib")
    registry.push_model(str(model_dir), str(tmp_path / "registry"), "ridge", {"blessed": True})
    reference = registry.resolve(str(tmp_path / "registry"), "ridge", required=True)
    table = frame.astype({"y": object})
    table.loc[3, "y"] = None  # one row without its label
    table.to_csv(tmp_path / "score.csv", index=False)
    result = scoring.predict(str(tmp_path / "score.csv"), reference, str(tmp_path / "p.csv"))
    written = pd.read_csv(tmp_path / "p.csv")
    assert np.allclose(written["predicted_y"], fitted.predict(frame[["a", "b"]].to_numpy()))
    has = frame.index != 3
    expected = regression_metrics(frame["y"][has], written["predicted_y"][has])
    assert result["labelled_rows"] == 39
    assert {k: result[k] for k in ("rmse", "mae", "r2")} == {k: expected[k] for k in ("rmse", "mae", "r2")}
    assert "accuracy" not in result
