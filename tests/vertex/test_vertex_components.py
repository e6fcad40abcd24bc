"""The vertex-only components, called through ``component.python_func`` with real artifacts.

Vertex AI and BigQuery cannot be reached here. The aiplatform SDK classes that call
the Vertex AI API (``init``, ``CustomContainerTrainingJob``, ``TabularDataset``,
``Model``) and ``bigquery.Client`` are replaced at that edge by recorders, and the
tests assert the exact calls. Beam and TFDV run for real (DirectRunner).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Artifact, Dataset, Metrics, Model

from kfx import components as c

DATASET = "projects/kfx-test-project/locations/europe-west4/datasets/4242"
MODEL = "projects/kfx-test-project/locations/europe-west4/models/777"


class Recorder:
    """Records calls to the aiplatform edge."""

    def __init__(self):
        self.calls = []


@pytest.fixture
def vertex_api(monkeypatch):
    """Replaces the aiplatform entry points that reach the Vertex AI API."""
    from google.cloud import aiplatform

    rec = Recorder()

    class FakeModel:
        versioned_resource_name = f"{MODEL}@2"
        resource_name = MODEL
        uri = "gs://kfx-test-bucket/aiplatform-custom-training-2026/model"

    class FakeJob:
        def __init__(self, **kwargs):
            rec.calls.append(("CustomContainerTrainingJob", kwargs))

        def run(self, **kwargs):
            rec.calls.append(("run", kwargs))
            return FakeModel()

    class FakeModelList:
        @staticmethod
        def list(**kwargs):
            rec.calls.append(("Model.list", kwargs))
            return rec.existing

    rec.existing = []
    monkeypatch.setattr(aiplatform, "init", lambda **kw: rec.calls.append(("init", kw)))
    monkeypatch.setattr(aiplatform, "CustomContainerTrainingJob", FakeJob)
    monkeypatch.setattr(aiplatform, "TabularDataset", lambda name: rec.calls.append(("TabularDataset", name)) or f"<dataset {name}>")
    monkeypatch.setattr(aiplatform, "Model", FakeModelList)
    return rec


def _call(rec, name):
    return [kw for n, kw in rec.calls if n == name]


def _train_job(tmp_path, staging_bucket: str):
    """Runs the training-job component on the test dataset with fresh output artifacts."""
    return c.custom_training_job.python_func(
        project="kfx-test-project", location="europe-west4",
        dataset=artifact_types.VertexDataset(uri="https://x", metadata={"resourceName": DATASET}),
        container_uri="r/p/t:1", staging_bucket=staging_bucket, bigquery_destination="bq://kfx-test-project",
        model=Model(uri=str(tmp_path / "m")), vertex_model=artifact_types.VertexModel(uri=str(tmp_path / "vm")),
        test_data=Dataset(uri=str(tmp_path / "t.csv")),
    )


def test_custom_training_job_runs_the_trainer_image_on_the_vertex_dataset(vertex_api, fake_bigquery, beans_frames, tmp_path):
    test_table = "kfx-test-project.dataset_4242_tables_2026_11_26T10_00_00_000Z.test"
    fake_bigquery.datasets = [
        "dataset_4242_tables_2026_11_26T09_00_00_000Z", "dataset_4242_tables_2026_11_26T10_00_00_000Z",
        "dataset_4243_tables_2026_11_27T00_00_00_000Z", "beans",
    ]
    fake_bigquery.tables[test_table] = beans_frames["test"]
    model, vertex_model = Model(uri=str(tmp_path / "model")), artifact_types.VertexModel(uri=str(tmp_path / "vm"))
    test_data = Dataset(uri=str(tmp_path / "test.csv"))
    outputs = c.custom_training_job.python_func(
        project="kfx-test-project", location="europe-west4",
        dataset=artifact_types.VertexDataset(uri="https://x", metadata={"resourceName": DATASET}),
        container_uri="europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3",
        staging_bucket="gs://kfx-test-bucket", bigquery_destination="bq://kfx-test-project",
        model=model, vertex_model=vertex_model, test_data=test_data, svm_c=3.0, seed=7,
        machine_type="n1-standard-8", service_account="sa@kfx-test-project.iam.gserviceaccount.com",
        environment_variables={"KFX_RUN": "1"},
    )
    assert _call(vertex_api, "init") == [
        {"project": "kfx-test-project", "location": "europe-west4", "staging_bucket": "gs://kfx-test-bucket"}
    ]
    assert _call(vertex_api, "Model.list") == [{"filter": 'display_name="beans"', "order_by": "create_time desc"}]
    assert _call(vertex_api, "CustomContainerTrainingJob") == [{
        "display_name": "kfx-beans-train",
        "container_uri": "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3",
        "model_serving_container_image_uri": "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest",
        "staging_bucket": "gs://kfx-test-bucket",
    }]
    assert _call(vertex_api, "TabularDataset") == [DATASET]
    assert _call(vertex_api, "run") == [{
        "dataset": f"<dataset {DATASET}>",
        "model_display_name": "beans",
        "model_labels": {"kfx_blessed": "false"},
        "parent_model": None,
        "is_default_version": True,
        "bigquery_destination": "bq://kfx-test-project",
        "args": ["--label-column", "Class", "--svm-c", "3.0", "--svm-gamma", "scale", "--seed", "7"],
        "environment_variables": {"KFX_RUN": "1"},
        "machine_type": "n1-standard-8",
        "service_account": "sa@kfx-test-project.iam.gserviceaccount.com",
        "training_fraction_split": 0.8,
        "validation_fraction_split": 0.1,
        "test_fraction_split": 0.1,
        "sync": True,
    }]
    # The newest export of this dataset holds the test split, read through the BigQuery edge.
    assert ("list_datasets", "kfx-test-project") in fake_bigquery.calls
    assert ("get_table", test_table) in fake_bigquery.calls
    assert tuple(outputs) == (f"{MODEL}@2", test_table)
    assert model.uri == "gs://kfx-test-bucket/aiplatform-custom-training-2026/model"
    assert vertex_model.uri == f"https://europe-west4-aiplatform.googleapis.com/v1/{MODEL}@2"
    assert vertex_model.metadata["resourceName"] == f"{MODEL}@2"
    assert len(pd.read_csv(test_data.path)) == len(beans_frames["test"])
    assert test_data.metadata["rows"] == len(beans_frames["test"])


def test_a_later_run_adds_a_version_that_is_not_default(vertex_api, fake_bigquery, beans_frames, tmp_path):
    class Existing:
        resource_name = MODEL

    vertex_api.existing = [Existing()]
    fake_bigquery.datasets = ["dataset_4242_tables_2026_11_26T10_00_00_000Z"]
    fake_bigquery.tables["kfx-test-project.dataset_4242_tables_2026_11_26T10_00_00_000Z.test"] = beans_frames["test"]
    _train_job(tmp_path, staging_bucket="gs://kfx-test-bucket")
    run = _call(vertex_api, "run")[0]
    assert (run["parent_model"], run["is_default_version"]) == (MODEL, False)


def test_training_without_an_export_names_the_destination(vertex_api, fake_bigquery, tmp_path):
    from kfx.errors import SourceError

    fake_bigquery.datasets = ["beans"]
    with pytest.raises(SourceError, match=r"No BigQuery dataset dataset_4242_\* in project 'kfx-test-project'"):
        _train_job(tmp_path, staging_bucket="gs://b")


def test_bless_labels_the_version_and_makes_it_default(monkeypatch, tmp_path):
    from google.cloud import aiplatform

    calls = []

    class Registry:
        def add_version_aliases(self, new_aliases, version):
            calls.append(("add_version_aliases", new_aliases, version))

    class FakeModel:
        def __init__(self, model_name, version=None):
            calls.append(("Model", model_name, version))
            self.labels = {"kfx_blessed": "false", "team": "ml"}
            self.version_id = version
            self.versioning_registry = Registry()

        def update(self, labels):
            calls.append(("update", labels))

    monkeypatch.setattr(aiplatform, "init", lambda **kw: calls.append(("init", kw)))
    monkeypatch.setattr(aiplatform, "Model", FakeModel)
    metrics = Metrics(uri=str(tmp_path / "metrics"))
    metrics.log_metric("accuracy", 0.9312)
    blessing = Artifact(uri=str(tmp_path / "blessing.json"))
    outputs = c.bless_vertex_model.python_func(
        project="kfx-test-project", location="europe-west4",
        vertex_model=artifact_types.VertexModel(uri="https://x", metadata={"resourceName": f"{MODEL}@2"}),
        metrics=metrics, blessing=blessing,
    )
    assert calls == [
        ("init", {"project": "kfx-test-project", "location": "europe-west4"}),
        ("Model", MODEL, "2"),
        ("update", {"kfx_blessed": "true", "team": "ml", "kfx_accuracy": "0_9312"}),
        ("add_version_aliases", ["default"], "2"),
    ]
    assert tuple(outputs) == ("2",)
    assert json.loads((tmp_path / "blessing.json").read_text())["version"] == "2"


def test_dataflow_options_are_understood_by_beam():
    from apache_beam.options.pipeline_options import (
        GoogleCloudOptions, PipelineOptions, SetupOptions, StandardOptions, WorkerOptions,
    )

    from kfx.vertex.statistics import beam_pipeline_options

    options = beam_pipeline_options(
        "DataflowRunner", "kfx-test-project", "europe-west4", "gs://kfx-test-bucket/", "kfx-vpc",
        "regions/europe-west4/subnetworks/kfx-subnet", "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3",
        "sa@kfx-test-project.iam.gserviceaccount.com",
    )
    assert options == {
        "runner": "DataflowRunner", "project": "kfx-test-project", "region": "europe-west4",
        "temp_location": "gs://kfx-test-bucket/dataflow/temp", "staging_location": "gs://kfx-test-bucket/dataflow/staging",
        "experiments": ["use_runner_v2"], "network": "kfx-vpc",
        "subnetwork": "regions/europe-west4/subnetworks/kfx-subnet",
        "sdk_container_image": "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3",
        "sdk_location": "container",
        "service_account_email": "sa@kfx-test-project.iam.gserviceaccount.com",
    }
    parsed = PipelineOptions(flags=[], **options)
    assert parsed.view_as(StandardOptions).runner == "DataflowRunner"
    cloud = parsed.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region, cloud.temp_location) == ("kfx-test-project", "europe-west4", "gs://kfx-test-bucket/dataflow/temp")
    worker = parsed.view_as(WorkerOptions)
    assert (worker.network, worker.subnetwork) == ("kfx-vpc", "regions/europe-west4/subnetworks/kfx-subnet")
    assert worker.sdk_container_image == "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3"
    assert cloud.service_account_email == "sa@kfx-test-project.iam.gserviceaccount.com"
    assert parsed.view_as(SetupOptions).sdk_location == "container"
    assert beam_pipeline_options("DirectRunner", "p", "r", "gs://b") == {"runner": "DirectRunner"}


def test_rows_split_by_a_stable_seeded_hash():
    from kfx.vertex.statistics import split_of

    rows = [{"Area": i, "Class": "SEKER" if i % 2 else "SIRA"} for i in range(2000)]
    splits = [split_of(r, (0.8, 0.1, 0.1), 42) for r in rows]
    assert splits == [split_of(dict(reversed(list(r.items()))), (0.8, 0.1, 0.1), 42) for r in rows]
    counts = [splits.count(i) for i in range(3)]
    assert sum(counts) == 2000 and 1500 < counts[0] < 1700 and 130 < counts[1] < 270 and 130 < counts[2] < 270
    assert splits != [split_of(r, (0.8, 0.1, 0.1), 43) for r in rows]


def test_statistics_of_a_bigquery_table_in_memory(fake_bigquery, beans_frames, tmp_path):
    """The memory path: the table comes through the BigQuery edge, TFDV runs for real."""
    from kfx import statistics

    table = pd.concat(list(beans_frames.values()), ignore_index=True)
    fake_bigquery.tables["kfx-test-project.beans.beans1"] = table
    stats, view = Artifact(uri=str(tmp_path / "statistics")), Artifact(uri=str(tmp_path / "view.html"))
    outputs = c.generate_statistics_bq.python_func(
        bq_source="bq://kfx-test-project.beans.beans1", statistics=stats, statistics_view=view,
        project="kfx-billing-project",
    )
    # The read is billed to the pipeline's project, not the table's.
    assert fake_bigquery.calls == [
        ("Client", "kfx-billing-project"),
        ("get_table", "kfx-test-project.beans.beans1"), ("list_rows", "kfx-test-project.beans.beans1"),
    ]
    assert tuple(outputs) == (16 + 1,)
    loaded = statistics.load_statistics(stats.path)
    rows = {name: int(p.datasets[0].num_examples) for name, p in loaded.items()}
    assert sum(rows.values()) == len(table) and rows["train"] > rows["validation"]
    assert stats.metadata["engine"] == "memory" and stats.metadata["source"] == "bq://kfx-test-project.beans.beans1"
    assert "facets" in (tmp_path / "view.html").read_text().lower()


def test_beam_statistics_pipeline_on_the_direct_runner(beans_frames, tmp_path):
    """The Dataflow pipeline's transforms, run on Beam's DirectRunner from in-memory rows
    (``beam.Create`` stands in for ``ReadFromBigQuery``, which needs BigQuery)."""
    import apache_beam as beam

    from kfx.vertex.statistics import beam_statistics, split_of

    table = pd.concat(list(beans_frames.values()), ignore_index=True)
    rows = table.to_dict(orient="records")
    stats = beam_statistics(beam.Create(rows), (0.8, 0.1, 0.1), 42, {"runner": "DirectRunner"}, str(tmp_path / "out"))
    expected = [split_of(r, (0.8, 0.1, 0.1), 42) for r in rows]
    counts = {name: int(p.datasets[0].num_examples) for name, p in stats.items()}
    assert counts == {"train": expected.count(0), "validation": expected.count(1), "test": expected.count(2)}
    assert sum(counts.values()) == len(rows) and counts["train"] > 400
    train = stats["train"].datasets[0]
    assert train.name == "train" and len(train.features) == 17
    area = next(f for f in train.features if list(f.path.step) == ["Area"])
    assert area.num_stats.min == min(r["Area"] for r, s in zip(rows, expected) if s == 0)
    label = next(f for f in train.features if list(f.path.step) == ["Class"])
    assert label.string_stats.unique == 7
