"""Submitting the compiled pipeline to Vertex AI Pipelines with ``aiplatform.PipelineJob``."""

from __future__ import annotations

import os
import re
import tempfile
from typing import TYPE_CHECKING, Any, Optional

from kfx.errors import ConfigError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud.aiplatform import PipelineJob

    from kfx.config import Config


# Vertex AI Experiments keep an experiment as an ML Metadata context, whose id allows only these.
_EXPERIMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")


def display_name(config: Config) -> str:
    """The name of the pipeline ``config.pipeline`` names, which its runs and schedules are shown under."""
    if config.pipeline == "predict":
        from kfx.pipelines.vertex_predict import pipeline_name

        return pipeline_name(config)
    return config.resolved_pipeline_name


def check_experiment(name: str) -> None:
    """Raises ConfigError unless ``name`` is a Vertex AI experiment name (empty is no experiment)."""
    if name and not _EXPERIMENT.match(name):
        raise ConfigError(
            f"--experiment {name!r} is not a Vertex AI experiment name; use lower-case letters, digits and '-' "
            "(at most 128, starting with a letter or digit), such as 'beans-tuning'."
        )


def pipeline_root(config: Config) -> str:
    """Where Vertex AI keeps the run's artifacts: ``--pipeline-root``, else ``<bucket>/pipeline_root``."""
    return config.pipeline_root or f"{config.bucket.rstrip('/')}/pipeline_root"


def parameter_values(config: Config) -> dict[str, Any]:
    """The run's cloud parameters, passed explicitly so a reused YAML runs with this config's values
    (the prediction pipeline's are all its parameters: it has only cloud ones)."""
    if config.pipeline == "predict":
        from kfx.pipelines import defaults
        from kfx.pipelines.vertex_predict import vertex_predict_pipeline

        return defaults(vertex_predict_pipeline(config))
    from kfx.vertex.images import kfx_image, trainer_image

    values: dict[str, Any] = {
        "project_id": config.project_id,
        "region": config.region,
        "bucket": config.bucket,
        "bq_source": config.bq_source,
        "bq_dest": config.bq_dest or f"bq://{config.project_id}",
        "beam_runner": config.beam_runner,
        "network": config.network,
        "subnetwork": config.subnetwork,
        "peering_network": config.peering_network,
        "dataflow_image": kfx_image(config),
        "training_image": trainer_image(config),
        "machine_type": config.machine_type,
        "service_account": config.service_account,
    }
    return values


def job_caching(config: Config) -> Optional[bool]:
    """The ``enable_caching`` of the PipelineJob: None keeps the compiled per-task options (on, but
    off for the steps declared ``cache=False``), False turns every task's off. True would turn every
    task's on, the blessing's too, so it is never sent."""
    return None if config.enable_caching else False


def job_arguments(config: Config, template_path: str) -> dict[str, Any]:
    """The arguments of the ``aiplatform.PipelineJob`` that ``kfx submit`` and ``kfx schedule`` create
    (besides the credentials): what a preview without a project shows.

    Args:
        config: The checked vertex configuration.
        template_path: The compiled KFP IR YAML.
    """
    from kfx import __version__

    return {
        "display_name": display_name(config),
        "template_path": template_path,
        "job_id": config.job_id or None,
        "pipeline_root": pipeline_root(config),
        "parameter_values": parameter_values(config),
        "enable_caching": job_caching(config),
        "labels": {"kfx-version": __version__.replace(".", "-")},
        "project": config.project_id,
        "location": config.region,
    }


def submit_arguments(config: Config) -> dict[str, Any]:
    """The arguments of ``PipelineJob.submit``: the account the run acts as, the peered VPC its own
    tasks join (the training job joins it through its parameter) and the Vertex AI Experiment
    (aiplatform gets or creates it before the job is created and adds the run to it after)."""
    return {
        "service_account": config.service_account or None,
        "network": config.peering_network or None,
        "experiment": config.experiment or None,
    }


def make_pipeline_job(config: Config, template_path: str, credentials: Optional[Credentials] = None) -> PipelineJob:
    """The ``aiplatform.PipelineJob`` of a compiled template (nothing is sent until ``submit``).

    Args:
        config: The checked vertex configuration.
        template_path: The compiled KFP IR YAML.
        credentials: Google credentials; defaults to the application default credentials.
    """
    from google.cloud import aiplatform

    return aiplatform.PipelineJob(**job_arguments(config, template_path), credentials=credentials)


def console_url(job: PipelineJob) -> str:
    """The Cloud console page of a submitted pipeline job."""
    parts = job.resource_name.split("/")  # projects/P/locations/L/pipelineJobs/ID
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{parts[3]}/pipelines/runs/{parts[5]}"
        f"?project={job.project}"
    )


def compiled_job(
    config: Config, package_path: Optional[str] = None, credentials: Optional[Credentials] = None
) -> PipelineJob:
    """Checks the config, builds the images when asked and compiles ``config.pipeline`` into a PipelineJob.

    Args:
        config: The configuration (its target is taken as vertex).
        package_path: Where to keep the compiled YAML; defaults to a temporary file.
        credentials: Google credentials; defaults to the application default credentials.

    Returns:
        The job, not yet sent: ``submit`` runs it once, ``create_schedule`` on a schedule.

    Raises:
        ConfigError: If a required option is unset or malformed (before anything is built).
    """
    from kfx.pipelines import compile_pipeline
    from kfx.vertex.checks import check_vertex_config

    config = config.replace(target="vertex")
    check_vertex_config(config)
    check_experiment(config.experiment)
    if config.build_pipeline_container:
        from kfx.vertex.build import build_images

        build_images(config)
    with tempfile.TemporaryDirectory(prefix="kfx-submit-") as folder:
        path = package_path or os.path.join(folder, f"{display_name(config)}-vertex.yaml")
        compile_pipeline(config, path)
        return make_pipeline_job(config, path, credentials)


def experiment_error(config: Config, job: PipelineJob, err: Exception) -> Exception:
    """One sentence for an experiment aiplatform could not use: before the job was created (nothing ran),
    or after (the run goes on outside the experiment)."""
    from kfx.errors import StepFailed

    cause = str(err.__cause__ or err).splitlines()[0].rstrip(".")
    if not job._gca_resource.name:
        return StepFailed(
            f"Vertex AI Experiment {config.experiment!r} could not be found or created in "
            f"{config.project_id}/{config.region} "
            f"({cause}), so nothing was submitted; check that you may use Vertex AI there (roles/aiplatform.user)."
        )
    return StepFailed(
        f"Vertex AI pipeline job {job.resource_name.rsplit('/', 1)[-1]} was submitted but not added to experiment "
        f"{config.experiment!r} ({cause}); see {console_url(job)}."
    )


def submit(
    config: Config,
    package_path: Optional[str] = None,
    wait: bool = False,
    credentials: Optional[Credentials] = None,
) -> PipelineJob:
    """Checks the config, builds the images when asked, compiles the pipeline and submits it.

    Args:
        config: The configuration (its target is taken as vertex); ``pipeline`` picks train or predict,
            ``experiment`` the Vertex AI Experiment the run is added to.
        package_path: Where to keep the compiled YAML; defaults to a temporary file.
        wait: Block until the job ends.
        credentials: Google credentials; defaults to the application default credentials.

    Returns:
        The submitted job.

    Raises:
        ConfigError: If a required option is unset or malformed (before anything is built).
        StepFailed: If ``wait`` is set and the job does not succeed.
    """
    job = compiled_job(config, package_path, credentials)
    try:
        job.submit(**submit_arguments(config))
    except RuntimeError as err:
        if not config.experiment:
            raise
        raise experiment_error(config, job, err) from None
    if wait:
        from kfx.errors import StepFailed

        try:
            job.wait()
        except RuntimeError:
            # aiplatform raises with the whole error proto; one sentence and the link say more.
            state = job.state.name if job.state is not None else "in an unknown state"
            raise StepFailed(
                f"Vertex AI pipeline job {job.resource_name.rsplit('/', 1)[-1]} ended {state}; see {console_url(job)}."
            ) from None
    return job
