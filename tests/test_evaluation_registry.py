"""Evaluation, the blessing, and the local model registry."""

import json
import os

import pytest
from shared_fixtures import shared_by_mutants

from kfx import evaluation, evaluation_page, model_steps, registry
from kfx.config import Config
from kfx.errors import SourceError
from kfx.metrics import classification_metrics


@pytest.fixture(scope="module")
def model_dir(sample_splits, tmp_path_factory):
    return shared_by_mutants("model-dir", lambda folder: _train(sample_splits, folder), tmp_path_factory)


def _train(sample_splits, folder) -> str:
    model_steps.train(
        sample_splits["train"],
        sample_splits["validation"],
        sample_splits["test"],
        str(folder),
        label_column="Class",
        svm_c=10.0,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=30000,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    return str(folder)


def test_classification_metrics_by_hand():
    m = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert m["accuracy"] == 0.75
    assert m["confusion"] == {"labels": ["a", "b"], "matrix": [[1, 1], [0, 2]]}
    assert m["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_evaluate_blesses_by_threshold(model_dir, sample_splits, tmp_path):
    html = tmp_path / "eval.html"
    result = model_steps.evaluate(model_dir, sample_splits["test"], str(html), 0.5, None, 0.0, True)
    assert result["rows"] == 60 and result["blessed"] is True
    assert sum(map(sum, result["confusion"]["matrix"])) == 60
    assert len(result["per_class"]) == 7
    page = html.read_text()
    assert "data:image/png;base64," in page and f"{result['accuracy']:.4f}" in page
    strict = evaluation.evaluate_model(model_dir, sample_splits["test"], min_accuracy=1.01 - 1e-9)
    assert strict["blessed"] is False


def test_confusion_picture_is_a_png():
    png = evaluation_page.confusion_matrix_png(["a", "b"], [[3, 1], [0, 4]])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def _same_model_other_bytes(model_dir, folder):
    """A copy of a model folder whose model.joblib is the same model in other bytes (compressed)."""
    import shutil

    import joblib

    shutil.copytree(model_dir, folder)
    joblib.dump(joblib.load(os.path.join(model_dir, "model.joblib")), os.path.join(folder, "model.joblib"), compress=3)


def test_push_only_when_blessed_and_never_overwrites(model_dir, tmp_path):
    reg = str(tmp_path / "registry")
    refused = registry.push_model(model_dir, reg, "beans", {"blessed": False, "accuracy": 0.5, "min_accuracy": 0.9})
    assert refused == {"pushed": False, "reason": "not blessed: test accuracy 0.5000 is below min_accuracy 0.9"}
    assert registry.list_versions(reg, "beans") == []
    first = registry.push_model(model_dir, reg, "beans", {"blessed": True, "accuracy": 0.95})
    # The second run compared with v1 (its champion); the same model, it would not be pushed again.
    other = os.path.join(str(tmp_path), "other-model")
    _same_model_other_bytes(model_dir, other)
    second = registry.push_model(
        other, reg, "beans", {"blessed": True, "accuracy": 0.96}, champion=registry.resolve(reg, "beans")
    )
    assert (first["version"], second["version"]) == (1, 2)
    assert registry.list_versions(reg, "beans") == [1, 2]
    assert sorted(os.listdir(first["uri"])) == [
        "evaluation.json",
        "manifest.json",
        "model.joblib",
        "model_metadata.json",
    ]
    assert json.loads(open(os.path.join(first["uri"], "evaluation.json")).read())["accuracy"] == 0.95
    assert not [n for n in os.listdir(os.path.join(reg, "beans")) if n.startswith(".")]


def test_evaluating_a_folder_without_model_is_refused(tmp_path, sample_splits):
    with pytest.raises(SourceError, match="holds no model.joblib"):
        evaluation.evaluate_model(str(tmp_path), sample_splits["test"], 0.9)


def test_blessed_at_exactly_min_accuracy_and_not_one_part_in_a_billion_above(model_dir, sample_splits, tmp_path):
    """The sample's model gets 54 of 60 test rows right: accuracy 0.9, the default threshold itself."""
    at = evaluation.evaluate_model(model_dir, sample_splits["test"], min_accuracy=0.9)
    assert at["accuracy"] == 54 / 60 == 0.9
    assert (at["blessed"], at["min_accuracy"], at["rows"]) == (True, 0.9, 60)
    above = evaluation.evaluate_model(model_dir, sample_splits["test"], min_accuracy=0.9 * (1 + 1e-9))
    assert above["blessed"] is False and above["accuracy"] == 0.9
    assert evaluation.evaluate_model(model_dir, sample_splits["test"], Config().min_accuracy)["blessed"] is True


def test_the_evaluate_step_passes_min_accuracy_on(model_dir, sample_splits, tmp_path):
    html = tmp_path / "eval.html"
    strict = model_steps.evaluate(model_dir, sample_splits["test"], str(html), 0.9 * (1 + 1e-9), None, 0.0, True)
    assert strict["blessed"] is False and strict["min_accuracy"] == 0.9 * (1 + 1e-9)
    assert "not blessed: test accuracy 0.9000 is below min_accuracy 0.9000000009000001." in html.read_text()
    lenient = model_steps.evaluate(model_dir, sample_splits["test"], str(html), 0.9, None, 0.0, True)
    assert lenient["blessed"] is True
    assert "; blessed: test accuracy 0.9000 &gt;= min_accuracy 0.9; no champion to compare with." in html.read_text()
    assert "Test accuracy <b>0.9000</b>, macro-F1 <b>0.9265</b> on 60 rows" in html.read_text()


def test_the_evaluate_component_logs_min_accuracy_and_the_blessing(model_dir, sample_splits, tmp_path):
    from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Metrics, Model

    from kfx import components

    def art(cls, name):
        return cls(name=name, uri=str(tmp_path / name), metadata={})

    metrics = art(Metrics, "metrics")
    none = art(Artifact, "registered_model")
    none.metadata.update(found=False, model_name="beans", version="", uri="", reason="none yet")
    blessed, accuracy, macro_f1, _ = components.evaluate.python_func(
        model=Model(name="model", uri=model_dir, metadata={}),
        test_data=Dataset(name="t", uri=sample_splits["test"], metadata={}),
        registered_model=none,
        metrics=metrics,
        classification_metrics=art(ClassificationMetrics, "cm"),
        evaluation_view=art(HTML, "view"),
        min_accuracy=0.9 * (1 + 1e-9),
    )
    assert (blessed, accuracy) == (False, 0.9) and round(macro_f1, 4) == 0.9265
    assert metrics.metadata["min_accuracy"] == 0.9 * (1 + 1e-9) and metrics.metadata["blessed"] is False
    assert metrics.metadata["rows"] == 60


def test_per_class_scores_use_the_models_class_order(model_dir, sample_splits):
    result = evaluation.evaluate_model(model_dir, sample_splits["test"], 0.9)
    assert result["confusion"]["labels"] == ["BARBUNYA", "BOMBAY", "CALI", "DERMASON", "HOROZ", "SEKER", "SIRA"]
    assert sum(result["confusion"]["matrix"][i][i] for i in range(7)) == 54
    assert {k: v["support"] for k, v in result["per_class"].items()} == {
        "BARBUNYA": 6,
        "BOMBAY": 2,
        "CALI": 7,
        "DERMASON": 16,
        "HOROZ": 8,
        "SEKER": 9,
        "SIRA": 12,
    }


def test_classification_metrics_with_labels_given_and_classes_never_predicted():
    m = classification_metrics([1, 1, 2], [1, 1, 1], labels=[2, 1, 3])
    assert m["confusion"] == {"labels": ["2", "1", "3"], "matrix": [[0, 1, 0], [0, 2, 0], [0, 0, 0]]}
    assert m["per_class"]["3"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["1"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": 0.8, "support": 2}
    assert m["macro_f1"] == pytest.approx(0.8 / 3)
    # Classes seen only among the predictions still get a row.
    assert classification_metrics(["a"], ["b"])["confusion"]["labels"] == ["a", "b"]


def test_a_pre_made_v1_is_left_untouched_and_v2_used(model_dir, tmp_path):
    reg = tmp_path / "registry"
    (reg / "beans" / "v1").mkdir(parents=True)
    (reg / "beans" / "v1" / "notes.txt").write_text("made by hand")
    champion = registry.resolve(str(reg), "beans")  # the run compared with v1 (else its push compares first)
    pushed = registry.push_model(model_dir, str(reg), "beans", {"blessed": True, "accuracy": 0.9}, champion=champion)
    assert pushed == {"pushed": True, "version": 2, "uri": str(reg / "beans" / "v2")}
    assert os.listdir(reg / "beans" / "v1") == ["notes.txt"]
    assert (reg / "beans" / "v1" / "notes.txt").read_text() == "made by hand"
    assert sorted(os.listdir(reg / "beans" / "v2")) == [
        "evaluation.json",
        "manifest.json",
        "model.joblib",
        "model_metadata.json",
    ]


def test_a_version_taken_after_the_listing_is_skipped_not_overwritten(model_dir, tmp_path, monkeypatch):
    """Another push took v1 and v2 between this push's listing and its rename: it must land on v3."""
    reg = tmp_path / "registry"
    for n in (1, 2):
        (reg / "beans" / f"v{n}").mkdir(parents=True)
        (reg / "beans" / f"v{n}" / "model.joblib").write_text(f"model {n}")
    monkeypatch.setattr(registry, "list_versions", lambda *args: [])
    pushed = registry.push_model(model_dir, str(reg), "beans", {"blessed": True, "accuracy": 0.95})
    assert pushed["version"] == 3 and pushed["uri"] == str(reg / "beans" / "v3")
    assert [(reg / "beans" / f"v{n}" / "model.joblib").read_text() for n in (1, 2)] == ["model 1", "model 2"]
    assert sorted(os.listdir(reg / "beans")) == ["v1", "v2", "v3"]
    # With only v1 taken, the next free number is 2.
    other = tmp_path / "other"
    (other / "beans" / "v1").mkdir(parents=True)
    (other / "beans" / "v1" / "model.joblib").write_text("model 1")
    assert registry.push_model(model_dir, str(other), "beans", {"blessed": True, "accuracy": 0.95})["version"] == 2


def test_a_version_is_copied_inside_the_registry_under_a_hidden_name_then_renamed(model_dir, tmp_path, monkeypatch):
    """Renaming within one folder is what makes a version appear whole; a copy elsewhere could not be renamed in."""
    from kfx import storage

    reg = tmp_path / "registry"
    seen = []
    write = storage.write_bytes

    def spy(uri, data):
        seen.append(sorted(os.listdir(reg / "beans")))
        write(uri, data)

    monkeypatch.setattr(storage, "write_bytes", spy)
    pushed = registry.push_model(model_dir, str(reg), "beans", {"blessed": True, "accuracy": 0.95})
    assert len(seen[0]) == 1 and seen[0][0].startswith(".incoming-")
    assert sorted(os.listdir(reg / "beans")) == ["v1"] and pushed["version"] == 1
    assert (
        open(os.path.join(pushed["uri"], "evaluation.json")).read() == '{\n  "accuracy": 0.95,\n  "blessed": true\n}'
    )  # keys sorted: the same evaluation, the same bytes


def test_two_processes_pushing_at_once_get_two_versions(model_dir, sample_splits, tmp_path):
    import subprocess
    import sys

    reg = tmp_path / "registry"
    go = tmp_path / "go"
    script = (
        "import os, sys, time, json\n"
        "from kfx import registry\n"
        "while not os.path.exists(sys.argv[3]):\n"
        "    time.sleep(0.001)\n"
        "print(json.dumps(registry.push_model(sys.argv[1], sys.argv[2], 'beans', {'blessed': True, 'accuracy': 0.9},\n"
        "                                     test_uri=sys.argv[4])))\n"
    )
    # Neither saw a champion: the second to take its turn compares the model with v1 (a tie) and is pushed too.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, model_dir, str(reg), str(go), sample_splits["test"]],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.write_text("")
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert sorted(r["version"] for r in results) == [1, 2]
    assert registry.list_versions(str(reg), "beans") == [1, 2]
    model = open(os.path.join(model_dir, "model.joblib"), "rb").read()
    for n in (1, 2):
        assert open(reg / "beans" / f"v{n}" / "model.joblib", "rb").read() == model
    assert sorted(os.listdir(reg / "beans")) == ["v1", "v2"]


def test_versions_are_numbers_and_other_folders_are_ignored(model_dir, tmp_path):
    reg = tmp_path / "registry"
    for name in ("v2", "v10", "v3.bak", "latest", ".incoming-x", "vx"):
        (reg / "beans" / name).mkdir(parents=True)
    assert registry.list_versions(str(reg), "beans") == [2, 10]
    assert registry.list_versions(str(reg), "other") == []
    pushed = registry.push_model(
        model_dir,
        str(reg),
        "beans",
        {"blessed": True, "accuracy": 0.9},
        schema_uri=None,
        champion=registry.resolve(str(reg), "beans"),
    )
    assert pushed["version"] == 11


def test_the_schema_is_kept_with_the_model_and_a_failed_copy_leaves_nothing(model_dir, tmp_path):
    reg = tmp_path / "registry"
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "Area" type: INT }\n')
    pushed = registry.push_model(model_dir, str(reg), "beans", {"blessed": True, "accuracy": 0.9}, str(schema))
    assert open(os.path.join(pushed["uri"], "schema.pbtxt")).read() == schema.read_text()
    evaluation_json = json.loads(open(os.path.join(pushed["uri"], "evaluation.json")).read())
    assert evaluation_json == {"blessed": True, "accuracy": 0.9}
    with pytest.raises(SourceError, match="does not exist"):
        registry.push_model(str(tmp_path / "no-model"), str(reg), "beans", {"blessed": True, "accuracy": 0.9})
    assert sorted(os.listdir(reg / "beans")) == ["v1"]


def test_an_unblessed_model_is_refused_with_its_numbers(model_dir, tmp_path):
    refused = registry.push_model(
        model_dir, str(tmp_path), "beans", {"blessed": False, "accuracy": 0.89994, "min_accuracy": 0.9}
    )
    assert refused == {"pushed": False, "reason": "not blessed: test accuracy 0.8999 is below min_accuracy 0.9"}
    assert registry.push_model(model_dir, str(tmp_path), "beans", {}) == {
        "pushed": False,
        "reason": "not blessed: test accuracy nan is below min_accuracy None",
    }
    assert not os.path.exists(tmp_path / "beans")


def test_the_confusion_matrix_picture():
    import matplotlib.colors as colors
    import matplotlib.pyplot as plt

    fig = evaluation_page.confusion_matrix_figure(
        ["a", "b", "c"], [[5, 1, 0], [2, 3, 0], [0, 0, 10]], title="Test split"
    )
    try:
        ax = fig.axes[0]
        assert (tuple(fig.get_size_inches()), fig.dpi) == ((1.1 * 3 + 2.5, 5.0), 100)
        assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Test split", "predicted", "true")
        assert (
            [t.get_text() for t in ax.get_xticklabels()]
            == ["a", "b", "c"]
            == [t.get_text() for t in ax.get_yticklabels()]
        )
        assert {(t.get_rotation(), t.get_horizontalalignment()) for t in ax.get_xticklabels()} == {(45.0, "right")}
        [image] = ax.get_images()
        assert image.get_cmap().name == "Blues" and image.get_array().tolist() == [[5, 1, 0], [2, 3, 0], [0, 0, 10]]
        cells = [
            (t.get_position(), t.get_text(), colors.to_hex(t.get_color()), t.get_fontsize(), t.get_ha(), t.get_va())
            for t in ax.texts
        ]
        # Counts above half the largest (5 is not above 5) are white on the dark cells.
        assert [(pos, text, color) for pos, text, color, *_ in cells] == [
            ((0, 0), "5", "#000000"),
            ((1, 0), "1", "#000000"),
            ((2, 0), "0", "#000000"),
            ((0, 1), "2", "#000000"),
            ((1, 1), "3", "#000000"),
            ((2, 1), "0", "#000000"),
            ((0, 2), "0", "#000000"),
            ((1, 2), "0", "#000000"),
            ((2, 2), "10", "#ffffff"),
        ]
        assert {tuple(c[3:]) for c in cells} == {(9.0, "center", "center")}
    finally:
        plt.close(fig)
    assert evaluation_page.confusion_matrix_figure(["a"], [[0]]).axes[0].texts[0].get_color() == "black"
    plt.close("all")
    assert evaluation_page.confusion_matrix_figure(["a"], [[1]]).axes[0].get_title() == "Confusion matrix"
    plt.close("all")


def test_the_confusion_matrix_png_carries_its_title():
    png = evaluation_page.confusion_matrix_png
    assert png(["a", "b"], [[1, 0], [0, 1]]) == png(["a", "b"], [[1, 0], [0, 1]], "Confusion matrix")
    assert png(["a", "b"], [[1, 0], [0, 1]], "Train") != png(["a", "b"], [[1, 0], [0, 1]], "Test")


def test_the_evaluation_page():
    import re

    result = {
        "accuracy": 0.5,
        "macro_f1": 0.25,
        "rows": 4,
        "blessed": False,
        "min_accuracy": 0.9,
        "per_class": {
            "a": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
            "b": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2},
        },
        "confusion": {"labels": ["a", "b"], "matrix": [[1, 1], [0, 2]]},
    }
    page = evaluation_page.evaluation_html(result)
    page = re.sub(r"base64,[A-Za-z0-9+/=]+'", "base64,PNG'", page)
    assert page == (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Model evaluation</title></head><body>"
        "<h1>Model evaluation</h1><p>Test accuracy <b>0.5000</b>, macro-F1 <b>0.2500</b> on 4 rows; not blessed: "
        "needs accuracy &gt;= 0.9.</p><p>No champion: the threshold alone decides.</p>"
        "<table border='1' "
        "cellpadding='4'><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>"
        "<tr><td>a</td><td>1.000</td><td>0.500</td><td>0.667</td><td>2</td></tr>"
        "<tr><td>b</td><td>0.000</td><td>0.000</td><td>0.000</td><td>2</td></tr>"
        "</table><p><img alt='confusion matrix' src='data:image/png;base64,PNG'></p></body></html>\n"
    )


def test_metrics_of_a_class_never_predicted_give_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics(["a", "b"], ["a", "a"])
        # A class neither present nor predicted: every score is 0 by definition here.
        none = classification_metrics(["a", "b"], ["a", "a"], labels=["a", "b", "c"])
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert none["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert none["macro_f1"] == pytest.approx((2 / 3) / 3)


def test_a_class_missing_from_the_test_split_keeps_its_row(model_dir, sample_splits, tmp_path):
    import pandas as pd

    test = pd.read_csv(sample_splits["test"])
    path = tmp_path / "no_bombay.csv"
    test[test["Class"] != "BOMBAY"].to_csv(path, index=False)
    result = evaluation.evaluate_model(model_dir, str(path), 0.9)
    assert result["rows"] == 58 and result["confusion"]["labels"][1] == "BOMBAY"
    assert result["per_class"]["BOMBAY"]["support"] == 0 and len(result["confusion"]["matrix"]) == 7
