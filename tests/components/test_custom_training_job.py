"""custom_training_job (vertex): the trainer image as a Vertex AI custom container training job.

The network edge is Vertex AI and BigQuery. tests/vertex's ``vertex_training`` autospecs
aiplatform's ``CustomContainerTrainingJob``, ``TabularDataset``, ``Model`` and ``init`` from
the real SDK (a keyword the SDK does not take fails), and its job ``run`` does what Vertex AI
does: exports the splits to BigQuery (``fake_bigquery``, a recorder serving DataFrames), runs
the real trainer under the AIP_* contract into ``<base_output_dir>/model/`` on a loopback GCS
server, and returns no model (the job is given no serving image, so it uploads none). A
kfp.local run would reach Vertex AI from a task process the patches do not cover: the
component is checked through ``.python_func`` and its compiled
interface instead.
"""

import pandas as pd
from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Dataset, Model

from kfx import components, storage
from kfx.config import Config
from kfx.contract import TRAINER_PARAMETERS, trainer_args
from kfx.vertex import training

ARGS = [
    "--label-column",
    "Class",
    "--svm-c",
    "10.0",
    "--svm-gamma",
    "scale",
    "--seed",
    "42",
    "--svm-max-rows",
    "30000",
    "--boosting-learning-rate",
    "0.1",
    "--boosting-max-iter",
    "100",
]
TRAINER_IMAGE = "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3"


def test_trainer_args_are_the_flags_of_each_hyperparameter_in_order():
    assert (
        trainer_args(
            label_column="Class",
            svm_c=10.0,
            svm_gamma="scale",
            seed=42,
            svm_max_rows=30000,
            boosting_learning_rate=0.1,
            boosting_max_iter=100,
        )
        == ARGS
    )


def test_plain_function_runs_the_job_and_reads_back_what_the_trainer_recorded(vertex_training, vertex_names):
    result = training.run_training_job(
        project="kfx-test-project",
        location="europe-west4",
        dataset_resource_name=vertex_names.dataset,
        container_uri=TRAINER_IMAGE,
        staging_bucket=vertex_training.bucket,
        bigquery_destination="bq://kfx-export-project",
        display_name="beans1-train",
        args=ARGS,
        base_output_dir=vertex_training.task,
    )
    export = f"bq://kfx-export-project.{vertex_names.export}"
    assert result == training.TrainingResult(
        model_uri=f"{vertex_training.task}/model",
        data_format="bigquery",
        data_uris={"train": f"{export}.training", "validation": f"{export}.validation", "test": f"{export}.test"},
    )
    assert storage.exists(f"{result.model_uri}/model.joblib")
    run = vertex_training.job.return_value.run.call_args.kwargs
    assert run["args"] == [
        "--label-column",
        "Class",
        "--svm-c",
        "10.0",
        "--svm-gamma",
        "scale",
        "--seed",
        "42",
        "--svm-max-rows",
        "30000",
        "--boosting-learning-rate",
        "0.1",
        "--boosting-max-iter",
        "100",
    ]
    # Nothing is uploaded: no serving image, no model name, no version to make the default.
    assert "model_serving_container_image_uri" not in vertex_training.job.call_args.kwargs
    assert not {"model_display_name", "parent_model", "is_default_version", "model_labels"} & set(run)
    assert run["base_output_dir"] == vertex_training.task
    assert (run["service_account"], run["network"], run["environment_variables"]) == (None, None, {})


def test_plain_function_exports_the_held_out_test_split_as_csv(
    vertex_training, fake_bigquery, beans_frames, vertex_names, tmp_path
):
    test_uri = f"bq://kfx-export-project.{vertex_names.export}.test"
    path = tmp_path / "test.csv"
    assert training.export_test_split(test_uri, "bigquery", str(path)) == {"rows": 60, "source": test_uri}
    assert pd.read_csv(path).equals(beans_frames["test"].reset_index(drop=True))
    assert ("Client", "kfx-export-project") in fake_bigquery.calls


def test_python_func_sets_the_two_outputs_and_their_metadata(vertex_training, vertex_names, new_artifact):
    model, test_data = Model(name="model", uri=f"{vertex_training.task}/model"), new_artifact(Dataset, "test_data")
    outputs = components.custom_training_job.python_func(
        project="kfx-test-project",
        location="europe-west4",
        dataset=artifact_types.VertexDataset(uri="https://x", metadata={"resourceName": vertex_names.dataset}),
        container_uri=TRAINER_IMAGE,
        staging_bucket=vertex_training.bucket,
        bigquery_destination="bq://kfx-export-project",
        model=model,
        test_data=test_data,
    )
    test_uri = f"bq://kfx-export-project.{vertex_names.export}.test"
    assert tuple(outputs) == (test_uri,)
    # The trainer wrote the model where the artifact already pointed (the job's AIP_MODEL_DIR).
    assert model.uri == f"{vertex_training.task}/model" and storage.exists(f"{model.uri}/model.joblib")
    assert model.metadata == {"framework": "scikit-learn", "file": "model.joblib", "label_column": "Class"}
    assert test_data.metadata == {
        "split": "test",
        "format": "csv",
        "label_column": "Class",
        "rows": 60,
        "source": test_uri,
    }
    assert len(pd.read_csv(test_data.path)) == 60
    # Left out, the job's name is the model's with -train, and the rest is Config's.
    job = vertex_training.job.call_args.kwargs
    assert job["display_name"] == f"{Config.model_name}-train"
    run = vertex_training.job.return_value.run.call_args.kwargs
    assert run["machine_type"] == Config.machine_type
    assert (run["training_fraction_split"], run["validation_fraction_split"], run["test_fraction_split"]) == (
        Config.train_fraction,
        Config.validation_fraction,
        Config.test_fraction,
    )
    assert run["args"] == trainer_args(**{name: getattr(Config, name) for name in TRAINER_PARAMETERS})


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(
        components.custom_training_job,
        from_config={
            "model_name",
            "label_column",
            "svm_c",
            "svm_gamma",
            "seed",
            "svm_max_rows",
            "boosting_learning_rate",
            "boosting_max_iter",
            "train_fraction",
            "validation_fraction",
            "test_fraction",
            "machine_type",
            "service_account",
            "trainer_args",
        },
        # display_name: "<model_name>-train"; network: the pipeline binds peering_network; bundled_trainer: the
        # pipeline says whether the training image is kfx's.
        written={"display_name": "", "network": "", "environment_variables": {}, "bundled_trainer": True},
    )
    spec = loaded.component_spec
    assert spec.inputs["dataset"].type == "google.VertexDataset@0.0.1"
    assert {n: o.type for n, o in spec.outputs.items()} == {
        "model": "system.Model@0.0.1",
        "test_data": "system.Dataset@0.0.1",
        "test_data_uri": "String",
    }
