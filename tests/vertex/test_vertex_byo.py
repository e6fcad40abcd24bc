"""A team's training image and serving image on Vertex AI: ``--training-image`` with ``--trainer-arg``
passed through as the job's arguments, and ``--serving-image`` any prebuilt image or a custom container.

Only the network edge is replaced: aiplatform's training classes (autospecced, so a keyword the SDK
does not take fails), and nothing is submitted; the pipelines are compiled by the real compiler.
"""

import dataclasses

import pytest
import yaml
from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Dataset, Model

from kfx import components as c
from kfx.errors import ConfigError
from kfx.pipelines import compile_pipeline
from kfx.vertex.checks import check_vertex_config

TEAM_IMAGE = "europe-west4-docker.pkg.dev/kfx-test-project/team/bean-trainer:7"
XGBOOST = "europe-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.2-1:latest"
CUSTOM = "europe-west4-docker.pkg.dev/kfx-test-project/team/bean-server@sha256:" + "a" * 64


class Submitted(Exception):
    """Raised by the patched ``job.run``: what would have been sent to Vertex AI is in its args."""


@pytest.fixture
def submitted_job(monkeypatch):
    """aiplatform's training job classes autospecced; ``run`` records its keywords and stops there."""
    from unittest import mock

    from google.cloud import aiplatform

    job_class = mock.create_autospec(aiplatform.CustomContainerTrainingJob)

    def run(**kwargs):
        raise Submitted(kwargs)

    job_class.return_value.run.side_effect = run
    monkeypatch.setattr(aiplatform, "CustomContainerTrainingJob", job_class)
    monkeypatch.setattr(aiplatform, "TabularDataset", mock.create_autospec(aiplatform.TabularDataset))
    monkeypatch.setattr(aiplatform, "init", mock.create_autospec(aiplatform.init))
    return job_class


def _submit(tmp_path, image, **options):
    with pytest.raises(Submitted) as sent:
        c.custom_training_job.python_func(
            project="kfx-test-project",
            location="europe-west4",
            dataset=artifact_types.VertexDataset(uri="https://x", metadata={"resourceName": "projects/1/datasets/2"}),
            container_uri=image,
            staging_bucket="gs://kfx-test-bucket",
            bigquery_destination="bq://kfx-test-project",
            model=Model(uri="gs://kfx-test-bucket/pipeline_root/1/run/custom-training-job_3/model"),
            test_data=Dataset(uri=str(tmp_path / "test.csv")),
            **options,
        )
    return sent.value.args[0]


def test_a_teams_image_gets_the_label_and_its_trainer_args_only(submitted_job, tmp_path):
    sent = _submit(tmp_path, TEAM_IMAGE, trainer_args=["epochs=10", "optimizer=adam"], bundled_trainer=False)
    assert sent["args"] == ["--label-column", "Class", "--epochs", "10", "--optimizer", "adam"]
    assert submitted_job.call_args.kwargs["container_uri"] == TEAM_IMAGE


def test_the_bundled_image_gets_its_own_options_then_the_trainer_args(submitted_job, tmp_path):
    image = "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3"
    sent = _submit(tmp_path, image, trainer_args=["svm-c=3"])
    assert sent["args"] == [
        "--label-column", "Class",
        "--svm-c", "10.0",
        "--svm-gamma", "scale",
        "--seed", "42",
        "--svm-max-rows", "30000",
        "--boosting-learning-rate", "0.1",
        "--boosting-max-iter", "100",
        "--svm-c", "3",
    ]  # fmt: skip


def test_a_trainer_arg_that_is_not_key_value_is_one_sentence_before_any_job(submitted_job, tmp_path):
    with pytest.raises(ConfigError) as caught:
        c.custom_training_job.python_func(
            project="p",
            location="europe-west4",
            dataset=artifact_types.VertexDataset(uri="https://x", metadata={"resourceName": "d"}),
            container_uri=TEAM_IMAGE,
            staging_bucket="gs://b",
            bigquery_destination="bq://p",
            model=Model(uri="gs://b/pipeline_root/1/run/custom-training-job_3/model"),
            test_data=Dataset(uri=str(tmp_path / "test.csv")),
            trainer_args=["--epochs"],
            bundled_trainer=False,
        )
    assert str(caught.value) == "--trainer-arg '--epochs' is not KEY=VALUE; pass one such as --trainer-arg epochs=10."
    assert not submitted_job.called


def _compiled(config, tmp_path):
    with open(compile_pipeline(config, str(tmp_path / "vertex.yaml"))) as f:
        return yaml.safe_load(f)


def _task(spec, name):
    handler = spec["root"]["dag"]["tasks"]["exit-handler-1"]
    return spec["components"][handler["componentRef"]["name"]]["dag"]["tasks"][name]


def test_the_compiled_pipeline_hands_a_teams_image_its_args_and_serves_from_the_chosen_image(vertex_config, tmp_path):
    config = dataclasses.replace(
        vertex_config, training_image=TEAM_IMAGE, trainer_args=["epochs=10"], serving_image=XGBOOST
    )
    spec = _compiled(config, tmp_path)
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["trainer_args"]["defaultValue"] == ["epochs=10"]
    assert parameters["serving_image"]["defaultValue"] == XGBOOST
    training = _task(spec, "custom-training-job")["inputs"]["parameters"]
    assert training["trainer_args"]["componentInputParameter"] == "pipelinechannel--trainer_args"
    assert training["bundled_trainer"]["runtimeValue"]["constant"] is False
    push = _task(spec, "push-vertex-model")["inputs"]["parameters"]
    assert push["serving_container_image_uri"]["componentInputParameter"] == "pipelinechannel--serving_image"
    check = _task(spec, "check-serving-image")["componentRef"]["name"]
    executor = spec["deploymentSpec"]["executors"][spec["components"][check]["executorLabel"]]
    assert executor["container"]["image"] == XGBOOST


def test_the_kfx_trainer_image_keeps_its_options_by_default(vertex_config, tmp_path):
    spec = _compiled(vertex_config, tmp_path)
    training = _task(spec, "custom-training-job")["inputs"]["parameters"]
    assert training["bundled_trainer"]["runtimeValue"]["constant"] is True
    assert spec["root"]["inputDefinitions"]["parameters"]["serving_image"]["defaultValue"] == (
        "europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest"
    )


@pytest.mark.parametrize("image", [XGBOOST, CUSTOM, "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-3:latest"])
def test_any_prebuilt_image_or_custom_container_may_serve(vertex_config, image):
    check_vertex_config(dataclasses.replace(vertex_config, serving_image=image))


def test_an_obviously_malformed_serving_image_is_one_sentence(vertex_config):
    with pytest.raises(ConfigError) as caught:
        check_vertex_config(dataclasses.replace(vertex_config, serving_image="my server"))
    assert str(caught.value) == (
        "--serving-image 'my server' is not an image URI with a tag; pass REGION-docker.pkg.dev/PROJECT/REPO/NAME:TAG "
        "(or NAME@sha256:DIGEST)."
    )


def test_kfx_trainer_image_gets_the_runs_task_and_excluded_columns_and_a_teams_image_does_not(vertex_config, tmp_path):
    """On Vertex AI the bundled trainer reads its data itself: an excluded column must reach it as an option."""
    from kfx.vertex.training import job_args
    from kfx_trainer import task

    config = dataclasses.replace(vertex_config, task="regression", exclude_columns="Area,Perimeter")
    spec = _compiled(config, tmp_path)
    defaults = spec["root"]["inputDefinitions"]["parameters"]["trainer_args"]["defaultValue"]
    assert defaults == ["task=regression", "exclude-columns=Area,Perimeter"]
    args = job_args(False, "Class", defaults)
    assert args[2:] == ["--task", "regression", "--exclude-columns", "Area,Perimeter"]
    parsed = task.parse_args(args)
    assert (parsed.task, parsed.exclude_columns) == ("regression", "Area,Perimeter")
    team = _compiled(dataclasses.replace(config, training_image=TEAM_IMAGE), tmp_path / "team")
    assert team["root"]["inputDefinitions"]["parameters"]["trainer_args"].get("defaultValue", []) == []
