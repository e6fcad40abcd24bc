"""Evaluation, the blessing, and the local model registry."""

import json
import os

import pytest

from kfx import evaluation, registry, steps
from kfx.errors import SourceError


@pytest.fixture(scope="module")
def model_dir(sample_splits, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    steps.train(sample_splits["train"], sample_splits["validation"], sample_splits["test"], str(folder))
    return str(folder)


def test_classification_metrics_by_hand():
    m = evaluation.classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert m["accuracy"] == 0.75
    assert m["confusion"] == {"labels": ["a", "b"], "matrix": [[1, 1], [0, 2]]}
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_evaluate_blesses_by_threshold(model_dir, sample_splits, tmp_path):
    html = tmp_path / "eval.html"
    result = steps.evaluate(model_dir, sample_splits["test"], str(html), min_accuracy=0.5)
    assert result["rows"] == 60 and result["blessed"] is True
    assert sum(map(sum, result["confusion"]["matrix"])) == 60
    assert len(result["per_class"]) == 7
    page = html.read_text()
    assert "data:image/png;base64," in page and f"{result['accuracy']:.4f}" in page
    strict = evaluation.evaluate_model(model_dir, sample_splits["test"], min_accuracy=1.01 - 1e-9)
    assert strict["blessed"] is False


def test_confusion_picture_is_a_png():
    png = evaluation.confusion_matrix_png(["a", "b"], [[3, 1], [0, 4]])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_push_only_when_blessed_and_never_overwrites(model_dir, tmp_path):
    reg = str(tmp_path / "registry")
    refused = registry.push_model(model_dir, reg, "beans", {"blessed": False, "accuracy": 0.5, "min_accuracy": 0.9})
    assert refused == {"pushed": False, "reason": "not blessed: test accuracy 0.5000 is below min_accuracy 0.9"}
    assert registry.list_versions(reg, "beans") == []
    first = registry.push_model(model_dir, reg, "beans", {"blessed": True, "accuracy": 0.95})
    second = registry.push_model(model_dir, reg, "beans", {"blessed": True, "accuracy": 0.96})
    assert (first["version"], second["version"]) == (1, 2)
    assert registry.list_versions(reg, "beans") == [1, 2]
    assert sorted(os.listdir(first["uri"])) == ["evaluation.json", "model.joblib", "model_metadata.json"]
    assert json.loads(open(os.path.join(first["uri"], "evaluation.json")).read())["accuracy"] == 0.95
    assert not [n for n in os.listdir(os.path.join(reg, "beans")) if n.startswith(".")]


def test_evaluating_a_folder_without_model_is_refused(tmp_path, sample_splits):
    with pytest.raises(SourceError, match="holds no model.joblib"):
        evaluation.evaluate_model(str(tmp_path), sample_splits["test"])
