"""The trainer as a Vertex AI custom container training job with a managed dataset.

GCPC 2.x removed ``CustomContainerTrainingJobRunOp``; :func:`run_training_job`
is what the ``custom_training_job`` component runs instead. Vertex AI splits the
dataset (0.8 / 0.1 / 0.1), exports the splits to BigQuery under
``bigquery_destination`` and starts the trainer image with ``AIP_DATA_FORMAT=bigquery``
and ``AIP_*_DATA_URI`` pointing at those tables; the trainer writes ``model.joblib``
to ``AIP_MODEL_DIR``, which is ``<base_output_dir>/model/``. The job uploads no model
(it is given no serving image): whether the model becomes a version, and whether the
default one, is decided after its evaluation (see :mod:`kfx.vertex.registry`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

MODEL_FOLDER = "model"
"""The folder under ``base_output_dir`` that Vertex AI hands the trainer as ``AIP_MODEL_DIR``."""


@dataclass(frozen=True)
class TrainingResult:
    """What a finished training job left behind.

    Attributes:
        model_uri: ``gs://`` folder holding ``model.joblib`` (the job's AIP_MODEL_DIR).
        data_format: ``AIP_DATA_FORMAT`` the trainer was handed (``bigquery`` or ``csv``).
        data_uris: Split name to the ``AIP_*_DATA_URI`` the trainer was handed.
    """

    model_uri: str
    data_format: str
    data_uris: Mapping[str, str]


def job_args(bundled: bool, label_column: str, extra: Sequence[str], **hyperparameters: Any) -> list[str]:
    """The training job's container arguments.

    Args:
        bundled: The image is kfx's trainer (:func:`is_bundled_trainer`): it gets its svm/boosting options.
        label_column: The label; every trainer gets ``--label-column`` (docs/model-contract.md).
        extra: ``KEY=VALUE`` options, passed on as ``--KEY VALUE`` after the others.
        hyperparameters: The bundled trainer's options (:data:`kfx.contract.TRAINER_PARAMETERS` but the label).

    Raises:
        ConfigError: If an ``extra`` option is not ``KEY=VALUE``.
    """
    from kfx.contract import extra_args, trainer_args

    first = trainer_args(label_column=label_column, **hyperparameters) if bundled else ["--label-column", label_column]
    return first + extra_args(extra)


def is_bundled_trainer(image: str) -> bool:
    """Whether ``image`` is kfx's trainer image (named ``kfx-trainer``, as ``kfx build`` pushes it) rather than
    a team's own, which takes only ``--label-column`` and its ``--trainer-arg`` options."""
    from kfx.vertex.images import TRAINER_IMAGE_NAME

    name = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    return name == TRAINER_IMAGE_NAME


def output_dir(model_uri: str) -> str:
    """The ``base_output_dir`` whose ``model/`` folder (the trainer's AIP_MODEL_DIR) is ``model_uri``.

    The component's model artifact is ``<task folder>/model``, a folder of this task alone, so the
    trainer writes the model exactly where the artifact says it is; any other URI gets a
    ``model/`` folder of its own.
    """
    model_uri = model_uri.rstrip("/")
    parent, _, name = model_uri.rpartition("/")
    return parent if name == MODEL_FOLDER and parent.count("/") >= 2 else model_uri


def read_data_record(model_uri: str) -> tuple[str, dict[str, str]]:
    """The data format and split URIs the trainer recorded next to the model.

    Vertex AI exports the splits under names of its own choosing; the trainer
    writes the exact ``AIP_*`` values it was handed into ``model_metadata.json``,
    so the test split read here is the one this training held out, whatever other
    runs exported at the same time.

    Raises:
        SourceError: If the model folder holds no record of its data.
    """
    import json

    from kfx import storage
    from kfx.contract import METADATA_FILE
    from kfx.errors import SourceError

    path = f"{model_uri.rstrip('/')}/{METADATA_FILE}"
    try:
        metadata = json.loads(storage.read_text(path))
        return metadata["data_format"], dict(metadata["data_uris"])
    except (SourceError, KeyError, ValueError):
        raise SourceError(
            f"{path} does not record the data the trainer read; train with a trainer image built from this kfx version "
            "(kfx build)."
        ) from None


def run_training_job(
    project: str,
    location: str,
    dataset_resource_name: str,
    container_uri: str,
    staging_bucket: str,
    bigquery_destination: str,
    display_name: str,
    args: Sequence[str],
    base_output_dir: str,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    machine_type: str = "n1-standard-4",
    service_account: str = "",
    environment_variables: Optional[Mapping[str, str]] = None,
    network: str = "",
) -> TrainingResult:
    """Runs the trainer image as a custom container training job and waits for it.

    Args:
        project: Project of the job.
        location: Region of the job.
        dataset_resource_name: The Vertex AI tabular dataset (``projects/…/datasets/ID``).
        container_uri: The trainer image.
        staging_bucket: ``gs://`` bucket for the job's staging.
        bigquery_destination: ``bq://project`` where Vertex AI exports the splits.
        display_name: Name of the training job.
        args: Trainer arguments, see :func:`kfx.contract.trainer_args`.
        base_output_dir: ``gs://`` folder of the job's outputs; the model goes to its ``model/``.
        fractions: Train, validation and test fractions. Defaults to 0.8/0.1/0.1.
        machine_type: Machine of the job. Defaults to n1-standard-4.
        service_account: Service account of the job; empty uses the default.
        environment_variables: Extra environment of the trainer.
        network: ``projects/NUMBER/global/networks/NAME`` the job is peered with; empty for none.

    Returns:
        The model folder and the data the trainer read.
    """
    from google.cloud import aiplatform

    aiplatform.init(project=project, location=location, staging_bucket=staging_bucket)
    # No serving image: the job uploads no model. A model a job uploads to a new model name
    # becomes its default version whatever its evaluation; kfx uploads after evaluate instead.
    job = aiplatform.CustomContainerTrainingJob(
        display_name=display_name,
        container_uri=container_uri,
        staging_bucket=staging_bucket,
    )
    job.run(
        dataset=aiplatform.TabularDataset(dataset_resource_name),
        base_output_dir=base_output_dir,
        bigquery_destination=bigquery_destination,
        args=list(args),
        environment_variables=dict(environment_variables or {}),
        machine_type=machine_type,
        service_account=service_account or None,
        network=network or None,
        training_fraction_split=fractions[0],
        validation_fraction_split=fractions[1],
        test_fraction_split=fractions[2],
        sync=True,
    )
    model_uri = f"{base_output_dir.rstrip('/')}/{MODEL_FOLDER}"
    data_format, data_uris = read_data_record(model_uri)
    return TrainingResult(model_uri, data_format, data_uris)


def export_test_split(test_uri: str, data_format: str, path: str) -> dict[str, Any]:
    """Writes the test split the trainer held out as CSV at ``path``, so evaluate scores those rows.

    The split is read as the trainer read it (:func:`kfx.model_inputs.read_split`): a
    BigQuery export is billed to the export's own project, which the pipeline's
    service account may use, unlike the tenant project of a Vertex AI job.

    Returns:
        ``rows`` and ``source``.
    """
    from kfx import storage
    from kfx.model_inputs import read_split

    frame = read_split(test_uri, data_format)
    storage.write_text(path, frame.to_csv(index=False))
    return {"rows": len(frame), "source": test_uri}
