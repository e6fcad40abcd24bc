"""The trainer as a Vertex AI custom container training job with a managed dataset.

GCPC 2.x removed ``CustomContainerTrainingJobRunOp``; :func:`run_training_job`
is what the ``custom_training_job`` component runs instead. Vertex AI splits the
dataset (0.8 / 0.1 / 0.1), exports the splits to BigQuery under
``bigquery_destination`` and starts the trainer image with ``AIP_DATA_FORMAT=bigquery``
and ``AIP_*_DATA_URI`` pointing at those tables; the trainer writes ``model.joblib``
to ``AIP_MODEL_DIR``, which is uploaded as a new version of the model with the
prebuilt scikit-learn serving image. The version is not made the default here:
only a blessed model is (see :mod:`kfx.vertex.registry`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

BLESSED_LABEL = "kfx_blessed"


@dataclass(frozen=True)
class TrainingResult:
    """What a finished training job left behind.

    Attributes:
        model_resource_name: ``projects/…/models/ID@VERSION`` of the uploaded model version.
        model_uri: ``gs://`` folder holding ``model.joblib`` (the job's AIP_MODEL_DIR).
        test_table: ``project.dataset.test``: the test split Vertex AI exported.
    """

    model_resource_name: str
    model_uri: str
    test_table: str


def trainer_args(label_column: str, svm_c: float, svm_gamma: str, seed: int) -> list[str]:
    """The trainer's command-line arguments (the image's entrypoint is ``python -m trainer.task``)."""
    return ["--label-column", label_column, "--svm-c", str(svm_c), "--svm-gamma", str(svm_gamma), "--seed", str(seed)]


def bq_project(bigquery_destination: str) -> str:
    """The project of ``bq://project`` or ``bq://project.dataset``."""
    return bigquery_destination[len("bq://"):].split(".", 1)[0]


def find_parent_model(display_name: str) -> Optional[str]:
    """The resource name of the newest model called ``display_name``, so a new run adds a version to it."""
    from google.cloud import aiplatform

    models = aiplatform.Model.list(filter=f'display_name="{display_name}"', order_by="create_time desc")
    return models[0].resource_name if models else None


def find_test_table(bigquery_destination: str, dataset_resource_name: str) -> str:
    """The test split table Vertex AI exported for the newest training on this dataset.

    Vertex AI names the export dataset ``dataset_<dataset-id>_<annotation-type>_<timestamp>``;
    the timestamp sorts, so the greatest matching name is the newest export.

    Raises:
        SourceError: If no export dataset exists in the destination project.
    """
    from google.cloud import bigquery

    from kfx.errors import SourceError

    project = bq_project(bigquery_destination)
    prefix = f"dataset_{dataset_resource_name.rstrip('/').rsplit('/', 1)[-1]}_"
    names = [d.dataset_id for d in bigquery.Client(project=project).list_datasets(project=project)]
    exports = sorted(n for n in names if n.startswith(prefix))
    if not exports:
        raise SourceError(
            f"No BigQuery dataset {prefix}* in project {project!r}; check --bq-dest and the training job's log."
        )
    return f"{project}.{exports[-1]}.test"


def run_training_job(
    project: str,
    location: str,
    dataset_resource_name: str,
    container_uri: str,
    staging_bucket: str,
    bigquery_destination: str,
    display_name: str,
    model_display_name: str,
    args: Sequence[str],
    serving_container_image_uri: str,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    machine_type: str = "n1-standard-4",
    service_account: str = "",
    environment_variables: Optional[Mapping[str, str]] = None,
) -> TrainingResult:
    """Runs the trainer image as a custom container training job and waits for it.

    Args:
        project: Project of the job.
        location: Region of the job.
        dataset_resource_name: The Vertex AI tabular dataset (``projects/…/datasets/ID``).
        container_uri: The trainer image.
        staging_bucket: ``gs://`` bucket for the job's staging and model output.
        bigquery_destination: ``bq://project`` where Vertex AI exports the splits.
        display_name: Name of the training job.
        model_display_name: Name of the model in the Model Registry.
        args: Trainer arguments, see :func:`trainer_args`.
        serving_container_image_uri: Prebuilt scikit-learn serving image.
        fractions: Train, validation and test fractions. Defaults to 0.8/0.1/0.1.
        machine_type: Machine of the job. Defaults to n1-standard-4.
        service_account: Service account of the job; empty uses the default.
        environment_variables: Extra environment of the trainer.

    Returns:
        The uploaded model version, its folder and the test split table.
    """
    from google.cloud import aiplatform

    aiplatform.init(project=project, location=location, staging_bucket=staging_bucket)
    parent = find_parent_model(model_display_name)
    job = aiplatform.CustomContainerTrainingJob(
        display_name=display_name,
        container_uri=container_uri,
        model_serving_container_image_uri=serving_container_image_uri,
        staging_bucket=staging_bucket,
    )
    model = job.run(
        dataset=aiplatform.TabularDataset(dataset_resource_name),
        model_display_name=model_display_name,
        model_labels={BLESSED_LABEL: "false"},
        parent_model=parent,
        # A first version is always the default; later ones become it only when blessed.
        is_default_version=parent is None,
        bigquery_destination=bigquery_destination,
        args=list(args),
        environment_variables=dict(environment_variables or {}),
        machine_type=machine_type,
        service_account=service_account or None,
        training_fraction_split=fractions[0],
        validation_fraction_split=fractions[1],
        test_fraction_split=fractions[2],
        sync=True,
    )
    return TrainingResult(
        model_resource_name=model.versioned_resource_name,
        model_uri=model.uri,
        test_table=find_test_table(bigquery_destination, dataset_resource_name),
    )


def export_test_split(test_table: str, path: str) -> dict[str, Any]:
    """Writes the test split table as CSV at ``path``, so the evaluate component scores the held-out rows.

    Returns:
        ``rows`` and ``source``.
    """
    from kfx import data, storage

    frame = data.read_source(f"bq://{test_table}")
    storage.write_text(path, frame.to_csv(index=False))
    return {"rows": len(frame), "source": f"bq://{test_table}"}
