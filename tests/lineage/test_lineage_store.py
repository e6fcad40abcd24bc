"""The lineage store and recorder without a pipeline: fast, on a real ML Metadata SQLite store.

The recorder is driven with the real ``TaskEvent`` and kfp artifact classes that
``run_local`` hands it, so these tests check what is written, not how a mock was called.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time

import pytest
from kfp import dsl

from kfx.config import Config
from kfx.events import TaskEvent
from kfx.lineage.convert import from_value, to_value
from kfx.lineage.errors import LineageError
from kfx.lineage.layout import STORE_SCHEMA_VERSION
from kfx.lineage.queries import Lineage
from kfx.lineage.recorder import LineageRecorder
from kfx.lineage.store import LineageStore

RUN = "kfx-beans-20260101-000000-abcd"


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _dataset(root, split: str, rows: int) -> dsl.Dataset:
    artifact = dsl.Dataset(uri=os.path.join(root, "import-dataset", f"{split}_data"))
    artifact.metadata.update(split=split, rows=float(rows), source="/data/beans.csv")
    return artifact


def _record_small_run(tmp_path, fail_train: bool = False) -> tuple[Config, LineageRecorder]:
    """Feeds the recorder what run_local reports for import-dataset and train."""
    config = Config(runs_dir=str(tmp_path / "runs"))
    recorder = LineageRecorder(config, run_id=RUN, draw=False)
    root = str(tmp_path / "runs" / RUN / "job")
    splits = {s: _dataset(root, s, n) for s, n in (("train", 80), ("validation", 10), ("test", 10))}
    start = time.time()
    imp = TaskEvent("import-dataset", "running", start, parameters={"source": "/data/beans.csv", "seed": 42.0})
    recorder.task_started(imp)
    imp.state, imp.ended = "complete", start + 1
    imp.outputs = {f"{s}_data": a for s, a in splits.items()} | {
        "train_rows": 80,
        "validation_rows": 10,
        "test_rows": 10,
    }
    recorder.task_finished(imp)
    train = TaskEvent(
        "train",
        "running",
        start + 1,
        parameters={"svm_c": 10.0, "svm_gamma": "scale"},
        input_artifacts={f"{s}_data": [a] for s, a in splits.items()},
    )
    recorder.task_started(train)
    train.ended = start + 3
    if fail_train:
        train.state, train.error, train.error_kind = "failed", "Column 'Class' is missing.", "DataError"
    else:
        model = dsl.Model(uri=os.path.join(root, "train", "model"))
        model.metadata.update(test_accuracy=0.9, svm_c=10.0, validation_accuracy=0.88)
        train.state, train.outputs = "complete", {"model": model, "validation_accuracy": 0.88}
    recorder.task_finished(train)
    summary = {
        "status": "failed" if fail_train else "complete",
        "run_dir": "",
        "failed_step": "train" if fail_train else None,
        "error": train.error,
        "rows": {"train": 80, "validation": 10, "test": 10},
        "model": None if fail_train else {"test_accuracy": 0.9, "blessed": True, "macro_f1": 0.85},
    }
    recorder.run_finished(RUN, summary)
    assert recorder.error == ""
    return config, recorder


def test_values_round_trip_through_ml_metadata_values():
    from ml_metadata.proto import metadata_store_pb2 as pb

    for value in (True, 3, 0.25, "scale", ["Area", "Solidity"], {"a": [1, 2]}):
        message = pb.Value()
        assert to_value(value, message)
        assert from_value(message) == value
    assert not to_value(None, pb.Value())


def test_a_new_store_carries_the_layout_marker(tmp_path):
    path = tmp_path / "sub" / "metadata.sqlite"
    store = LineageStore(str(path), create=True)
    assert store.version == STORE_SCHEMA_VERSION
    marker = store.mlmd.get_context_by_type_and_name("kfx.LineageStore", "kfx-lineage")
    assert marker.custom_properties["schema_version"].int_value == STORE_SCHEMA_VERSION
    # Opening again (reading) finds the same marker and no runs.
    assert LineageStore(str(path)).runs() == []


def test_recorder_writes_contexts_executions_artifacts_and_events(tmp_path):
    config, recorder = _record_small_run(tmp_path)
    store = LineageStore(config.resolved_metadata_path)
    [run] = store.runs()
    assert (run.run_id, run.pipeline, run.status) == (RUN, "kfx-beans", "complete")
    # The run's figures, as the steps that ran declare them (kfx.report.Figure).
    assert run.metrics == {
        "source": "/data/beans.csv",
        "train_rows": 80,
        "validation_rows": 10,
        "test_rows": 10,
        "validation_accuracy": 0.88,
    }
    pipeline = store.mlmd.get_contexts_by_type("kfx.Pipeline")
    assert [c.name for c in pipeline] == ["kfx-beans"]
    assert [c.name for c in store.mlmd.get_children_contexts_by_context(pipeline[0].id)] == [RUN]
    graph = store.run_graph(RUN)
    assert sorted(x.step for x in graph.executions.values()) == ["import-dataset", "train"]
    train = graph.step("train")
    assert train.state == "complete" and train.parameters == {"svm_c": 10.0, "svm_gamma": "scale"}
    assert train.outputs == {"validation_accuracy": 0.88} and train.seconds == pytest.approx(2.0)
    types = sorted(a.type for a in graph.artifacts.values())
    assert types == ["DataSource", "Dataset", "Dataset", "Dataset", "Model"]
    assert sorted((e.kind, e.key) for e in graph.events if e.execution_id == train.id) == [
        ("input", "test_data"),
        ("input", "train_data"),
        ("input", "validation_data"),
        ("output", "model"),
    ]
    up = Lineage(store).show(RUN)
    assert up.artifact.name == f"{RUN}/train/model"
    assert up.source_uri == "/data/beans.csv"
    assert [(a.properties["split"], a.properties["rows"]) for a in up.splits] == [
        ("train", 80.0),
        ("validation", 10.0),
        ("test", 10.0),
    ]
    assert up.trainer_parameters == {"svm_c": 10.0, "svm_gamma": "scale"}


def test_a_failed_step_is_failed_and_the_steps_before_it_stay(tmp_path):
    config, _ = _record_small_run(tmp_path, fail_train=True)
    store = LineageStore(config.resolved_metadata_path)
    graph = store.run_graph(RUN)
    states = {x.step: x.state for x in graph.executions.values()}
    assert states == {"import-dataset": "complete", "train": "failed"}
    assert graph.step("train").error == "Column 'Class' is missing."
    assert len(graph.of_type("Dataset")) == 3 and graph.of_type("Model") == []
    run = store.run(RUN)
    assert (run.status, run.failed_step) == ("failed", "train")
    with pytest.raises(
        LineageError,
        match=(
            r"made no model \(it failed at train\); pass an artifact of it instead, "
            rf"e\.g\. {RUN}/import-dataset/\w+_data, or another run\.$"
        ),
    ):
        Lineage(store).show(RUN)


def test_missing_store_is_one_sentence_and_nothing_is_created(tmp_path, lineage_cli):
    path = tmp_path / "nowhere" / "metadata.sqlite"
    with pytest.raises(LineageError, match=r"^No lineage store at .*metadata\.sqlite'; run `kfx run` first"):
        LineageStore(str(path))
    code, out, err = lineage_cli("lineage", "runs", "--metadata-path", str(path))
    assert code == 2 and out == ""
    assert err.startswith("kfx: error: No lineage store at") and err.count("\n") == 1 and "Traceback" not in err
    assert not path.parent.exists()


@pytest.mark.parametrize("content", [b"run_id,accuracy\nabc,0.9\n", b"\x00" * 300])
def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path, content):
    path = tmp_path / "metadata.sqlite"
    path.write_bytes(content)
    for create in (False, True):
        with pytest.raises(LineageError, match=r"is not a database; move it aside or pass --metadata-path"):
            LineageStore(str(path), create=create)
    assert path.read_bytes() == content


def test_a_sqlite_database_that_is_not_ml_metadata_is_refused_untouched(tmp_path):
    path = tmp_path / "metadata.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('keep me')")
    before = _digest(path)
    with pytest.raises(LineageError, match="is an SQLite database but not an ML Metadata store"):
        LineageStore(str(path), create=True)
    assert _digest(path) == before


def test_a_store_from_an_older_kfx_is_refused_untouched(tmp_path):
    config, recorder = _record_small_run(tmp_path)
    # What an older layout looks like: the marker says layout 0.
    marker = recorder.store.mlmd.get_context_by_type_and_name("kfx.LineageStore", "kfx-lineage")
    marker.custom_properties["schema_version"].int_value = 0
    recorder.store.mlmd.put_contexts([marker])
    del recorder
    path = config.resolved_metadata_path
    before = _digest(path)
    for create in (False, True):
        with pytest.raises(
            LineageError, match=r"was written by an older kfx version \(store layout 0, this kfx uses 1\)"
        ):
            LineageStore(path, create=create)
    with pytest.raises(LineageError, match="older kfx version"):
        LineageRecorder(config, run_id="another-run")
    assert _digest(path) == before


def test_an_ml_metadata_store_kfx_did_not_write_is_refused(tmp_path):
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    path = tmp_path / "tfx.sqlite"
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    other = metadata_store.MetadataStore(config)
    other.put_artifact_type(pb.ArtifactType(name="Examples"))
    del other
    with pytest.raises(LineageError, match="is an ML Metadata store that kfx did not write"):
        LineageStore(str(path), create=True)


def test_run_local_stops_before_making_a_run_folder_when_the_store_is_unusable(tmp_path):
    from kfx.local import run_local

    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "metadata.sqlite").write_text("not a database")
    with pytest.raises(LineageError, match="is not a database"):
        run_local(Config(runs_dir=str(runs), sample_rows=600))
    assert sorted(os.listdir(runs)) == ["metadata.sqlite"]
    assert (runs / "metadata.sqlite").read_text() == "not a database"


def test_a_writer_waits_while_another_process_holds_the_lock(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "metadata.sqlite"
    store = LineageStore(str(path), create=True)
    # Another process: SQLite's file locks do not separate two connections of one process.
    # The holder prints the time just before it lets go; a write that waited ends after that time.
    # (Order, not a duration: a busy machine can stretch either process's timing.)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1]); db.execute('BEGIN EXCLUSIVE'); "
            "print('locked', flush=True); time.sleep(1.0); print(time.time(), flush=True); db.rollback()",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    store.put_run_context("run-1", "kfx-beans", {"status": "running"})
    written = time.time()
    released = float(holder.stdout.readline())
    assert holder.wait(60) == 0
    assert written > released
    assert [(r.run_id, r.status) for r in store.runs()] == [("run-1", "running")]


def test_a_store_from_another_ml_metadata_version_is_refused_not_migrated(tmp_path):
    path = tmp_path / "metadata.sqlite"
    LineageStore(str(path), create=True)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE MLMDEnv SET schema_version = schema_version - 1")
    before = _digest(path)
    for create in (False, True):
        with pytest.raises(
            LineageError, match=r"was written by another ml-metadata version \(MLMD database version \d+ is older"
        ):
            LineageStore(str(path), create=create)
    assert _digest(path) == before


def test_an_empty_store_file_is_named_when_reading(tmp_path):
    path = tmp_path / "metadata.sqlite"
    path.touch()
    with pytest.raises(LineageError, match=r"is empty; run `kfx run` to record a run into it first"):
        LineageStore(str(path))
    assert path.stat().st_size == 0


def test_graph_picture_lays_out_left_to_right_and_marks_a_failed_step(tmp_path):
    from kfx.lineage import graph

    config, _ = _record_small_run(tmp_path, fail_train=True)
    run = LineageStore(config.resolved_metadata_path).run_graph(RUN)
    nodes, edges = graph.nodes_and_edges(run)
    graph.layout(nodes, edges)
    columns = {" ".join(n.lines): n.column for n in nodes.values()}
    assert columns["source beans.csv"] == 0 and columns["import-dataset"] == 1
    assert columns["train_data [Dataset] rows 80"] == 2 and columns["train (failed)"] == 3
    assert len(edges) == 1 + 3 + 3
    [svg] = graph.draw(run, str(tmp_path / "pictures" / "run.svg"), title="Lineage")
    text = open(svg).read()
    assert text.count("<line ") == 7 and 'fill="#f4a6a6"' in text and ">train<" in text and ">(failed)<" in text


def test_kfx_run_with_an_unusable_store_prints_one_sentence(tmp_path, lineage_cli):
    runs = tmp_path / "runs"
    runs.mkdir()
    store = runs / "elsewhere.sqlite"
    store.write_text("id,accuracy\n")
    code, out, err = lineage_cli("run", "--runs-dir", str(runs), "--metadata-path", str(store), "--sample-rows", "600")
    assert code == 2 and out == ""
    assert err == (
        f"kfx: error: Lineage store {str(store)!r} is not a database; move it aside or pass "
        "--metadata-path with a new file (kfx never overwrites a store).\n"
    )
    assert sorted(os.listdir(runs)) == ["elsewhere.sqlite"] and store.read_text() == "id,accuracy\n"


def test_retry_waits_out_aborted_writes_and_names_a_store_locked_too_long(monkeypatch):
    from ml_metadata import errors

    from kfx.lineage import sqlite
    from kfx.lineage.errors import StoreBusy

    # The error ml-metadata raises once its own retries on a locked SQLite file run out.
    aborted = errors.AbortedError("Concurrent writes aborted after max number of retries.")
    attempts = []

    def busy_twice():
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise aborted
        return "written"

    assert sqlite.with_retry(busy_twice, path="m.sqlite") == "written" and len(attempts) == 3
    monkeypatch.setattr(sqlite, "BUSY_SECONDS", 0.3)

    def always_busy():
        raise aborted

    with pytest.raises(
        StoreBusy, match=r"^Lineage store 'm.sqlite' stayed locked by another process for 0 s; try again"
    ):
        sqlite.with_retry(always_busy, path="m.sqlite")
    with pytest.raises(errors.InvalidArgumentError):
        sqlite.with_retry(lambda: (_ for _ in ()).throw(errors.InvalidArgumentError("bad")), path="m")


def test_a_recording_failure_mid_run_does_not_fail_the_run_but_is_reported(tmp_path, capsys):
    config = Config(runs_dir=str(tmp_path / "runs"))
    recorder = LineageRecorder(config, run_id=RUN, draw=False)
    # Someone overwrites the store while the run goes on.
    with open(config.resolved_metadata_path, "r+b") as f:
        f.write(b"\x00" * 4096)
    recorder.task_started(TaskEvent("import-dataset", "running", time.time(), parameters={"source": ""}))
    assert recorder.error != ""
    summary = {"status": "complete", "run_dir": ""}
    recorder.run_finished(RUN, summary)
    assert summary["lineage_error"] == recorder.error and summary["status"] == "complete"
    assert capsys.readouterr().err == f"kfx: warning: lineage of run {RUN} is incomplete: {recorder.error}\n"
