"""Submitting to Vertex AI: the compiled YAML in the real ``aiplatform.PipelineJob`` client.

Loading the YAML into ``PipelineJob`` runs offline for real. Only the network edge
is patched: ``PipelineServiceClient.create_pipeline_job`` (the one call that would
reach Vertex AI) records its request and answers like the service,
``google.auth.default`` returns anonymous credentials, and the Resource Manager
project-number lookup returns a fixed number. The pipeline root's bucket
lives on the loopback GCS-API server, where aiplatform checks it exists.
"""

from __future__ import annotations

import dataclasses

import pytest
from google.auth.credentials import AnonymousCredentials

from kfx.errors import ConfigError


@pytest.fixture
def created(monkeypatch):
    """Records create_pipeline_job requests and returns the job as Vertex AI would."""
    from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient
    from google.cloud.aiplatform_v1.types import pipeline_job as gca_pipeline_job
    from google.cloud.aiplatform_v1.types import pipeline_state

    calls = []

    def create_pipeline_job(self, *, parent, pipeline_job, pipeline_job_id, timeout=None, **kwargs):
        calls.append({"parent": parent, "pipeline_job": pipeline_job, "pipeline_job_id": pipeline_job_id})
        response = gca_pipeline_job.PipelineJob(pipeline_job)
        response.name = f"{parent}/pipelineJobs/{pipeline_job_id}"
        response.state = pipeline_state.PipelineState.PIPELINE_STATE_PENDING
        return response

    monkeypatch.setattr(PipelineServiceClient, "create_pipeline_job", create_pipeline_job)
    return calls


def test_compiled_yaml_loads_into_the_real_pipeline_job_client(vertex_config, tmp_path, fresh_aiplatform):
    from kfx.pipelines import compile_pipeline
    from kfx.vertex.submit import make_pipeline_job

    path = compile_pipeline(vertex_config, str(tmp_path / "vertex.yaml"))
    job = make_pipeline_job(vertex_config, path, credentials=AnonymousCredentials())
    resource = job._gca_resource
    values = dict(resource.runtime_config.parameter_values)
    assert values["bq_source"] == "bq://kfx-test-project.beans.beans1"
    assert values["beam_runner"] == "DataflowRunner"
    assert values["network"] == "kfx-vpc"
    assert values["subnetwork"] == "regions/europe-west4/subnetworks/kfx-subnet"
    assert values["dataflow_image"] == vertex_config.image
    assert values["training_image"] == vertex_config.training_image
    assert resource.runtime_config.gcs_output_directory == "gs://kfx-test-bucket/pipeline_root"
    assert resource.display_name == "kfx-beans1"  # the source table beans1 names the pipeline
    assert dict(resource.labels) == {"kfx-version": "0-1-0"}
    assert job.job_id == "kfx-beans-test-run"
    assert job.project == "kfx-test-project" and job.location == "europe-west4"
    assert sorted(resource.pipeline_spec["root"]["dag"]["tasks"]) == [
        "exit-handler-1",
        "vertex-pipelines-notification-email",
    ]
    # The job keeps the compiled per-task caching: on, but never for the registry steps or the e-mail.
    assert _caching(resource.pipeline_spec) == {
        "find-vertex-model": False,
        "push-vertex-model": False,
        "vertex-pipelines-notification-email": False,
    }
    off = make_pipeline_job(
        dataclasses.replace(vertex_config, enable_caching=False), path, credentials=AnonymousCredentials()
    )
    assert set(_caching(off._gca_resource.pipeline_spec, uncached_only=False).values()) == {False}


def _caching(pipeline_spec, uncached_only: bool = True) -> dict[str, bool]:
    """Each task's enableCache in a pipeline spec as the job sends it (only the uncached ones by default)."""
    found = {}
    for component in [pipeline_spec["root"], *pipeline_spec["components"].values()]:
        for name, task in component["dag"]["tasks"].items() if "dag" in component else ():
            if "dag" in pipeline_spec["components"][task["componentRef"]["name"]]:
                continue  # an exit handler or a condition: a group, not a task
            cached = bool(task.get("cachingOptions", {}).get("enableCache", False))
            if not (uncached_only and cached):
                found[name] = cached
    return found


def test_submit_sends_one_create_request_with_the_service_account(
    vertex_config, gcs_bucket, created, tmp_path, fresh_aiplatform, offline_project_lookup
):
    from kfx.vertex.submit import console_url, submit

    config = dataclasses.replace(vertex_config, bucket=gcs_bucket)
    job = submit(config, package_path=str(tmp_path / "kept.yaml"), credentials=AnonymousCredentials())
    assert len(created) == 1
    call = created[0]
    assert call["parent"] == "projects/kfx-test-project/locations/europe-west4"
    assert call["pipeline_job_id"] == "kfx-beans-test-run"
    sent = call["pipeline_job"]
    assert sent.service_account == "kfx-pipelines@kfx-test-project.iam.gserviceaccount.com"
    # The pipeline job itself joins the peered VPC (its training job does through a parameter).
    assert sent.network == "projects/123456789/global/networks/kfx-peered"
    assert sent.runtime_config.parameter_values["peering_network"] == "projects/123456789/global/networks/kfx-peered"
    assert sent.runtime_config.gcs_output_directory == f"{gcs_bucket}/pipeline_root"
    assert sent.runtime_config.parameter_values["bucket"] == gcs_bucket
    assert (tmp_path / "kept.yaml").exists()
    assert console_url(job) == (
        "https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/kfx-beans-test-run"
        "?project=kfx-test-project"
    )


def test_cli_submit_prints_the_console_link(gcs_bucket, created, anonymous_auth, capsys):
    from kfx.cli import main

    code = main(
        [
            "submit",
            "--project-id",
            "kfx-test-project",
            "--region",
            "us-central1",
            "--bucket",
            gcs_bucket,
            "--bq-source",
            "bq://kfx-test-project.beans.beans1",
            "--job-id",
            "beans-cli-1",
            "--pipeline-container-version",
            "v3",
            "--no-enable-caching",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == (
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/beans-cli-1?project=kfx-test-project"
    )
    sent = created[0]["pipeline_job"]
    assert (
        sent.runtime_config.parameter_values["training_image"]
        == "us-central1-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:v3"
    )
    assert sent.service_account == "" and sent.network == ""


BAD_OPTIONS = [
    (
        ["--bq-source", "bq://kfx-test-project.beans"],
        "--bq-source: 'bq://kfx-test-project.beans' is not a valid BigQuery table id",
    ),
    (
        ["--bq-source", "kfx-test-project.beans.beans1"],
        "--bq-source 'kfx-test-project.beans.beans1' is not a BigQuery table",
    ),
    (["--bucket", "kfx-test-bucket"], "--bucket 'kfx-test-bucket' does not start with gs://"),
    (
        ["--image", "europe-docker.pkg.dev/p/r/kfx"],
        "--image 'europe-docker.pkg.dev/p/r/kfx' is not an image URI with a tag",
    ),
    (
        ["--training-image", "localhost:5000/trainer"],
        "--training-image 'localhost:5000/trainer' is not an image URI with a tag",
    ),
    (["--beam-runner", "SparkRunner"], "Unknown Beam runner 'SparkRunner'"),
    (["--bq-dest", "bq://kfx-test-project.a.b"], "--bq-dest 'bq://kfx-test-project.a.b' is not valid"),
    (["--recipients", "ml-team"], "--recipients 'ml-team' is not an e-mail address"),
    (
        ["--recipients", "a@example.com,b@example.com,c@example.com,d@example.com"],
        "--recipients names 4 addresses and Vertex AI e-mails at most 3; pass "
        "three or fewer (a mailing list counts as one).",
    ),
    (
        ["--peering-network", "kfx-vpc"],
        "--peering-network 'kfx-vpc' is not a network Vertex AI can peer with; "
        "pass projects/PROJECT_NUMBER/global/networks/NAME (the project number, not its id).",
    ),
    (
        ["--peering-network", "projects/kfx-test-project/global/networks/kfx-vpc"],
        "--peering-network 'projects/kfx-test-project/global/networks/kfx-vpc' is not a network",
    ),
]


@pytest.mark.parametrize("options, message", BAD_OPTIONS, ids=[f"{o[0][0]}={o[0][1][:24]}" for o in BAD_OPTIONS])
def test_bad_input_fails_with_one_sentence_and_submits_nothing(options, message, created, anonymous_auth, capsys):
    from kfx.cli import main

    base = {
        "--project-id": "kfx-test-project",
        "--bucket": "gs://kfx-test-bucket",
        "--bq-source": "bq://kfx-test-project.beans.beans1",
    }
    base.update(dict(zip(options[::2], options[1::2], strict=True)))
    code = main(["submit", *[x for pair in base.items() for x in pair]])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"kfx: error: {message}")
    # One sentence on one line, no traceback.
    assert err.count("\n") == 1 and err.rstrip().endswith(".") and "Traceback" not in err
    assert created == []


def test_missing_options_are_named_together_before_anything_is_built(created, monkeypatch):
    from kfx.config import Config
    from kfx.vertex import submit as submit_module

    def fail(*args, **kwargs):
        raise AssertionError("compiled although options were missing")

    monkeypatch.setattr("kfx.pipelines.compile_pipeline", fail)
    with pytest.raises(ConfigError) as caught:
        submit_module.submit(Config(target="vertex", bucket="gs://kfx-test-bucket"))
    assert str(caught.value) == (
        "The vertex target needs --project-id and --bq-source; pass them (see "
        "docs/vertex.md for the one-time cloud set-up)."
    )
    assert created == []


def test_wait_turns_a_failed_job_into_one_sentence(gcs_bucket, created, anonymous_auth, monkeypatch, capsys):
    """The job's state comes from ``get_pipeline_job``, patched at the edge to answer FAILED."""
    from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient
    from google.cloud.aiplatform_v1.types import pipeline_job as gca_pipeline_job
    from google.cloud.aiplatform_v1.types import pipeline_state

    from kfx.cli import main

    asked = []

    def get_pipeline_job(self, *, name, retry=None, **kwargs):
        asked.append(name)
        return gca_pipeline_job.PipelineJob(name=name, state=pipeline_state.PipelineState.PIPELINE_STATE_FAILED)

    monkeypatch.setattr(PipelineServiceClient, "get_pipeline_job", get_pipeline_job)
    code = main(
        [
            "submit",
            "--project-id",
            "kfx-test-project",
            "--bucket",
            gcs_bucket,
            "--job-id",
            "beans-wait-1",
            "--bq-source",
            "bq://kfx-test-project.beans.beans1",
            "--wait",
        ]
    )
    assert code == 1
    assert capsys.readouterr().err == (
        "kfx: error: Vertex AI pipeline job beans-wait-1 ended PIPELINE_STATE_FAILED; see "
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/beans-wait-1?project=kfx-test-project.\n"
    )
    assert asked and set(asked) == {"projects/kfx-test-project/locations/us-central1/pipelineJobs/beans-wait-1"}
    assert len(created) == 1


@pytest.fixture
def metadata_service(monkeypatch):
    """Vertex AI Experiments at their network edge: ``MetadataServiceClient`` keeps contexts in a dict
    and records each call, and ``get_pipeline_job`` answers a running job whose run context exists
    (aiplatform reads it to add the run to the experiment)."""
    from google.api_core.exceptions import NotFound
    from google.cloud.aiplatform_v1.services.metadata_service import MetadataServiceClient
    from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient
    from google.cloud.aiplatform_v1.types import context as gca_context
    from google.cloud.aiplatform_v1.types import metadata_store as gca_metadata_store
    from google.cloud.aiplatform_v1.types import pipeline_job as gca_pipeline_job
    from google.cloud.aiplatform_v1.types import pipeline_state

    calls, contexts = [], {}

    def get_metadata_store(self, *, name, **kwargs):
        calls.append(("get_metadata_store", name))
        return gca_metadata_store.MetadataStore(name=name)

    def get_context(self, *, name, **kwargs):
        calls.append(("get_context", name))
        if name not in contexts:
            raise NotFound(f"{name} not found")
        return contexts[name]

    def create_context(self, *, parent, context, context_id, **kwargs):
        calls.append(("create_context", context_id, context.schema_title))
        made = gca_context.Context(context)
        made.name = f"{parent}/contexts/{context_id}"
        contexts[made.name] = made
        return made

    def add_context_children(self, *, context, child_contexts, **kwargs):
        calls.append(("add_context_children", context, tuple(child_contexts)))

    def get_pipeline_job(self, *, name, retry=None, **kwargs):
        job = gca_pipeline_job.PipelineJob(name=name, state=pipeline_state.PipelineState.PIPELINE_STATE_RUNNING)
        job.job_detail.pipeline_run_context = gca_context.Context(
            name=_run_context(name), schema_title="system.PipelineRun"
        )
        return job

    for method in (get_metadata_store, get_context, create_context, add_context_children):
        monkeypatch.setattr(MetadataServiceClient, method.__name__, method)
    monkeypatch.setattr(PipelineServiceClient, "get_pipeline_job", get_pipeline_job)
    return calls


def _run_context(job_name: str) -> str:
    project_location = job_name.split("/pipelineJobs/")[0]
    return f"{project_location}/metadataStores/default/contexts/{job_name.rsplit('/', 1)[-1]}"


def test_experiment_reaches_pipeline_job_submit_and_holds_the_run(
    gcs_bucket, created, metadata_service, anonymous_auth, capsys
):
    """``--experiment`` goes to ``PipelineJob.submit(experiment=…)`` for real: aiplatform gets or creates the
    experiment before the job is created and adds the run's context to it after. Patched at the network
    edge only: the Metadata and Pipeline services (see the fixtures)."""
    from kfx.cli import main

    code = main(
        [
            "submit",
            "--project-id",
            "kfx-test-project",
            "--bucket",
            gcs_bucket,
            "--job-id",
            "beans-exp-1",
            "--bq-source",
            "bq://kfx-test-project.beans.beans1",
            "--experiment",
            "beans-tuning",
        ]
    )
    assert code == 0, capsys.readouterr().err
    store = "projects/kfx-test-project/locations/us-central1/metadataStores/default"
    experiment = f"{store}/contexts/beans-tuning"
    assert ("create_context", "beans-tuning", "system.Experiment") in metadata_service
    # The experiment was made before the job was created, and the job's run joined it afterwards.
    assert len(created) == 1
    assert metadata_service[-1] == ("add_context_children", experiment, (f"{store}/contexts/beans-exp-1",))
    assert created[0]["pipeline_job"].display_name == "kfx-beans1"


@pytest.mark.parametrize("name", ["Beans", "beans_tuning", "-beans", "x" * 129])
def test_a_bad_experiment_name_is_one_sentence_and_nothing_is_compiled(
    name, created, anonymous_auth, monkeypatch, capsys
):
    from kfx.cli import main

    monkeypatch.setattr(
        "kfx.pipelines.compile_pipeline", lambda *a, **k: pytest.fail("compiled with a bad experiment name")
    )
    code = main(
        [
            "submit",
            "--project-id",
            "kfx-test-project",
            "--bucket",
            "gs://kfx-test-bucket",
            "--bq-source",
            "bq://kfx-test-project.beans.beans1",
            f"--experiment={name}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"kfx: error: --experiment {name!r} is not a Vertex AI experiment name; use lower-case letters, digits and '-' "
        "(at most 128, starting with a letter or digit), such as 'beans-tuning'.\n"
    )
    assert created == []


def test_cli_submit_pipeline_predict_sends_the_batch_prediction_pipeline(gcs_bucket, created, anonymous_auth, capsys):
    from kfx.cli import main

    code = main(
        [
            "submit",
            "--pipeline",
            "predict",
            "--project-id",
            "kfx-test-project",
            "--bucket",
            gcs_bucket,
            "--bq-source",
            "bq://kfx-test-project.beans.to_score",
            "--bq-dest",
            "bq://kfx-test-project.scored",
            "--model-name",
            "beans1",
            "--job-id",
            "beans-predict-1",
            "--machine-type",
            "n1-highmem-2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    sent = created[0]["pipeline_job"]
    assert sent.display_name == "kfx-beans1-predict"
    values = dict(sent.runtime_config.parameter_values)
    assert (values["bq_source"], values["bq_dest"]) == (
        "bq://kfx-test-project.beans.to_score",
        "bq://kfx-test-project.scored",
    )
    assert (values["model_name"], values["machine_type"], values["prediction_format"]) == (
        "beans1",
        "n1-highmem-2",
        "bigquery",
    )
    assert sorted(sent.pipeline_spec["root"]["dag"]["tasks"]) == [
        "default-vertex-model",
        "find-vertex-model",
        "generate-scoring-statistics",
        "import-scoring-data",
        "model-batch-predict",
        "validate-scoring-statistics",
    ]


def test_an_experiment_vertex_ai_refuses_is_one_sentence_and_submits_nothing(
    gcs_bucket, created, metadata_service, anonymous_auth, monkeypatch, capsys
):
    """The Metadata service (the network edge) answers PermissionDenied, as it does for an identity
    without roles/aiplatform.user; aiplatform then creates no job."""
    from google.api_core.exceptions import PermissionDenied
    from google.cloud.aiplatform_v1.services.metadata_service import MetadataServiceClient

    from kfx.cli import main

    def denied(self, *, name, **kwargs):
        raise PermissionDenied("Permission 'aiplatform.metadataStores.get' denied")

    monkeypatch.setattr(MetadataServiceClient, "get_metadata_store", denied)
    code = main(
        [
            "submit",
            "--project-id",
            "kfx-test-project",
            "--bucket",
            gcs_bucket,
            "--job-id",
            "beans-exp-2",
            "--bq-source",
            "bq://kfx-test-project.beans.beans1",
            "--experiment",
            "beans-tuning",
        ]
    )
    assert code == 1
    assert capsys.readouterr().err == (
        "kfx: error: Vertex AI Experiment 'beans-tuning' could not be found or created in kfx-test-project/us-central1 "
        "(403 Permission 'aiplatform.metadataStores.get' denied), so nothing was submitted; check that you may use "
        "Vertex AI there (roles/aiplatform.user).\n"
    )
    assert created == []


def test_job_and_submit_arguments_are_what_a_preview_shows(vertex_config, tmp_path):
    from kfx import __version__
    from kfx.vertex.submit import job_arguments, submit_arguments

    config = dataclasses.replace(vertex_config, experiment="beans-tuning", enable_caching=False)
    job = job_arguments(config, str(tmp_path / "job.yaml"))
    assert (job["display_name"], job["template_path"], job["project"], job["location"]) == (
        "kfx-beans1",
        str(tmp_path / "job.yaml"),
        "kfx-test-project",
        "europe-west4",
    )
    assert job["enable_caching"] is False and job["job_id"] == vertex_config.job_id == "kfx-beans-test-run"
    assert job["pipeline_root"] == "gs://kfx-test-bucket/pipeline_root"
    assert job["labels"] == {"kfx-version": __version__.replace(".", "-")}
    assert job["parameter_values"]["bq_source"] == vertex_config.bq_source
    assert job_arguments(vertex_config, "x.yaml")["enable_caching"] is None  # the compiled per-task options
    assert submit_arguments(config) == {
        "service_account": vertex_config.service_account,
        "network": "projects/123456789/global/networks/kfx-peered",
        "experiment": "beans-tuning",
    }
    assert submit_arguments(vertex_config)["experiment"] is None
