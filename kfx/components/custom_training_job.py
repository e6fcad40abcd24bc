"""Component: the trainer as a Vertex AI custom container training job (replaces GCPC's removed
``CustomContainerTrainingJobRunOp``)."""

from typing import NamedTuple

from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Dataset, Input, Model, Output

from kfx.component import component
from kfx.report import DATA, Figure, Report

# GCPC's artifact type google.VertexDataset lets this component consume TabularDatasetCreateOp's
# output; the module loads only kfp, not the aiplatform client. kfp imports it again in the task
# by its full name.


@component
def custom_training_job(
    project: str,
    location: str,
    dataset: Input[artifact_types.VertexDataset],
    container_uri: str,
    staging_bucket: str,
    bigquery_destination: str,
    model: Output[Model],
    test_data: Output[Dataset],
    model_name: str,
    label_column: str,
    svm_c: float,
    svm_gamma: str,
    seed: int,
    svm_max_rows: int,
    boosting_learning_rate: float,
    boosting_max_iter: int,
    train_fraction: float,
    validation_fraction: float,
    test_fraction: float,
    machine_type: str,
    service_account: str,
    display_name: str = "",
    network: str = "",
    environment_variables: dict = {},
    trainer_args: list = [],
    bundled_trainer: bool = True,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "TrainingJobOutputs", [("test_data_uri", str)]
):
    """Runs ``aiplatform.CustomContainerTrainingJob`` on the Vertex dataset with BigQuery export
    and waits; the trainer writes model.joblib into the ``model`` artifact's folder. Nothing is
    uploaded to the Model Registry here: ``push_vertex_model`` does, after evaluate.

    Args:
        project: Project of the job.
        location: Region of the job.
        dataset: The Vertex AI tabular dataset (TabularDatasetCreateOp's output).
        container_uri: The trainer image.
        staging_bucket: gs:// bucket for the job's staging.
        bigquery_destination: bq://PROJECT where Vertex AI exports the splits.
        model: The model folder (gs://, model.joblib): the job's AIP_MODEL_DIR.
        test_data: The test split Vertex AI held out, as CSV, for evaluate.
        display_name: Name of the training job; empty means "<model_name>-train".
        model_name: Name of the model in the Model Registry (names the job).
        label_column: Class column.
        svm_c: SVM regularisation C.
        svm_gamma: RBF gamma.
        seed: Random state.
        svm_max_rows: Training rows up to which the model is the exact RBF SVC; gradient boosting above.
        boosting_learning_rate: Gradient boosting's learning rate.
        boosting_max_iter: Gradient boosting's most rounds.
        train_fraction: Share of rows for training.
        validation_fraction: Share of rows for validation.
        test_fraction: Share of rows for testing.
        machine_type: Machine of the job.
        service_account: Service account of the job; empty uses the default.
        network: projects/PROJECT_NUMBER/global/networks/NAME the job is peered with; empty for none.
        environment_variables: Extra environment variables of the trainer.
        trainer_args: ``KEY=VALUE`` options handed to the container as ``--KEY VALUE`` (``--trainer-arg``).
        bundled_trainer: The image is kfx's trainer, which takes the svm/boosting options; a team's image
            gets ``--label-column`` and ``trainer_args`` only (docs/model-contract.md).

    Returns:
        The test split the trainer held out (its AIP_TEST_DATA_URI).
    """
    from kfx.contract import MODEL_FILE
    from kfx.vertex import training

    result = training.run_training_job(
        project=project,
        location=location,
        dataset_resource_name=dataset.metadata["resourceName"],
        container_uri=container_uri,
        staging_bucket=staging_bucket,
        bigquery_destination=bigquery_destination,
        display_name=display_name or f"{model_name}-train",
        args=training.job_args(
            bundled_trainer,
            label_column,
            trainer_args,
            svm_c=svm_c,
            svm_gamma=svm_gamma,
            seed=seed,
            svm_max_rows=svm_max_rows,
            boosting_learning_rate=boosting_learning_rate,
            boosting_max_iter=boosting_max_iter,
        ),
        base_output_dir=training.output_dir(model.uri),
        fractions=(train_fraction, validation_fraction, test_fraction),
        machine_type=machine_type,
        service_account=service_account,
        environment_variables=environment_variables,
        network=network,
    )
    model.uri = result.model_uri
    model.metadata.update(framework="scikit-learn", file=MODEL_FILE, label_column=label_column)
    test_uri = result.data_uris["test"]
    exported = training.export_test_split(test_uri, result.data_format, test_data.path)
    test_data.metadata.update(split="test", format="csv", label_column=label_column, **exported)
    return (test_uri,)


REPORT = Report(
    custom_training_job,
    section="model",
    figures=(Figure("uri", "model"), Figure("", "test_data.rows", name="test_rows", kind=DATA, cast=int)),
)
