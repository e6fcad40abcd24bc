"""Tables with many classes: every view of the evaluation stays bounded, the numbers stay whole.

A confusion-matrix picture of 500 classes grew to 23 GB and was killed by the kernel. The
pictures below are drawn in a child process held to 2 GB of address space (a real limit, set
with ``setrlimit``), so a picture that grows with the classes fails here with a MemoryError
instead of taking the machine's memory.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT_BYTES = 2 * 1024**3
CLASSES = 500
SHOWN = 25  # kfx.metrics.MAX_SHOWN_CLASSES


def _in_two_gigabytes(code: str, timeout: float = 120) -> dict:
    """Runs ``code`` in a fresh Python whose address space is limited to 2 GB; returns what it prints as JSON."""
    prelude = (
        f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_BYTES}, {LIMIT_BYTES}))\n"
        "import json, numpy as np\n"
        f"n = {CLASSES}\n"
        "labels = [f'species_{i:04d}' for i in range(n)]\n"
        "rng = np.random.default_rng(0)\n"
        "matrix = np.diag(rng.integers(1, 3, n))\n"
        "np.add.at(matrix, (rng.integers(0, n, 150), rng.integers(0, n, 150)), 1)\n"
    )
    # One BLAS thread: each thread reserves address space, which the limit counts.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_the_500_class_confusion_matrix_picture_is_bounded():
    out = _in_two_gigabytes(
        "from kfx import evaluation_page\n"
        "fig = evaluation_page.confusion_matrix_figure(labels, matrix.tolist(), title='Test split')\n"
        "ax = fig.axes[0]\n"
        "print(json.dumps({'inches': list(fig.get_size_inches()), 'texts': len(ax.texts), 'title': ax.get_title(),\n"
        "    'ticks': [t.get_text() for t in ax.get_xticklabels()], 'image': ax.get_images()[0].get_array().tolist(),\n"
        "    'total': int(matrix.sum()),\n"
        "    'png': evaluation_page.confusion_matrix_png(labels, matrix.tolist()).hex()}))\n"
    )
    side = SHOWN + 1
    assert out["inches"] == [1.1 * side + 2.5, 1.0 * side + 2]
    assert out["texts"] == side * side
    assert out["title"] == (
        f"Test split\n{SHOWN} of {CLASSES} classes: the most confused, then the most frequent; "
        f"the other {CLASSES - SHOWN} are summed in the last row and column"
    )
    assert out["ticks"][-1] == "(475 other classes)" and len(out["ticks"]) == side
    # Every test row is still in the picture: the left-out classes are summed, not dropped.
    assert len(out["image"]) == side and sum(map(sum, out["image"])) == out["total"]
    width, height = _png_size(bytes.fromhex(out["png"]))
    assert (width, height) == (3110, 2800)


def test_the_500_class_evaluation_page_is_bounded_and_names_the_full_numbers():
    out = _in_two_gigabytes(
        "from kfx import evaluation_page\n"
        "from kfx.metrics import classification_metrics\n"
        "true = [l for i, l in enumerate(labels) for _ in range(2)]\n"
        "pred = [labels[(i + 1) % n] if i % 7 == 0 and k == 0 else l for i, l in enumerate(labels) for k in range(2)]\n"
        "result = classification_metrics(true, pred, labels=labels)\n"
        "result.update(rows=len(true), min_accuracy=0.0, accuracy_tolerance=0.0, "
        "champion=None, blessed=True, reason='ok')\n"
        "page = evaluation_page.evaluation_html(result)\n"
        "named = evaluation_page.evaluation_html(result, numbers='runs/x/evaluate/metrics')\n"
        "print(json.dumps({'page': page, 'named': named, 'per_class': len(result['per_class'])}))\n"
    )
    page = out["page"]
    assert "the whole confusion matrix are in the evaluate step's metrics file (JSON).</p>" in page
    assert out["per_class"] == CLASSES
    assert len(page) < 600_000
    assert page.count("<tr><td>") == SHOWN
    assert (
        f"<p class='left-out'>{SHOWN} of {CLASSES} classes shown here: the most confused, then the most "
        f"frequent; the other {CLASSES - SHOWN} are left out of the table and summed in the last row and "
        "column of the matrix. Every class's precision, recall, F1 and the whole confusion matrix are in "
        "runs/x/evaluate/metrics (JSON).</p>"
    ) in out["named"]
    # Shown: confused classes only (every 7th class, half taken for the next one), in the matrix's order.
    shown = re.findall(r"<tr><td>(species_\d+)</td>", page)
    assert shown == sorted(shown) and all(int(s[-4:]) % 7 in (0, 1) for s in shown)
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)'", page)[1])
    assert _png_size(png) == (3110, 2800)


def test_the_capped_matrix_keeps_every_row_and_the_most_confused_classes():
    from kfx.metrics import MAX_SHOWN_CLASSES, capped_confusion, other_label, shown_classes

    assert MAX_SHOWN_CLASSES == SHOWN
    labels = ["a", "b", "c", "d", "e"]
    matrix = [
        [5, 0, 0, 0, 0],
        [0, 1, 0, 0, 3],  # b is taken for e three times
        [0, 0, 9, 0, 0],  # c: the most rows, no error
        [0, 0, 0, 2, 0],
        [0, 1, 0, 0, 4],
    ]
    assert shown_classes(labels, matrix, limit=2) == ["b", "e"]
    assert shown_classes(labels, matrix, limit=3) == ["b", "c", "e"]  # then the most frequent
    assert capped_confusion(labels, matrix, limit=3) == (
        ["b", "c", "e", "(2 other classes)"],
        [[1, 0, 3, 0], [0, 9, 0, 0], [1, 0, 4, 0], [0, 0, 0, 7]],
    )
    assert capped_confusion(labels, matrix, limit=5) == (labels, matrix)
    assert other_label(1) == "(1 other class)"


@pytest.mark.e2e
def test_a_500_class_table_runs_through_with_bounded_views(kfx_cli, tmp_path):
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    from bench_wide_labels import LABEL, wide_table

    source = tmp_path / "wide.csv"
    # 10 rows a class: the fewest the 0.8 / 0.1 / 0.1 split takes (one test and one validation row each).
    wide_table(CLASSES, 10).to_csv(source, index=False)
    runs = tmp_path / "runs"
    done = kfx_cli(
        "run",
        "--source",
        str(source),
        "--label-column",
        LABEL,
        "--min-accuracy",
        "0",
        "--runs-dir",
        str(runs),
        timeout=300,
    )
    assert done.returncode == 0, done.output[-3000:]
    [summary_path] = runs.glob("kfx-wide-*/summary.json")
    model = json.loads(summary_path.read_text())["model"]
    assert (model["classes"], model["classes_shown"]) == (CLASSES, SHOWN)
    assert (
        f"            {SHOWN} of {CLASSES} classes in the page and the confusion matrix; every class: "
        f"{model['numbers']}\n" in done.stdout
    )

    # The full numbers: every class, the whole matrix, every test row.
    numbers = json.loads(open(model["numbers"]).read())
    assert len(numbers["per_class"]) == CLASSES and len(numbers["confusion"]["matrix"]) == CLASSES
    assert sum(map(sum, numbers["confusion"]["matrix"])) == numbers["rows"] == CLASSES
    assert numbers["accuracy"] == model["test_accuracy"]

    page = open(model["view"]).read()
    assert len(page) < 600_000 and page.count("<tr><td>") == SHOWN
    assert (
        f"Every class's precision, recall, F1 and the whole confusion matrix are in {model['numbers']} (JSON)." in page
    )
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)'", page)[1])
    assert _png_size(png) == (3110, 2800)

    # What kfp records (ClassificationMetrics, Metrics) and the lineage store copy is bounded too.
    with open(os.path.join(os.path.dirname(model["view"]), "executor_output.json")) as f:
        executor = json.load(f)
    [confusion] = executor["artifacts"]["classification_metrics"]["artifacts"]
    specs = confusion["metadata"]["confusionMatrix"]["annotationSpecs"]
    assert len(specs) == SHOWN + 1 and specs[-1] == {"displayName": "(475 other classes)"}
    [metrics] = executor["artifacts"]["metrics"]["artifacts"]
    assert sum(k.startswith("precision_") for k in metrics["metadata"]) == SHOWN
    with sqlite3.connect(runs / "metadata.sqlite") as store:
        longest = store.execute("SELECT MAX(LENGTH(string_value)) FROM ArtifactProperty").fetchone()[0]
    assert longest < 20_000


def _splits(folder, classes: int, rows_per_class: int) -> dict:
    """Train, validation and test CSVs of a generated table: ``rows_per_class`` training rows a class, one
    validation and one test row."""
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    from bench_wide_labels import wide_table

    table = wide_table(classes, rows_per_class + 2)
    position = table.groupby("species").cumcount()
    paths = {}
    for split, rows in (("train", position >= 2), ("validation", position == 0), ("test", position == 1)):
        paths[split] = str(folder / f"{split}.csv")
        table[rows].to_csv(paths[split], index=False)
    return paths


def _train(paths: dict, model_dir: str, svm_max_rows: int) -> dict:
    from kfx import model_steps

    return model_steps.train(
        paths["train"],
        paths["validation"],
        paths["test"],
        model_dir,
        label_column="species",
        svm_c=10.0,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=svm_max_rows,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )


def test_more_classes_than_the_trainer_fits_are_refused_before_the_fit_in_one_sentence(tmp_path):
    from kfx.errors import DataError

    paths = _splits(tmp_path, 1001, 8)
    with pytest.raises(DataError) as refused:
        _train(paths, str(tmp_path / "model"), 30000)
    assert str(refused.value) == (
        "Label column 'species' holds 1,001 classes in the training data, more than the 1,000 the trainer fits "
        "(its time grows with the square of the classes); merge rare classes or pass a coarser --label-column."
    )
    assert refused.value.exit_code == 2 and not os.path.exists(tmp_path / "model")


def test_gradient_boosting_holds_out_a_row_of_every_class_for_early_stopping(tmp_path):
    # 8 training rows a class (what the pipeline's split leaves a class of 10): 10 % of the rows
    # is fewer than the classes, and scikit-learn's stratified hold-out refused it with a traceback.
    paths = _splits(tmp_path, 40, 8)
    metrics = _train(paths, str(tmp_path / "model"), 0)
    assert metrics["model"]["estimator"] == "hist_gradient_boosting" and metrics["train_rows"] == 320
    assert os.path.isfile(tmp_path / "model" / "model.joblib") and metrics["test"]["rows"] == 40
