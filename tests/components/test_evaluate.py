"""evaluate: the model scored on the test split, the confusion matrix, and the blessing."""

import pytest
from kfp.dsl import HTML, ClassificationMetrics, Metrics

from kfx import components, steps
from kfx.errors import SourceError


def _outputs(new_artifact):
    return {
        "metrics": new_artifact(Metrics, "metrics"),
        "classification_metrics": new_artifact(ClassificationMetrics, "classification_metrics"),
        "evaluation_view": new_artifact(HTML, "evaluation_view"),
    }


def test_plain_function_scores_the_test_split_and_writes_the_page(upstream, tmp_path):
    page = tmp_path / "evaluation.html"
    result = steps.evaluate(upstream.model, upstream.splits["test"], str(page), 0.5)
    # The trainer scored the same rows with the same model.
    assert (result["accuracy"], result["macro_f1"]) == (
        upstream.trained["test"]["accuracy"], upstream.trained["test"]["macro_f1"])
    assert (result["rows"], result["min_accuracy"], result["blessed"]) == (60, 0.5, True)
    assert list(result["per_class"]) == list(upstream.classes)
    assert sum(scores["support"] for scores in result["per_class"].values()) == 60
    matrix = result["confusion"]["matrix"]
    assert result["confusion"]["labels"] == list(upstream.classes) and len(matrix) == 7
    assert sum(map(sum, matrix)) == 60
    assert sum(matrix[i][i] for i in range(7)) == round(result["accuracy"] * 60)
    assert "<html" in page.read_text().lower() and "CALI" in page.read_text()


def test_plain_function_blesses_at_min_accuracy_not_below_it(upstream, tmp_path):
    accuracy = upstream.trained["test"]["accuracy"]
    at = steps.evaluate(upstream.model, upstream.splits["test"], str(tmp_path / "a.html"), accuracy)
    above = steps.evaluate(upstream.model, upstream.splits["test"], str(tmp_path / "b.html"), accuracy + 1e-9)
    assert (at["blessed"], above["blessed"]) == (True, False)


def test_plain_function_names_a_folder_without_a_model(upstream, tmp_path):
    with pytest.raises(SourceError, match="holds no model.joblib"):
        steps.evaluate(str(tmp_path), upstream.splits["test"], str(tmp_path / "page.html"), 0.5)


def test_python_func_logs_the_metrics_and_the_confusion_matrix(upstream, new_artifact):
    a = _outputs(new_artifact)
    blessed, accuracy, macro_f1 = components.evaluate.python_func(
        model=upstream.model_artifact(), test_data=upstream.datasets()["test_data"], min_accuracy=0.5, **a
    )
    assert blessed is True and accuracy == upstream.trained["test"]["accuracy"] and 0.8 < macro_f1 <= 1
    metrics = a["metrics"].metadata
    assert metrics["accuracy"] == accuracy
    assert {k: metrics[k] for k in ("accuracy", "macro_f1", "rows", "min_accuracy", "blessed")} == {
        "accuracy": accuracy, "macro_f1": macro_f1, "rows": 60, "min_accuracy": 0.5, "blessed": True}
    assert set(metrics) == {"accuracy", "macro_f1", "rows", "min_accuracy", "blessed"} | {
        f"{kind}_{label}" for kind in ("precision", "recall") for label in upstream.classes}
    matrix = a["classification_metrics"].metadata["confusionMatrix"]
    assert len(matrix["rows"]) == 7
    assert [c["displayName"] for c in matrix["annotationSpecs"]] == list(upstream.classes)
    assert sum(sum(row["row"]) for row in matrix["rows"]) == 60
    assert "CALI" in open(a["evaluation_view"].path).read()


def test_python_func_takes_min_accuracy_from_config_and_does_not_bless_below_it(upstream, new_artifact):
    accuracy, macro_f1 = upstream.trained["test"]["accuracy"], upstream.trained["test"]["macro_f1"]
    a = _outputs(new_artifact)
    outputs = components.evaluate.python_func(model=upstream.model_artifact(), test_data=upstream.datasets()["test_data"], **a)
    # Config's min_accuracy (0.9) is the default; the sample's model scores exactly that (54 of 60).
    assert a["metrics"].metadata["min_accuracy"] == 0.9 and accuracy == 0.9
    assert outputs == (True, accuracy, macro_f1)
    a = _outputs(new_artifact)
    outputs = components.evaluate.python_func(
        model=upstream.model_artifact(), test_data=upstream.datasets()["test_data"], min_accuracy=0.95, **a
    )
    assert outputs == (False, accuracy, macro_f1)
    assert a["metrics"].metadata["min_accuracy"] == 0.95 and a["metrics"].metadata["blessed"] is False


def test_kfp_local_run(kfp_local, upstream):
    outputs = kfp_local.run(
        components.evaluate, {"model": upstream.model_artifact(), "test_data": upstream.datasets()["test_data"]},
        min_accuracy=0.5,
    )
    assert (outputs["blessed"], outputs["accuracy"], outputs["macro_f1"]) == (
        True, upstream.trained["test"]["accuracy"], upstream.trained["test"]["macro_f1"])
    assert outputs["metrics"].metadata["accuracy"] == outputs["accuracy"]
    assert outputs["metrics"].metadata["rows"] == 60 and outputs["metrics"].metadata["blessed"] is True
    assert len(outputs["classification_metrics"].metadata["confusionMatrix"]["rows"]) == 7
    assert outputs["evaluation_view"].path.startswith(str(kfp_local.root))
    assert "CALI" in open(outputs["evaluation_view"].path).read()


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.evaluate, from_config={"min_accuracy"})
    assert {n: o.type for n, o in loaded.component_spec.outputs.items()} == {
        "metrics": "system.Metrics@0.0.1", "classification_metrics": "system.ClassificationMetrics@0.0.1",
        "evaluation_view": "system.HTML@0.0.1", "blessed": "Boolean", "accuracy": "Float", "macro_f1": "Float",
    }
