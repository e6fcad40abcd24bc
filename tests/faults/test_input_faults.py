"""Tables that used to pass in silence or crash a later step are refused at import, with one sentence.

A repeated column name (pandas read the second ``Area`` as ``Area.1`` and the model learnt
from it), an infinite number (import and TFDV took ``inf``, the trainer crashed), a label
with one class (the trainer crashed) and a ``--sample-rows`` too small for a class (the advice
was to add rows). The CLI case runs the real ``kfx run`` through kfp.local; ``gs://`` is the
GCS-API emulator on loopback, as in tests/vertex.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from beans_tasks import NAMES, at

from kfx import data, data_steps, manifest, scoring, splitting
from kfx.errors import DataError

FRACTIONS = (0.8, 0.1, 0.1)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _with_header(frame: pd.DataFrame, path, names) -> str:
    """Writes ``frame`` as CSV under the header ``names`` (repeats allowed), returns the path."""
    lines = frame.to_csv(index=False).split("\n", 1)
    path.write_text(",".join(names) + "\n" + lines[1])
    return str(path)


def _repeat_area(beans_sample: pd.DataFrame) -> list[str]:
    names = list(beans_sample.columns)
    names[2] = "Area"  # columns 1 and 3 are both Area
    return names


def _with_cell(frame: pd.DataFrame, column: str, row: int, text: str) -> pd.DataFrame:
    out = frame.astype({column: object})
    out.loc[row, column] = text
    return out


def _import(source: str, folder, sample_rows: int = 0) -> dict:
    paths = [str(folder / f"{s}.csv") for s in splitting.SPLITS]
    return data_steps.import_dataset(source, "Class", *paths, FRACTIONS, 42, sample_rows)


AREA_TWICE = (
    "Column name 'Area' is in the header of {source} twice (columns 1 and 3); rename or drop the copies, "
    "so that each column has a name of its own."
)
INFINITE = (
    "Column 'Area' of {source} holds {text!r} in line {line}, an infinite number no model can learn from; "
    "replace it with a number, or leave the cell empty so it counts as missing (training fills a missing "
    "number with the column's median)."
)


@pytest.mark.e2e
def test_kfx_run_refuses_each_bad_table_at_import_with_one_sentence_and_exit_2(kfx_cli, tmp_path, beans_sample):
    csv = _with_header(beans_sample, tmp_path / "twice.csv", _repeat_area(beans_sample))
    parquet = tmp_path / "twice.parquet"
    pq.write_table(
        pa.Table.from_pandas(beans_sample, preserve_index=False).rename_columns(_repeat_area(beans_sample)), parquet
    )
    infinite = tmp_path / "infinite.csv"
    _with_cell(beans_sample, "Area", 5, "-Infinity").to_csv(infinite, index=False)
    single = tmp_path / "single.csv"
    beans_sample.assign(Class="SEKER").to_csv(single, index=False)
    cases = {
        "twice.csv": ([csv], AREA_TWICE.format(source=repr(csv))),
        "twice.parquet": ([str(parquet)], AREA_TWICE.format(source=repr(str(parquet)))),
        "infinite.csv": (
            [str(infinite)],
            INFINITE.format(source=f"source {str(infinite)!r}", text="-Infinity", line=7),
        ),
        "single.csv": (
            [str(single)],
            (
                f"Label column 'Class' of source {str(single)!r} holds one class, "
                f"'SEKER', in all its {len(beans_sample)} "
                "rows, and a classifier needs at least two; add rows of another class, or pass --label-column with the "
                "column that holds the classes."
            ),
        ),
        "sample-rows 5": (
            ["", "--sample-rows", "5"],
            (
                "Class 'SEKER' of 'Class' has 1 row(s) in the sample of 7 rows, too few to appear in every split "
                "(each class needs at least 10); pass --sample-rows 248 or more (0 for all 13611 rows)."
            ),
        ),
    }
    for name, ((source, *options), sentence) in cases.items():
        runs = tmp_path / f"runs-{name}"
        result = kfx_cli(
            "run",
            "--source",
            source,
            *options,
            "--runs-dir",
            str(runs),
            "--registry-dir",
            str(tmp_path / f"registry-{name}"),
        )
        assert result.returncode == 2, (name, result.output[-2000:])
        assert "Traceback" not in result.output, name
        assert result.stderr.strip().splitlines()[-1] == f"kfx: error: {sentence}", name
        assert f"{at('import-dataset')} FAILED" in result.stdout and f"[2/{len(NAMES)}]" not in result.stdout
        (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
        summary = json.loads((run_dir / "summary.json").read_text())
        assert (summary["status"], summary["failed_step"], summary["error"]) == ("failed", "import-dataset", sentence)
        # No split file, nor anything else the step would write, that could pass for a dataset.
        written = [os.path.join(root, f) for root, _, files in os.walk(run_dir) for f in files if root != str(run_dir)]
        assert written == [], (name, written)
        assert not (tmp_path / f"registry-{name}").exists(), name


def test_a_repeated_column_name_is_refused_in_csv_gzip_and_parquet(tmp_path, beans_sample):
    names = _repeat_area(beans_sample)
    csv = _with_header(beans_sample, tmp_path / "twice.csv", names)
    gz = tmp_path / "twice.csv.gz"
    gz.write_bytes(gzip.compress((tmp_path / "twice.csv").read_bytes()))
    parquet = tmp_path / "twice.parquet"
    pq.write_table(pa.Table.from_pandas(beans_sample, preserve_index=False).rename_columns(names), parquet)
    for source in (csv, str(gz), str(parquet)):
        for read in (data.read_text_table, data.read_source):
            with pytest.raises(DataError) as caught:
                read(source)
            assert str(caught.value) == AREA_TWICE.format(source=repr(source)), (source, read)
    # Three times, and a name pandas would make up (Area.1) written as such, which is no repeat.
    thrice = _with_header(beans_sample.iloc[:, :4], tmp_path / "thrice.csv", ["Area", "Area", "x", "Area"])
    with pytest.raises(DataError, match=r"'Area' is in the header of .* 3 times \(columns 1, 2 and 4\)"):
        data.read_text_table(thrice)
    own = _with_header(beans_sample.iloc[:, :3], tmp_path / "own.csv", ["Area", "Area.1", "Class"])
    assert data.read_text_table(own).column_names == ["Area", "Area.1", "Class"]
    # A frame handed over from Python (a notebook, BigQuery) is checked too.
    frame = beans_sample.copy()
    frame.columns = names
    with pytest.raises(DataError, match="^Column name 'Area' is in the header of the table twice"):
        data.check_table(frame, "Class", FRACTIONS)


@pytest.fixture(scope="module")
def gcs_bucket():
    """A fresh bucket on the GCS-API emulator on loopback, as ``gs://NAME`` (see tests/vertex/conftest.py)."""
    from gcp_storage_emulator.server import create_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    patch = pytest.MonkeyPatch()
    patch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    from kfx import storage

    name = f"kfx-test-{uuid.uuid4().hex[:10]}"
    storage._client().create_bucket(name)
    yield f"gs://{name}"
    patch.undo()
    server.stop()


def test_a_repeated_column_name_is_refused_from_gcs_by_the_import_and_the_trainer(gcs_bucket, beans_sample, tmp_path):
    from kfx import storage
    from kfx_trainer import inputs

    names = _repeat_area(beans_sample)
    storage.write_text(f"{gcs_bucket}/twice.csv", open(_with_header(beans_sample, tmp_path / "t.csv", names)).read())
    out = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(beans_sample, preserve_index=False).rename_columns(names), out)
    storage.write_bytes(f"{gcs_bucket}/twice.parquet", out.getvalue().to_pybytes())
    for source in (f"{gcs_bucket}/twice.csv", f"{gcs_bucket}/twice.parquet"):
        with pytest.raises(DataError) as caught:
            data.read_text_table(source)
        assert str(caught.value) == AREA_TWICE.format(source=repr(source))
    # The trainer reads Vertex AI's CSV shards itself: the second shard has the repeated name.
    storage.write_text(f"{gcs_bucket}/split-0.csv", beans_sample.iloc[:300].to_csv(index=False))
    storage.write_text(
        f"{gcs_bucket}/split-1.csv", open(_with_header(beans_sample.iloc[300:], tmp_path / "s1.csv", names)).read()
    )
    with pytest.raises(DataError) as caught:
        inputs.read_split(f"{gcs_bucket}/split-*.csv", "csv")
    assert str(caught.value) == AREA_TWICE.format(source=repr(f"{gcs_bucket}/split-1.csv"))


def test_kfx_predict_reads_the_table_to_score_through_the_same_check(tmp_path, beans_sample):
    version = tmp_path / "beans" / "v1"
    version.mkdir(parents=True)
    # The model reads neither the column the repeat replaced nor the label: only the repeat is wrong.
    features = [c for c in beans_sample.columns if c not in ("Class", beans_sample.columns[2])]
    (version / "model_metadata.json").write_text(json.dumps({"label_column": "Class", "features": features}))
    (version / "model.joblib").write_bytes(b"not loaded by the import")
    manifest.write_manifest(str(version))  # a registry version is read only with the manifest of its push
    source = _with_header(beans_sample, tmp_path / "score.csv", _repeat_area(beans_sample))
    out = tmp_path / "scoring.csv"
    reference = {"uri": str(version), "model_name": "beans", "version": "1"}
    with pytest.raises(DataError) as caught:
        scoring.import_scoring_data(source, reference, str(out))
    assert str(caught.value) == AREA_TWICE.format(source=repr(source))
    assert not out.exists()


@pytest.mark.parametrize("text", ["inf", "-inf", "+inf", "INF", "Infinity", "-Infinity", "1e999"])
def test_an_infinite_number_is_refused_at_import_in_any_spelling_the_readers_take(tmp_path, beans_sample, text):
    source = tmp_path / "infinite.csv"
    _with_cell(beans_sample, "Area", 41, text).to_csv(source, index=False)
    with pytest.raises(DataError) as caught:
        _import(str(source), tmp_path)
    assert str(caught.value) == INFINITE.format(source=f"source {str(source)!r}", text=text, line=43)
    assert [p.name for p in tmp_path.iterdir()] == ["infinite.csv"]  # no split file


def test_an_infinite_number_is_refused_in_parquet_and_in_a_sample_by_its_source_line(tmp_path, beans, beans_sample):
    parquet = tmp_path / "infinite.parquet"
    beans_sample.assign(Area=lambda f: f["Area"].astype(float).where(f.index != 3, float("inf"))).to_parquet(parquet)
    with pytest.raises(DataError) as caught:
        _import(str(parquet), tmp_path)
    assert str(caught.value) == INFINITE.format(source=f"source {str(parquet)!r}", text="inf", line=5)
    # A 600-row sample of the whole table: the line is the source's, not the sample's.
    kept = splitting.sample_positions(beans["Class"], 600, 42)
    row = int(kept[300])
    source = tmp_path / "beans.csv"
    _with_cell(beans, "Area", row, "-inf").to_csv(source, index=False)
    with pytest.raises(DataError) as caught:
        _import(str(source), tmp_path, sample_rows=600)
    assert str(caught.value) == INFINITE.format(source=f"source {str(source)!r}", text="-inf", line=row + 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beans.csv", "infinite.parquet"]


def _splits_with(sample_splits, folder, change) -> dict:
    """Copies of the sample's splits into ``folder``, with ``change(frame)`` applied to the training split."""
    folder.mkdir(exist_ok=True)
    paths = {split: shutil.copy(path, folder / f"{split}.csv") for split, path in sample_splits.items()}
    change(pd.read_csv(sample_splits["train"])).to_csv(paths["train"], index=False)
    return {split: str(path) for split, path in paths.items()}


def _contract(paths, model_dir) -> dict:
    return {
        "AIP_MODEL_DIR": str(model_dir),
        "AIP_DATA_FORMAT": "csv",
        "AIP_TRAINING_DATA_URI": paths["train"],
        "AIP_VALIDATION_DATA_URI": paths["validation"],
        "AIP_TEST_DATA_URI": paths["test"],
    }


def test_the_trainer_refuses_an_infinite_number_and_a_single_class_with_one_sentence(tmp_path, sample_splits):
    from kfx_trainer import task

    paths = _splits_with(
        sample_splits, tmp_path / "infinite", lambda f: f.assign(Area=f["Area"].where(f.index != 9, "Infinity"))
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kfx_trainer.task"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **_contract(paths, tmp_path / "model")},
        timeout=300,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    # pandas reads the cell as the number, which is what the trainer quotes.
    sentence = INFINITE.format(source=repr(paths["train"]), text="inf", line=11)
    assert proc.stderr.strip() == f"trainer: error: {sentence}"
    assert not (tmp_path / "model").exists()

    single = _splits_with(sample_splits, tmp_path / "single", lambda f: f.assign(Class="SEKER"))
    with pytest.raises(DataError) as caught:
        task.main([], _contract(single, tmp_path / "model"))
    rows = len(pd.read_csv(single["train"]))
    assert str(caught.value) == (
        f"Label column 'Class' of the training data {single['train']!r} holds one class, 'SEKER', in all its {rows} "
        "rows, and a classifier needs at least two; add rows of another class, or pass --label-column with the "
        "column that holds the classes."
    )
    assert not (tmp_path / "model").exists()


def test_a_label_with_one_class_is_refused_before_any_split(tmp_path, beans_sample):
    with pytest.raises(DataError) as caught:
        data.check_table(beans_sample.assign(Class="SEKER"), "Class", FRACTIONS, source="source 'one.csv'")
    assert str(caught.value) == (
        "Label column 'Class' of source 'one.csv' holds one class, 'SEKER', in all its 599 rows, and a classifier "
        "needs at least two; add rows of another class, or pass --label-column with the column that holds the classes."
    )
    # A numeric label too, whose one class is a number.
    with pytest.raises(DataError, match="^Label column 'y' of the table holds one class, 1, in all its 20 rows"):
        data.check_table(pd.DataFrame({"x": range(20), "y": [1] * 20}), "y", FRACTIONS)


def test_a_sample_too_small_names_the_smallest_sample_rows_that_works(tmp_path):
    advice = (
        "too few to appear in every split (each class needs at least 10); "
        "pass --sample-rows 248 or more (0 for all 13611 rows)."
    )
    with pytest.raises(DataError) as caught:
        _import("", tmp_path, sample_rows=5)
    assert str(caught.value) == f"Class 'SEKER' of 'Class' has 1 row(s) in the sample of 7 rows, {advice}"
    with pytest.raises(DataError) as caught:
        _import("", tmp_path, sample_rows=247)
    assert str(caught.value) == f"Class 'BOMBAY' of 'Class' has 9 row(s) in the sample of 247 rows, {advice}"
    assert not list(tmp_path.iterdir())
    assert _import("", tmp_path, sample_rows=248)["test_rows"] == 25
    # A class the whole table has too few rows of: no sample helps, so the advice stays to add rows.
    labels = pd.Series(["big"] * 500 + ["small"] * 9)
    with pytest.raises(DataError) as caught:
        data.check_table(pd.DataFrame({"x": range(509), "y": labels}).iloc[::10], "y", FRACTIONS, sampled_from=labels)
    assert str(caught.value) == (
        "Class 'small' of 'y' has 9 row(s), too few to appear in every split "
        "(each class needs at least 10); add rows of that class or drop it."
    )


@pytest.mark.parametrize("counts", [(10, 200), (10, 11), (9, 9), (9, 9, 9), (13, 40, 150), (25, 25), (12, 250, 30)])
def test_the_advised_sample_rows_is_the_smallest_the_sample_draws_enough_of_every_class_at(counts):
    """Checked against the sample itself: every size below the advice fails, the advice passes."""
    from kfx import tablecheck

    labels = pd.Series([f"c{i}" for i, n in enumerate(counts) for _ in range(n)])
    table = pd.DataFrame({"x": range(len(labels)), "y": labels})
    needed = 10 if min(counts) >= 10 else 9
    fractions = FRACTIONS if needed == 10 else (7 / 9, 1 / 9, 1 / 9)

    def passes(rows):
        kept = splitting.sample_positions(labels, rows, 0)
        try:
            data.check_table(table if kept is None else table.iloc[kept], "y", fractions, sampled_from=labels)
            return True
        except DataError:
            return False

    advised = tablecheck.smallest_sample(labels.value_counts(), needed)
    first = next((rows for rows in range(1, len(labels)) if passes(rows)), 0)  # 0: only all rows pass
    assert advised == first and passes(advised)
