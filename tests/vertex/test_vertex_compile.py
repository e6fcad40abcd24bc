"""Both targets compile; the vertex YAML has the right tasks, order, exit handler and inputs.

These read the real compiler's output (KFP IR YAML), not the Python pipeline object.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from kfx.config import Config
from kfx.pipeline_tasks import tasks_of
from kfx.pipelines import compile_pipeline
from kfx.pipelines.local_train import beans
from kfx.pipelines.vertex_train import vertex_train_pipeline


def _vertex_tasks(config: Config) -> tuple[str, ...]:
    """The Vertex AI training pipeline's tasks (without the e-mail of its exit handler)."""
    return tuple(n for n in tasks_of(vertex_train_pipeline(config)).names if n != "vertex-pipelines-notification-email")


def _compile(config: Config, tmp_path) -> dict:
    path = compile_pipeline(config, str(tmp_path / f"{config.target}.yaml"))
    with open(path) as f:
        return yaml.safe_load(f)


@pytest.fixture
def spec(vertex_config, tmp_path):
    return _compile(vertex_config, tmp_path)


def _dag(spec: dict) -> dict:
    """The tasks inside the exit handler."""
    handler = spec["root"]["dag"]["tasks"]["exit-handler-1"]
    return spec["components"][handler["componentRef"]["name"]]["dag"]["tasks"]


def _constant(task: dict, name: str):
    return task["inputs"]["parameters"][name]["runtimeValue"]["constant"]


def _from_pipeline(task: dict, name: str) -> str:
    return task["inputs"]["parameters"][name]["componentInputParameter"]


def test_local_target_compiles_with_its_seven_steps_in_order(tmp_path):
    spec = _compile(Config(), tmp_path)
    tasks = spec["root"]["dag"]["tasks"]
    assert list(tasks) == sorted(tasks_of(beans).names)
    # The run order kfx's runner reads from the compiled spec is the pipeline's.
    assert tasks_of(beans).names == (
        "import-dataset",
        "find-model",
        "generate-statistics",
        "infer-schema",
        "validate-statistics",
        "train",
        "check-serving",
        "evaluate",
        "push-model",
    )
    # Each step depends on the ones before it that feed it.
    assert tasks["generate-statistics"]["dependentTasks"] == ["import-dataset"]
    assert sorted(tasks["train"]["dependentTasks"]) == ["import-dataset", "validate-statistics"]
    assert "exit-handler-1" not in tasks


def test_vertex_dag_runs_inside_the_notification_exit_handler(spec, vertex_config):
    root = spec["root"]["dag"]["tasks"]
    assert sorted(root) == ["exit-handler-1", "vertex-pipelines-notification-email"]
    notify = root["vertex-pipelines-notification-email"]
    assert notify["dependentTasks"] == ["exit-handler-1"]
    assert notify["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    assert _constant(notify, "recipients") == vertex_config.recipients
    assert notify["inputs"]["parameters"]["pipeline_task_final_status"] == {
        "taskFinalStatus": {"producerTask": "exit-handler-1"}
    }


def test_vertex_tasks_and_their_order(spec, vertex_config):
    dag = _dag(spec)
    assert {name: sorted(task.get("dependentTasks", [])) for name, task in dag.items()} == {
        "tabular-dataset-create": [],
        "find-vertex-model": [],
        "generate-statistics-bq": [],
        "infer-schema": ["generate-statistics-bq"],
        "validate-statistics": [
            "find-vertex-model",
            "generate-statistics-bq",
            "infer-schema",
        ],  # drift from the champion
        "custom-training-job": ["tabular-dataset-create", "validate-statistics"],
        "prepare-serving-check": ["custom-training-job"],
        "check-serving-image": ["custom-training-job", "prepare-serving-check"],
        # The champion is scored on the same rows; the serving verdict is part of the blessing.
        "evaluate": ["check-serving-image", "custom-training-job", "find-vertex-model"],
        "push-vertex-model": [
            "custom-training-job",
            "evaluate",
            "find-vertex-model",
            "generate-statistics-bq",
            "infer-schema",
        ],
    }
    assert dag["tabular-dataset-create"]["componentRef"]["name"] == "comp-tabular-dataset-create"
    # Each task shows under its step's name, which the lineage of a Vertex AI run reads back.
    names = {name: task["taskInfo"]["name"] for name, task in dag.items()}
    assert sorted(names.values()) == sorted(_vertex_tasks(vertex_config))


def test_the_push_always_runs_and_reads_the_blessing_the_champion_and_what_the_version_keeps(spec):
    """No condition: an unblessed model is still recorded (and kept as a non-default version when the
    model exists); the blessing is an input that decides the default alias."""
    dag = _dag(spec)
    assert not [name for name in dag if name.startswith("condition")]
    push = dag["push-vertex-model"]
    assert "triggerPolicy" not in push
    assert push["inputs"]["parameters"]["blessed"]["taskOutputParameter"] == {
        "producerTask": "evaluate",
        "outputParameterKey": "blessed",
    }
    assert {
        name: (a["taskOutputArtifact"]["producerTask"], a["taskOutputArtifact"]["outputArtifactKey"])
        for name, a in push["inputs"]["artifacts"].items()
    } == {
        "model": ("custom-training-job", "model"),
        "metrics": ("evaluate", "metrics"),
        "classification_metrics": ("evaluate", "classification_metrics"),
        "statistics": ("generate-statistics-bq", "statistics"),
        "schema": ("infer-schema", "schema"),
        "registered_model": ("find-vertex-model", "registered_model"),
    }
    assert _from_pipeline(push, "serving_container_image_uri") == "pipelinechannel--serving_image"
    assert _from_pipeline(push, "model_name") == "pipelinechannel--model_name"
    find = dag["find-vertex-model"]
    assert (_from_pipeline(find, "project"), _from_pipeline(find, "location"), _from_pipeline(find, "model_name")) == (
        "pipelinechannel--project_id",
        "pipelinechannel--region",
        "pipelinechannel--model_name",
    )
    outputs = spec["components"]["comp-push-vertex-model"]["outputDefinitions"]["artifacts"]
    assert outputs["vertex_model"]["artifactType"]["schemaTitle"] == "google.VertexModel"


def test_parameters_default_to_the_config_and_reach_the_right_inputs(spec, vertex_config):
    defaults = {k: v.get("defaultValue") for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    assert defaults["bq_source"] == vertex_config.bq_source
    assert defaults["beam_runner"] == "DataflowRunner"
    assert defaults["network"] == "kfx-vpc"
    assert defaults["subnetwork"] == "regions/europe-west4/subnetworks/kfx-subnet"
    assert defaults["dataflow_image"] == vertex_config.image
    assert defaults["training_image"] == vertex_config.training_image
    assert defaults["bq_dest"] == vertex_config.bq_dest
    dag = _dag(spec)
    stats = dag["generate-statistics-bq"]
    assert _from_pipeline(stats, "bq_source") == "pipelinechannel--bq_source"
    assert _from_pipeline(stats, "beam_runner") == "pipelinechannel--beam_runner"
    assert _from_pipeline(stats, "network") == "pipelinechannel--network"
    assert _from_pipeline(stats, "subnetwork") == "pipelinechannel--subnetwork"
    assert _from_pipeline(stats, "sdk_container_image") == "pipelinechannel--dataflow_image"
    assert _from_pipeline(stats, "service_account") == "pipelinechannel--service_account"
    assert defaults["service_account"] == vertex_config.service_account
    assert _from_pipeline(dag["tabular-dataset-create"], "bq_source") == "pipelinechannel--bq_source"
    train = dag["custom-training-job"]
    assert _from_pipeline(train, "container_uri") == "pipelinechannel--training_image"
    assert _from_pipeline(train, "bigquery_destination") == "pipelinechannel--bq_dest"
    assert _from_pipeline(train, "machine_type") == "pipelinechannel--machine_type"
    # The training job joins the peered VPC; the Dataflow workers keep --network / --subnetwork.
    assert defaults["peering_network"] == vertex_config.peering_network
    assert _from_pipeline(train, "network") == "pipelinechannel--peering_network"
    assert train["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"] == {
        "producerTask": "tabular-dataset-create",
        "outputArtifactKey": "dataset",
    }
    evaluate = dag["evaluate"]["inputs"]["artifacts"]
    assert evaluate["model"]["taskOutputArtifact"]["outputArtifactKey"] == "model"
    assert evaluate["test_data"]["taskOutputArtifact"]["outputArtifactKey"] == "test_data"
    # The pipeline-level channel is wired from the root into the exit handler.
    handler = spec["root"]["dag"]["tasks"]["exit-handler-1"]
    assert _from_pipeline(handler, "pipelinechannel--bq_source") == "bq_source"


def test_kfx_tasks_run_the_configured_image_and_gcpc_tasks_keep_theirs(spec, vertex_config):
    executors = spec["deploymentSpec"]["executors"]
    kfx_tasks = (
        "find-vertex-model",
        "generate-statistics-bq",
        "infer-schema",
        "validate-statistics",
        "custom-training-job",
        "evaluate",
        "push-vertex-model",
    )
    assert {name: executors[f"exec-{name}"]["container"]["image"] for name in kfx_tasks} == dict.fromkeys(
        kfx_tasks, vertex_config.image
    )
    assert executors["exec-tabular-dataset-create"]["container"]["image"].startswith(
        "gcr.io/ml-pipeline/google-cloud-pipeline-components:2.22.0"
    )
    # The components need no pip install: the kfx image has kfp.
    assert "pip install" not in " ".join(executors["exec-evaluate"]["container"]["command"])


def test_training_output_types_are_gcpc_vertex_types(spec):
    outputs = spec["components"]["comp-custom-training-job"]["outputDefinitions"]["artifacts"]
    assert sorted(outputs) == ["model", "test_data"]  # no model version: the push uploads after evaluate
    assert outputs["model"]["artifactType"]["schemaTitle"] == "system.Model"
    inputs = spec["components"]["comp-custom-training-job"]["inputDefinitions"]["artifacts"]
    assert inputs["dataset"]["artifactType"]["schemaTitle"] == "google.VertexDataset"


def test_without_recipients_there_is_no_exit_handler(vertex_config, tmp_path):
    spec = _compile(dataclasses.replace(vertex_config, recipients=[]), tmp_path)
    tasks = spec["root"]["dag"]["tasks"]
    assert "exit-handler-1" not in tasks and "vertex-pipelines-notification-email" not in tasks
    assert "custom-training-job" in tasks


def test_images_default_to_artifact_registry_names(vertex_config, tmp_path):
    from kfx.config import DEFAULT_IMAGE

    config = dataclasses.replace(vertex_config, image=DEFAULT_IMAGE, training_image="", pipeline_container_version="v7")
    spec = _compile(config, tmp_path)
    assert spec["deploymentSpec"]["executors"]["exec-evaluate"]["container"]["image"] == (
        "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:v7"
    )
    defaults = spec["root"]["inputDefinitions"]["parameters"]
    assert (
        defaults["training_image"]["defaultValue"] == "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:v7"
    )


def test_cli_compiles_the_vertex_target(tmp_path, capsys):
    from kfx.cli import main

    out = tmp_path / "vertex.yaml"
    code = main(
        [
            "compile",
            "--target",
            "vertex",
            "-o",
            str(out),
            "--project-id",
            "kfx-test-project",
            "--bucket",
            "gs://kfx-test-bucket",
            "--bq-source",
            "bq://kfx-test-project.beans.beans1",
            "--beam-runner",
            "DataflowRunner",
            "--network",
            "kfx-vpc",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    spec = yaml.safe_load(out.read_text())
    defaults = spec["root"]["inputDefinitions"]["parameters"]
    assert defaults["network"]["defaultValue"] == "kfx-vpc"
    assert "exit-handler-1" not in spec["root"]["dag"]["tasks"]


def test_cli_names_every_missing_option_before_compiling(tmp_path, capsys):
    from kfx.cli import main

    out = tmp_path / "vertex.yaml"
    code = main(["compile", "--target", "vertex", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "kfx: error: The vertex target needs --project-id, --bucket and --bq-source; pass them "
        "(see docs/vertex.md for the one-time cloud set-up).\n"
    )
    assert not out.exists()


def test_every_kfx_task_source_loads_in_a_fresh_python(spec, tmp_path):
    """kfp copies each component's source into the task; a default or annotation naming something
    the copied module lacks would fail only on Vertex AI. Load every copy as the task would."""
    import json
    import subprocess
    import sys

    paths = {}
    for name, executor in spec["deploymentSpec"]["executors"].items():
        container = executor["container"]
        if "ephemeral_component.py" not in " ".join(container.get("command", [])):
            continue
        function = container["args"][container["args"].index("--function_to_execute") + 1]
        path = tmp_path / f"{name}.py"
        path.write_text(container["command"][-1])
        paths[function] = str(path)
    assert sorted(paths) == sorted(
        [
            "custom_training_job",
            "evaluate",
            "find_vertex_model",
            "generate_statistics_bq",
            "infer_schema",
            "prepare_serving_check",
            "push_vertex_model",
            "validate_statistics",
        ]
    )
    script = (
        "import importlib.util, sys, json\n"
        "for function, path in json.loads(sys.argv[1]).items():\n"
        "    spec = importlib.util.spec_from_file_location(function, path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "    assert callable(getattr(module, function)), function\n"
        "print('loaded', len(json.loads(sys.argv[1])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(paths)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"loaded {len(paths)}"


def test_the_serving_image_is_vertex_ais_prebuilt_image_of_the_trained_scikit_learn(spec):
    """One fact, the scikit-learn pin of the lock, gives the serving image: aiplatform's own table of
    prebuilt images names the same URI for the installed series in the config's region."""
    from importlib.metadata import version

    from google.cloud.aiplatform import helpers

    from kfx.vertex.images import serving_image, serving_series, sklearn_series

    defaults = {k: v.get("defaultValue") for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    series = sklearn_series()
    assert series == ".".join(version("scikit-learn").split(".")[:2])
    assert defaults["serving_image"] == helpers.get_prebuilt_prediction_container_uri("sklearn", series, "europe-west4")
    for region in ("us-central1", "asia-east1", "europe-west1"):
        assert serving_image(region) == helpers.get_prebuilt_prediction_container_uri("sklearn", series, region)
    assert (
        serving_image("australia-southeast1", "1.6.1")
        == "asia-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-6:latest"
    )
    assert serving_series(defaults["serving_image"]) == series


def test_the_lock_setup_and_requirements_pin_one_scikit_learn_series():
    """setup.py's range and requirements.in's range admit exactly the series the lock pins."""
    import pathlib
    import re

    from kfx.vertex.images import sklearn_series

    root = pathlib.Path(__file__).resolve().parents[2]
    pinned = re.search(r"^scikit-learn==([0-9.]+)$", (root / "requirements.txt").read_text(), re.M)[1]
    series = sklearn_series(pinned)
    major, minor = series.split(".")
    expected = f"scikit-learn>={series},<{major}.{int(minor) + 1}"
    assert expected in (root / "setup.py").read_text()
    assert expected in (root / "requirements.in").read_text()
    assert sklearn_series() == series


def test_vertex_tasks_are_cached_as_the_config_says_except_the_registry_steps(vertex_config, tmp_path):
    """KFP caches by default; the champion lookup and the push read and move the registry's default
    alias, which another run may move, so they always run."""

    def caching(config) -> dict[str, bool]:
        spec = _compile(config, tmp_path)
        dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
        return {
            name: task.get("cachingOptions", {}).get("enableCache", False)
            for dag in dags
            for name, task in dag["tasks"].items()
            if "dag" not in spec["components"][task["componentRef"]["name"]]  # a task, not an exit handler or condition
        }

    on = caching(vertex_config)
    assert on.pop("find-vertex-model") is False and on.pop("push-vertex-model") is False
    assert on.pop("vertex-pipelines-notification-email") is False  # an e-mail of this run, never a cached one
    assert sorted(on) == sorted(
        n for n in _vertex_tasks(vertex_config) if n not in ("find-vertex-model", "push-vertex-model")
    )
    assert set(on.values()) == {True}
    assert set(caching(dataclasses.replace(vertex_config, enable_caching=False)).values()) == {False}


def _tasks(spec: dict) -> dict:
    """Every task of the compiled pipeline that is not an exit handler, by name."""
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    return {
        name: task
        for dag in dags
        for name, task in dag["tasks"].items()
        if "dag" not in spec["components"][task["componentRef"]["name"]]
    }


def test_retries_reach_every_pipeline_task_with_exponential_backoff(vertex_config, tmp_path):
    tasks = _tasks(_compile(dataclasses.replace(vertex_config, retries=3), tmp_path))
    steps = set(_vertex_tasks(vertex_config))
    assert steps <= set(tasks)
    # The push is never retried: a second attempt after a late failure would upload the same version again.
    assert "retryPolicy" not in tasks.pop("push-vertex-model")
    steps.discard("push-vertex-model")
    for name in steps:
        assert tasks[name]["retryPolicy"] == {
            "maxRetryCount": 3,
            "backoffDuration": "30s",
            "backoffFactor": 2.0,
            "backoffMaxDuration": "3600s",
        }, name
    # The default is no retry: nothing in the spec.
    assert not any("retryPolicy" in task for task in _tasks(_compile(vertex_config, tmp_path)).values())


def test_the_heavy_steps_declare_their_cpu_and_memory_on_vertex(spec):
    resources = {
        name.removeprefix("exec-"): executor["container"]["resources"]
        for name, executor in spec["deploymentSpec"]["executors"].items()
        if "resources" in executor.get("container", {})
    }
    assert resources == {
        "generate-statistics-bq": {
            "cpuLimit": 8.0,
            "memoryLimit": 32.0,
            "resourceCpuLimit": "8",
            "resourceMemoryLimit": "32G",
        },
        "evaluate": {"cpuLimit": 4.0, "memoryLimit": 16.0, "resourceCpuLimit": "4", "resourceMemoryLimit": "16G"},
    }


def test_the_local_target_compiles_no_retries_or_resources(tmp_path):
    spec = _compile(Config(retries=3), tmp_path)
    assert not any("retryPolicy" in task for task in spec["root"]["dag"]["tasks"].values())
    assert not any("resources" in e.get("container", {}) for e in spec["deploymentSpec"]["executors"].values())


def test_cli_retries_option_reaches_the_compiled_spec_and_a_negative_one_is_refused(tmp_path, capsys):
    from kfx.cli import main

    out = tmp_path / "vertex.yaml"
    common = [
        "compile",
        "--target",
        "vertex",
        "-o",
        str(out),
        "--project-id",
        "kfx-test-project",
        "--bucket",
        "gs://kfx-test-bucket",
        "--bq-source",
        "bq://kfx-test-project.beans.beans1",
    ]
    assert main([*common, "--retries", "2"]) == 0
    tasks = _tasks(yaml.safe_load(out.read_text()))
    assert {
        name: task["retryPolicy"]["maxRetryCount"] for name, task in tasks.items() if name != "push-vertex-model"
    } == {name: 2 for name in tasks if name != "push-vertex-model"}
    out.unlink()
    capsys.readouterr()
    assert main([*common, "--retries", "-1"]) == 2
    assert capsys.readouterr().err == (
        "kfx: error: retries is -1; pass 0 (no retry) or how many times a failed task runs again, such as 3.\n"
    )
    assert not out.exists()


def test_the_prediction_pipeline_gets_the_retries_too(vertex_config, tmp_path):
    config = dataclasses.replace(
        vertex_config, pipeline="predict", retries=1, bq_dest=f"bq://{vertex_config.project_id}.scores"
    )
    from kfp import compiler

    from kfx.pipelines.vertex_predict import vertex_predict_pipeline

    path = tmp_path / "predict.yaml"
    compiler.Compiler().compile(vertex_predict_pipeline(config), str(path))
    tasks = _tasks(yaml.safe_load(path.read_text()))
    assert {
        name: task["retryPolicy"]["maxRetryCount"] for name, task in tasks.items() if "retryPolicy" in task
    }.keys() >= {"default-vertex-model", "import-scoring-data"}
