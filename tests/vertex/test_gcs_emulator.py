"""``gs://`` reads and writes of kfx and the trainer against a real GCS-API server on loopback.

The server is ``gcp-storage-emulator`` (see conftest.py); google-cloud-storage talks
HTTP to it exactly as to Cloud Storage. BigQuery cannot be reached here: where the
trainer reads ``AIP_DATA_FORMAT=bigquery``, ``bigquery.Client`` is replaced at the
edge by a fake that serves DataFrames and records the calls, which are asserted.
"""

from __future__ import annotations

import io
import json
import os

import pandas as pd
import pytest

from kfx import storage
from kfx.errors import SourceError


def _upload_splits(bucket: str, frames) -> dict[str, str]:
    """Writes each split as two CSV shards, as Vertex AI exports them, and returns the wildcards."""
    uris = {}
    for split, frame in frames.items():
        half = len(frame) // 2
        for shard, part in enumerate((frame.iloc[:half], frame.iloc[half:])):
            storage.write_text(f"{bucket}/data/{split}-{shard:05d}-of-00002.csv", part.to_csv(index=False))
        uris[split] = f"{bucket}/data/{split}-*.csv"
    return uris


def test_storage_round_trip_exists_and_wildcards(gcs_bucket):
    storage.write_text(f"{gcs_bucket}/a/one.csv", "x\n1\n")
    storage.write_bytes(f"{gcs_bucket}/a/two.csv", b"x\n2\n")
    storage.write_text(f"{gcs_bucket}/b/three.txt", "3")
    assert storage.read_text(f"{gcs_bucket}/a/one.csv") == "x\n1\n"
    assert storage.exists(f"{gcs_bucket}/a/two.csv") and not storage.exists(f"{gcs_bucket}/a/none.csv")
    assert storage.expand(f"{gcs_bucket}/a/*.csv") == [f"{gcs_bucket}/a/one.csv", f"{gcs_bucket}/a/two.csv"]
    assert storage.expand(f"{gcs_bucket}/a/t?o.csv") == [f"{gcs_bucket}/a/two.csv"]
    assert storage.expand(f"{gcs_bucket}/[ab]/*") == [
        f"{gcs_bucket}/a/one.csv",
        f"{gcs_bucket}/a/two.csv",
        f"{gcs_bucket}/b/three.txt",
    ]
    # A plain object name stands for itself, present or not (the reader then names it).
    assert storage.expand(f"{gcs_bucket}/a/XY.csv") == [f"{gcs_bucket}/a/XY.csv"]
    with pytest.raises(SourceError, match="does not exist; check the bucket and object path"):
        storage.read_bytes(f"{gcs_bucket}/a/none.csv")


def test_import_reads_a_gs_csv_source(gcs_bucket, beans_frames):
    from kfx import data

    storage.write_text(f"{gcs_bucket}/beans.csv", beans_frames["train"].to_csv(index=False))
    table = data.read_source(f"{gcs_bucket}/beans.csv")
    assert table.shape == beans_frames["train"].shape
    assert list(table.columns) == list(beans_frames["train"].columns)
    # The import step's reader: the object's cells as text, and written back the object's bytes.
    from kfx import csvtext

    text = data.read_text_table(f"{gcs_bucket}/beans.csv")
    with storage.open_write(f"{gcs_bucket}/copy/beans.csv") as out:
        csvtext.write_csv(text, out)
    assert storage.read_bytes(f"{gcs_bucket}/copy/beans.csv") == storage.read_bytes(f"{gcs_bucket}/beans.csv")
    with storage.open_read(f"{gcs_bucket}/copy/beans.csv") as f:
        assert pd.read_csv(f).shape == beans_frames["train"].shape


def test_trainer_reads_csv_wildcards_and_writes_the_model_to_gs(gcs_bucket, beans_frames, tmp_path):
    from kfx.evaluation import evaluate_model
    from kfx_trainer import task

    uris = _upload_splits(gcs_bucket, beans_frames)
    model_dir = f"{gcs_bucket}/model"
    environ = {
        # Vertex AI names the model folder with a trailing slash.
        "AIP_MODEL_DIR": model_dir + "/",
        "AIP_DATA_FORMAT": "csv",
        "AIP_TRAINING_DATA_URI": uris["train"],
        "AIP_VALIDATION_DATA_URI": uris["validation"],
        "AIP_TEST_DATA_URI": uris["test"],
    }
    metrics = task.main(["--seed", "7"], environ=environ)
    assert metrics["train_rows"] == 479 and metrics["test"]["rows"] == 60
    assert storage.expand(f"{model_dir}/*") == [
        f"{model_dir}/metrics.json",
        f"{model_dir}/model.joblib",
        f"{model_dir}/model_metadata.json",
    ]
    assert json.loads(storage.read_text(f"{model_dir}/metrics.json")) == metrics
    # The evaluate step reads the same gs:// model and test shards and agrees with the trainer.
    result = evaluate_model(model_dir + "/", uris["test"], min_accuracy=0.5)
    assert result["rows"] == 60
    assert result["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert result["accuracy"] > 0.8 and result["blessed"] is True
    # A model folder named with a trailing slash is pushed from the same objects.
    from kfx import registry

    pushed = registry.push_model(model_dir + "/", str(tmp_path / "registry"), "beans", result)
    with open(os.path.join(pushed["uri"], "model.joblib"), "rb") as f:
        assert f.read() == storage.read_bytes(f"{model_dir}/model.joblib")


def test_trainer_reads_bigquery_splits_as_vertex_ai_hands_them_over(gcs_bucket, beans_frames, fake_bigquery):
    """BigQuery is patched at ``bigquery.Client``; the model still goes to the GCS-API server."""
    from kfx_trainer import task

    tables = {
        f"kfx-test-project.dataset_123_tables_2026_11_26T10_00_00_000Z.{name}": beans_frames[split]
        for name, split in (("training", "train"), ("validation", "validation"), ("test", "test"))
    }
    fake_bigquery.tables.update(tables)
    environ = {
        "AIP_MODEL_DIR": f"{gcs_bucket}/bq-model",
        "AIP_DATA_FORMAT": "bigquery",
        "AIP_TRAINING_DATA_URI": "bq://kfx-test-project.dataset_123_tables_2026_11_26T10_00_00_000Z.training",
        # Written without the scheme, the trainer reads it as a BigQuery table all the same.
        "AIP_VALIDATION_DATA_URI": "kfx-test-project.dataset_123_tables_2026_11_26T10_00_00_000Z.validation",
        "AIP_TEST_DATA_URI": "bq://kfx-test-project.dataset_123_tables_2026_11_26T10_00_00_000Z.test",
    }
    metrics = task.main([], environ=environ)
    assert [c for c in fake_bigquery.calls if c[0] == "get_table"] == [("get_table", t) for t in tables]
    assert {c for c in fake_bigquery.calls if c[0] == "Client"} == {("Client", "kfx-test-project")}
    assert (metrics["train_rows"], metrics["validation"]["rows"], metrics["test"]["rows"]) == (479, 60, 60)
    assert storage.exists(f"{gcs_bucket}/bq-model/model.joblib")


def test_statistics_artifact_written_to_and_read_from_gs(gcs_bucket):
    """The statistics folder format survives a round trip through Cloud Storage (no TFDV needed)."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from kfx import statistics

    stats = {}
    for name, rows in (("train", 480), ("validation", 60)):
        proto = statistics_pb2.DatasetFeatureStatisticsList()
        dataset = proto.datasets.add(name=name, num_examples=rows)
        dataset.features.add(name="Area")
        stats[name] = proto
    statistics.write_statistics(stats, f"{gcs_bucket}/statistics")
    loaded = statistics.load_statistics(f"{gcs_bucket}/statistics")
    assert {name: p.datasets[0].num_examples for name, p in loaded.items()} == {"train": 480, "validation": 60}


def test_model_folder_without_model_is_a_clear_error(gcs_bucket):
    from kfx.evaluation import load_model

    storage.write_text(f"{gcs_bucket}/empty/metrics.json", "{}")
    with pytest.raises(SourceError, match="holds no model.joblib"):
        load_model(f"{gcs_bucket}/empty")


def test_csv_written_by_pandas_reads_back_identically(gcs_bucket, beans_frames):
    frame = beans_frames["validation"]
    storage.write_text(f"{gcs_bucket}/v.csv", frame.to_csv(index=False))
    back = pd.read_csv(io.BytesIO(storage.read_bytes(f"{gcs_bucket}/v.csv")))
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
