"""evaluate: the model scored on the test split, the confusion matrix, and the blessing."""

import json

import pytest
from kfp.dsl import HTML, ClassificationMetrics, Metrics, Model
from shared_fixtures import shared_by_mutants

from kfx import components, model_steps
from kfx.errors import SourceError


def _outputs(new_artifact):
    """The outputs, and the reference of a registry without a champion (the threshold alone decides)."""
    from kfp.dsl import Artifact

    none = new_artifact(Artifact, "registered_model")
    none.metadata.update(found=False, model_name="beans", version="", uri="", reason="no version yet")
    return {
        "registered_model": none,
        "metrics": new_artifact(Metrics, "metrics"),
        "classification_metrics": new_artifact(ClassificationMetrics, "classification_metrics"),
        "evaluation_view": new_artifact(HTML, "evaluation_view"),
    }


def test_plain_function_scores_the_test_split_and_writes_the_page(upstream, tmp_path):
    page = tmp_path / "evaluation.html"
    result = model_steps.evaluate(upstream.model, upstream.splits["test"], str(page), 0.5, None, 0.0, True)
    # The trainer scored the same rows with the same model.
    assert (result["accuracy"], result["macro_f1"]) == (
        upstream.trained["test"]["accuracy"],
        upstream.trained["test"]["macro_f1"],
    )
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
    at = model_steps.evaluate(
        upstream.model, upstream.splits["test"], str(tmp_path / "a.html"), accuracy, None, 0.0, True
    )
    above = model_steps.evaluate(
        upstream.model, upstream.splits["test"], str(tmp_path / "b.html"), accuracy + 1e-9, None, 0.0, True
    )
    assert (at["blessed"], above["blessed"]) == (True, False)


def test_plain_function_names_a_folder_without_a_model(upstream, tmp_path):
    with pytest.raises(SourceError, match="holds no model.joblib"):
        model_steps.evaluate(str(tmp_path), upstream.splits["test"], str(tmp_path / "page.html"), 0.5, None, 0.0, True)


def test_python_func_logs_the_metrics_and_the_confusion_matrix(upstream, new_artifact):
    a = _outputs(new_artifact)
    blessed, accuracy, macro_f1, reason = components.evaluate.python_func(
        model=upstream.model_artifact(), test_data=upstream.datasets()["test_data"], min_accuracy=0.5, **a
    )
    assert blessed is True and accuracy == upstream.trained["test"]["accuracy"] and 0.8 < macro_f1 <= 1
    assert reason == f"test accuracy {accuracy:.4f} >= min_accuracy 0.5; no champion to compare with"
    metrics = a["metrics"].metadata
    assert metrics["accuracy"] == accuracy
    assert {
        k: metrics[k] for k in ("accuracy", "macro_f1", "rows", "min_accuracy", "accuracy_tolerance", "blessed")
    } == {
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "rows": 60,
        "min_accuracy": 0.5,
        "accuracy_tolerance": 0.01,
        "blessed": True,
    }
    assert set(metrics) == {
        "accuracy",
        "macro_f1",
        "rows",
        "min_accuracy",
        "accuracy_tolerance",
        "blessed",
        "classes",
        "classes_shown",
        "task",
        "metric",
        "score",
        "threshold",
    } | {f"{kind}_{label}" for kind in ("precision", "recall") for label in upstream.classes}
    assert (metrics["classes"], metrics["classes_shown"]) == (7, 7)
    # The metrics file holds the whole evaluation as JSON.
    whole = json.loads(open(a["metrics"].path).read())
    assert (whole["accuracy"], len(whole["per_class"]), whole["rows"]) == (accuracy, 7, 60)
    matrix = a["classification_metrics"].metadata["confusionMatrix"]
    assert len(matrix["rows"]) == 7
    assert [c["displayName"] for c in matrix["annotationSpecs"]] == list(upstream.classes)
    assert sum(sum(row["row"]) for row in matrix["rows"]) == 60
    assert "CALI" in open(a["evaluation_view"].path).read()


def test_python_func_takes_min_accuracy_from_config_and_does_not_bless_below_it(upstream, new_artifact):
    accuracy, macro_f1 = upstream.trained["test"]["accuracy"], upstream.trained["test"]["macro_f1"]
    a = _outputs(new_artifact)
    outputs = components.evaluate.python_func(
        model=upstream.model_artifact(), test_data=upstream.datasets()["test_data"], **a
    )
    # Config's min_accuracy (0.9) is the default; the sample's model scores exactly that (54 of 60).
    assert a["metrics"].metadata["min_accuracy"] == 0.9 and accuracy == 0.9
    assert outputs[:3] == (True, accuracy, macro_f1)
    a = _outputs(new_artifact)
    outputs = components.evaluate.python_func(
        model=upstream.model_artifact(), test_data=upstream.datasets()["test_data"], min_accuracy=0.95, **a
    )
    assert outputs == (False, accuracy, macro_f1, f"test accuracy {accuracy:.4f} is below min_accuracy 0.95")
    assert a["metrics"].metadata["min_accuracy"] == 0.95 and a["metrics"].metadata["blessed"] is False


def test_kfp_local_run(kfp_local, upstream):
    outputs = kfp_local.run(
        components.evaluate,
        {
            "model": upstream.model_artifact(),
            "test_data": upstream.datasets()["test_data"],
            "registered_model": upstream.no_champion(),
        },
        min_accuracy=0.5,
    )
    assert (outputs["blessed"], outputs["accuracy"], outputs["macro_f1"]) == (
        True,
        upstream.trained["test"]["accuracy"],
        upstream.trained["test"]["macro_f1"],
    )
    assert outputs["metrics"].metadata["accuracy"] == outputs["accuracy"]
    assert outputs["metrics"].metadata["rows"] == 60 and outputs["metrics"].metadata["blessed"] is True
    assert len(outputs["classification_metrics"].metadata["confusionMatrix"]["rows"]) == 7
    assert outputs["evaluation_view"].path.startswith(str(kfp_local.root))
    assert "CALI" in open(outputs["evaluation_view"].path).read()


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(
        components.evaluate,
        from_config={"min_accuracy", "accuracy_tolerance", "metric", "min_r2"},
        written={"serving_ok": True, "registered_model": None},
    )
    assert {n: o.type for n, o in loaded.component_spec.outputs.items()} == {
        "metrics": "system.Metrics@0.0.1",
        "classification_metrics": "system.ClassificationMetrics@0.0.1",
        "evaluation_view": "system.HTML@0.0.1",
        "blessed": "Boolean",
        "accuracy": "Float",
        "macro_f1": "Float",
        "reason": "String",
    }
    inputs = loaded.component_spec.inputs
    # The serving verdict and the champion are optional (the component also runs where no check or no
    # registry lookup ran: a pipeline without a champion compares with none).
    assert inputs["registered_model"].optional and inputs["serving_ok"].default is True


@pytest.fixture(scope="module")
def weak_model(upstream, tmp_path_factory):
    """A model trained on the same splits with a tiny C: clearly worse than upstream's."""
    return shared_by_mutants(
        "weak-model", lambda folder: _train_weak(upstream, str(folder / "model")), tmp_path_factory
    )


def _train_weak(upstream, folder: str) -> str:
    model_steps.train(
        upstream.splits["train"],
        upstream.splits["validation"],
        upstream.splits["test"],
        folder,
        label_column="Class",
        svm_c=0.001,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=30000,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    return folder


def _champion(model_dir, registry_dir, upstream):
    from kfx import registry

    evaluation = model_steps.evaluate(
        model_dir, upstream.splits["test"], str(registry_dir / "page.html"), 0.0, None, 0.0, True
    )
    registry.push_model(model_dir, str(registry_dir), "beans", evaluation, upstream.schema, upstream.statistics)
    return registry.resolve(str(registry_dir), "beans")


def test_a_challenger_worse_than_the_champion_is_not_blessed(upstream, weak_model, tmp_path):
    champion = _champion(upstream.model, tmp_path / "reg", upstream)
    result = model_steps.evaluate(
        weak_model, upstream.splits["test"], str(tmp_path / "page.html"), 0.0, champion, 0.01, True
    )
    strong = upstream.trained["test"]["accuracy"]
    # The champion is scored on this run's test rows, the same rows as the challenger.
    assert result["champion"] == {
        "model_name": "beans",
        "version": "1",
        "uri": champion["uri"],
        "accuracy": strong,
        "macro_f1": upstream.trained["test"]["macro_f1"],
    }
    assert result["accuracy"] < strong - 0.01 and result["blessed"] is False
    assert result["reason"] == (
        f"lost to the champion: test accuracy {result['accuracy']:.4f} vs champion v1 {strong:.4f} on the same rows, "
        "more than the tolerance 0.01 below"
    )
    assert "Champion v1 on the same rows" in (tmp_path / "page.html").read_text()
    # A tolerance as wide as the gap blesses it; the threshold alone (no champion) does too.
    gap = strong - result["accuracy"]
    assert model_steps.evaluate(
        weak_model, upstream.splits["test"], str(tmp_path / "b.html"), 0.0, champion, gap + 1e-9, True
    )["blessed"]
    assert model_steps.evaluate(weak_model, upstream.splits["test"], str(tmp_path / "c.html"), 0.0, None, 0.01, True)[
        "blessed"
    ]


def test_a_better_challenger_is_blessed_and_says_why(upstream, weak_model, tmp_path):
    champion = _champion(weak_model, tmp_path / "reg", upstream)
    result = model_steps.evaluate(
        upstream.model, upstream.splits["test"], str(tmp_path / "page.html"), 0.5, champion, 0.0, True
    )
    assert result["blessed"] is True and result["champion"]["accuracy"] < result["accuracy"]
    assert result["reason"] == (
        f"test accuracy {result['accuracy']:.4f} >= min_accuracy 0.5, and vs champion v1 "
        f"{result['champion']['accuracy']:.4f} within the tolerance 0.0"
    )


def test_a_failed_serving_check_refuses_the_blessing(upstream, tmp_path):
    result = model_steps.evaluate(
        upstream.model, upstream.splits["test"], str(tmp_path / "p.html"), 0.0, None, 0.01, False
    )
    assert (result["blessed"], result["reason"]) == (
        False,
        "the model failed the serving check (see the serving section)",
    )


def test_python_func_logs_the_champion_and_its_accuracy(upstream, weak_model, new_artifact, tmp_path):
    champion = _champion(upstream.model, tmp_path / "reg", upstream)
    a = _outputs(new_artifact)
    a["registered_model"].metadata.update(champion)
    blessed, accuracy, _, reason = components.evaluate.python_func(
        model=Model(name="m", uri=weak_model), test_data=upstream.datasets()["test_data"], min_accuracy=0.0, **a
    )
    assert blessed is False and reason.startswith("lost to the champion")
    assert a["metrics"].metadata["champion_version"] == 1
    assert a["metrics"].metadata["champion_accuracy"] == upstream.trained["test"]["accuracy"]


def test_a_champion_of_another_label_is_refused(upstream, tmp_path):
    import json

    champion = _champion(upstream.model, tmp_path / "reg", upstream)
    metadata_path = f"{champion['uri']}/model_metadata.json"
    metadata = json.load(open(metadata_path))
    with open(metadata_path, "w") as f:
        json.dump({**metadata, "label_column": "Kind"}, f)
    from kfx import manifest

    manifest.write_manifest(champion["uri"])  # a version pushed so: its files are the ones its manifest lists
    with pytest.raises(SourceError, match="predicts 'Kind', not 'Class'; pass --model-name with a new name"):
        model_steps.evaluate(
            upstream.model, upstream.splits["test"], str(tmp_path / "p.html"), 0.0, champion, 0.01, True
        )
