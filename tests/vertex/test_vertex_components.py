"""The vertex-only components, called through ``component.python_func`` with real artifacts.

Vertex AI and BigQuery cannot be reached here. ``bigquery.Client`` is replaced at
that edge by a recorder. The training classes (``CustomContainerTrainingJob``,
``TabularDataset``) are autospecced from the real SDK, so a keyword the SDK does not
take fails; the Model Registry is the real ``aiplatform.Model`` with only its gapic
client's RPCs answered (conftest's ``model_registry``). gs:// is the loopback GCS-API
server. Beam and TFDV run for real (DirectRunner).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Artifact, Dataset, Model

from kfx import components as c

DATASET = "projects/kfx-test-project/locations/europe-west4/datasets/4242"
MODEL = "projects/kfx-test-project/locations/europe-west4/models/777"


EXPORT = "dataset_4242_tables_2026_11_26T10_00_00_000Z"
OTHER_EXPORT = "dataset_4242_tables_2026_11_26T10_05_00_000Z"  # another run's, newer
SERVING = "europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest"


@pytest.fixture
def vertex_training(monkeypatch, gcs_bucket, fake_bigquery, beans_frames):
    """The aiplatform training classes, autospecced from the real SDK so that a keyword it does not
    take fails the test. ``run`` does what Vertex AI does at the network edge: it exports the splits
    to BigQuery (the fake), runs the real trainer under the AIP_* contract with AIP_MODEL_DIR
    ``<base_output_dir>/model/`` (on the loopback GCS server), and returns no model, as a job
    without a serving image does. A second, newer export of the same dataset, made by another
    run, holds different rows."""
    from unittest import mock

    from google.cloud import aiplatform

    import kfx_trainer.task

    project = "kfx-export-project"
    for split, frame in (
        ("training", beans_frames["train"]),
        ("validation", beans_frames["validation"]),
        ("test", beans_frames["test"]),
    ):
        fake_bigquery.tables[f"{project}.{EXPORT}.{split}"] = frame
        fake_bigquery.tables[f"{project}.{OTHER_EXPORT}.{split}"] = frame.head(5)
    fake_bigquery.datasets = [EXPORT, OTHER_EXPORT]

    def run(**kwargs):
        environ = {
            "AIP_MODEL_DIR": f"{kwargs['base_output_dir']}/model/",
            "AIP_DATA_FORMAT": "bigquery",
            **{
                var: f"bq://{project}.{EXPORT}.{split}"
                for var, split in (
                    ("AIP_TRAINING_DATA_URI", "training"),
                    ("AIP_VALIDATION_DATA_URI", "validation"),
                    ("AIP_TEST_DATA_URI", "test"),
                )
            },
        }
        kfx_trainer.task.main(kwargs["args"], environ)
        return None

    job_class = mock.create_autospec(aiplatform.CustomContainerTrainingJob)
    job_class.return_value.run.side_effect = run
    monkeypatch.setattr(aiplatform, "CustomContainerTrainingJob", job_class)
    monkeypatch.setattr(aiplatform, "TabularDataset", mock.create_autospec(aiplatform.TabularDataset))
    monkeypatch.setattr(aiplatform, "init", mock.create_autospec(aiplatform.init))
    return SimpleNamespace(
        job=job_class,
        dataset=aiplatform.TabularDataset,
        init=aiplatform.init,
        bucket=gcs_bucket,
        task=f"{gcs_bucket}/pipeline_root/123/kfx-beans1-run/custom-training-job_42",
    )


def _train_job(tmp_path, vertex_training, **options):
    """Runs the training-job component on the test dataset with fresh output artifacts; the model
    artifact's URI is the task's on Vertex AI (``<pipeline root>/…/<task>/model``)."""
    model, test_data = Model(uri=f"{vertex_training.task}/model"), Dataset(uri=str(tmp_path / "test.csv"))
    outputs = c.custom_training_job.python_func(
        project="kfx-test-project",
        location="europe-west4",
        dataset=artifact_types.VertexDataset(uri="https://x", metadata={"resourceName": DATASET}),
        container_uri="europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3",
        staging_bucket=vertex_training.bucket,
        bigquery_destination="bq://kfx-export-project",
        model=model,
        test_data=test_data,
        **options,
    )
    return SimpleNamespace(outputs=outputs, model=model, test_data=test_data)


def test_custom_training_job_runs_the_trainer_image_on_the_vertex_dataset(
    vertex_training, fake_bigquery, beans_frames, tmp_path
):
    from kfx import storage

    done = _train_job(
        tmp_path,
        vertex_training,
        model_name="beans1",
        svm_c=3.0,
        seed=7,
        machine_type="n1-standard-8",
        service_account="sa@kfx-test-project.iam.gserviceaccount.com",
        environment_variables={"KFX_RUN": "1"},
        network="projects/123456789/global/networks/kfx-vpc",
    )
    vertex_training.init.assert_called_once_with(
        project="kfx-test-project", location="europe-west4", staging_bucket=vertex_training.bucket
    )
    # No serving image: the job uploads no model (push_vertex_model does, after evaluate).
    vertex_training.job.assert_called_once_with(
        display_name="beans1-train",  # no display_name given: "<model_name>-train"
        container_uri="europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3",
        staging_bucket=vertex_training.bucket,
    )
    vertex_training.dataset.assert_called_once_with(DATASET)
    vertex_training.job.return_value.run.assert_called_once_with(
        dataset=vertex_training.dataset.return_value,
        # The task's own folder: Vertex AI's AIP_MODEL_DIR is its model/, the model artifact's URI.
        base_output_dir=vertex_training.task,
        bigquery_destination="bq://kfx-export-project",
        args=[
            "--label-column",
            "Class",
            "--svm-c",
            "3.0",
            "--svm-gamma",
            "scale",
            "--seed",
            "7",
            "--svm-max-rows",
            "30000",
            "--boosting-learning-rate",
            "0.1",
            "--boosting-max-iter",
            "100",
        ],
        environment_variables={"KFX_RUN": "1"},
        machine_type="n1-standard-8",
        service_account="sa@kfx-test-project.iam.gserviceaccount.com",
        network="projects/123456789/global/networks/kfx-vpc",
        training_fraction_split=0.8,
        validation_fraction_split=0.1,
        test_fraction_split=0.1,
        sync=True,
    )
    test_uri = f"bq://kfx-export-project.{EXPORT}.test"
    assert tuple(done.outputs) == (test_uri,)
    assert done.model.uri == f"{vertex_training.task}/model"
    assert storage.exists(f"{done.model.uri}/model.joblib")
    # The test split is the one this training held out, read billed to the export's project.
    exported = pd.read_csv(done.test_data.path)
    assert exported.equals(beans_frames["test"].reset_index(drop=True))
    assert (
        done.test_data.metadata["rows"] == len(beans_frames["test"]) and done.test_data.metadata["source"] == test_uri
    )
    reads = fake_bigquery.calls[fake_bigquery.calls.index(("get_table", f"kfx-export-project.{EXPORT}.test")) - 1 :]
    assert reads[:2] == [("Client", "kfx-export-project"), ("get_table", f"kfx-export-project.{EXPORT}.test")]
    assert not [call for call in fake_bigquery.calls if OTHER_EXPORT in str(call)]


def test_the_job_outside_a_model_folder_gets_one_of_its_own():
    from kfx.vertex.training import output_dir

    assert output_dir("gs://b/root/123/run/custom-training-job_7/model") == "gs://b/root/123/run/custom-training-job_7"
    assert output_dir("gs://b/root/123/run/custom-training-job_7/model/") == "gs://b/root/123/run/custom-training-job_7"
    assert output_dir("gs://b/elsewhere/trained") == "gs://b/elsewhere/trained"


def test_a_model_folder_without_a_data_record_names_the_file_and_the_fix(vertex_training, tmp_path):
    """A trainer image older than the data record: the component stops with one sentence."""
    from kfx import storage
    from kfx.errors import SourceError

    run = vertex_training.job.return_value.run.side_effect

    def old_trainer(**kwargs):
        run(**kwargs)
        path = f"{kwargs['base_output_dir']}/model/model_metadata.json"
        metadata = json.loads(storage.read_text(path))
        del metadata["data_uris"]
        storage.write_text(path, json.dumps(metadata))

    vertex_training.job.return_value.run.side_effect = old_trainer
    with pytest.raises(
        SourceError,
        match=r"model_metadata.json does not record the data the trainer read; "
        r"train with a trainer image built from this kfx version \(kfx build\)\.$",
    ):
        _train_job(tmp_path, vertex_training)


def test_dataflow_options_are_understood_by_beam():
    from apache_beam.options.pipeline_options import (
        GoogleCloudOptions,
        PipelineOptions,
        SetupOptions,
        StandardOptions,
        WorkerOptions,
    )

    from kfx.vertex.statistics import beam_pipeline_options

    options = beam_pipeline_options(
        "DataflowRunner",
        "kfx-test-project",
        "europe-west4",
        "gs://kfx-test-bucket/",
        "kfx-vpc",
        "regions/europe-west4/subnetworks/kfx-subnet",
        "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3",
        "sa@kfx-test-project.iam.gserviceaccount.com",
    )
    assert options == {
        "runner": "DataflowRunner",
        "project": "kfx-test-project",
        "region": "europe-west4",
        "temp_location": "gs://kfx-test-bucket/dataflow/temp",
        "staging_location": "gs://kfx-test-bucket/dataflow/staging",
        "experiments": ["use_runner_v2"],
        "network": "kfx-vpc",
        "subnetwork": "regions/europe-west4/subnetworks/kfx-subnet",
        "sdk_container_image": "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3",
        "sdk_location": "container",
        "service_account_email": "sa@kfx-test-project.iam.gserviceaccount.com",
    }
    parsed = PipelineOptions(flags=[], **options)
    assert parsed.view_as(StandardOptions).runner == "DataflowRunner"
    cloud = parsed.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region, cloud.temp_location) == (
        "kfx-test-project",
        "europe-west4",
        "gs://kfx-test-bucket/dataflow/temp",
    )
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
        bq_source="bq://kfx-test-project.beans.beans1",
        statistics=stats,
        statistics_view=view,
        project="kfx-billing-project",
    )
    # The read is billed to the pipeline's project, not the table's.
    assert fake_bigquery.calls == [
        ("Client", "kfx-billing-project"),
        ("get_table", "kfx-test-project.beans.beans1"),
        ("list_rows", "kfx-test-project.beans.beans1"),
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
    assert area.num_stats.min == min(r["Area"] for r, s in zip(rows, expected, strict=True) if s == 0)
    label = next(f for f in train.features if list(f.path.step) == ["Class"])
    assert label.string_stats.unique == 7


def test_the_dataflow_read_is_an_export_billed_to_the_pipelines_project(monkeypatch):
    """The read the DataflowRunner path builds, taken through Beam's own source until the first call
    that would reach BigQuery: the extract job, replaced at that edge to record its request.

    DIRECT_READ would open its read session in the table's project instead, which a public table
    refuses (403 bigquery.readsessions.create, apache/beam#26904)."""
    import apache_beam as beam
    from apache_beam.io.gcp import bigquery as beam_bigquery
    from apache_beam.io.gcp import bigquery_tools
    from apache_beam.options.pipeline_options import PipelineOptions

    from kfx.vertex.statistics import _read_bigquery, beam_pipeline_options

    read = _read_bigquery("aju-dev-demos.beans.beans1")
    assert read.method == beam.io.ReadFromBigQuery.Method.EXPORT
    options = PipelineOptions(
        flags=[], **beam_pipeline_options("DataflowRunner", "kfx-test-project", "europe-west4", "gs://kfx-test-bucket")
    )
    source = beam_bigquery._CustomBigQuerySource(method=read.method, pipeline_options=options, **read._kwargs)

    class Sent(Exception):
        pass

    def perform_extract_job(self, destination, job_id, table_reference, destination_format, project=None, **kwargs):
        ref = table_reference
        raise Sent(project, f"{ref.projectId}.{ref.datasetId}.{ref.tableId}", destination_format, destination)

    monkeypatch.setattr(bigquery_tools.BigQueryWrapper, "_bigquery_client", staticmethod(lambda options: object()))
    monkeypatch.setattr(bigquery_tools.BigQueryWrapper, "perform_extract_job", perform_extract_job)
    with pytest.raises(Sent) as sent:
        list(source.split(desired_bundle_size=0))
    billed, table, file_format, (destination,) = sent.value.args
    assert (billed, table, file_format) == ("kfx-test-project", "aju-dev-demos.beans.beans1", "AVRO")
    assert destination.startswith("gs://kfx-test-bucket/dataflow/temp/")
