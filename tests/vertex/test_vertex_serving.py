"""The serving check on Vertex AI: a task in the prebuilt scikit-learn serving image, in the compiled YAML.

The serving image cannot be pulled here; what runs in it is kfx/serving_check.py, run
through the very command the YAML holds (``sh -c`` handing the source to ``python -c``)
with the serving-only environment's Python first on PATH.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from kfx import serving
from kfx.pipelines import compile_pipeline
from kfx.vertex.images import serving_image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def spec(vertex_config, tmp_path):
    with open(compile_pipeline(vertex_config, str(tmp_path / "vertex.yaml"))) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def model(sample_splits, train_apart, tmp_path_factory):
    """A model trained on the beans sample (60 test rows)."""
    return train_apart(sample_splits, str(tmp_path_factory.mktemp("serving") / "model"))


def _executor(spec: dict, task: str) -> dict:
    dag = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    executor = spec["components"][dag[task]["componentRef"]["name"]]["executorLabel"]
    return spec["deploymentSpec"]["executors"][executor]["container"]


def test_the_check_task_runs_the_script_in_the_regions_serving_image(spec, vertex_config):
    container = _executor(spec, "check-serving-image")
    assert container["image"] == serving_image(vertex_config.region)
    assert container["image"].startswith("europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:")
    assert container["command"][:2] == ["sh", "-c"]
    assert '-c "$0"' in container["command"][2]
    with open(os.path.join(REPO, "kfx", "serving_check.py")) as f:
        assert container["command"][3] == f.read()
    assert container["args"] == [
        "--model-dir",
        "{{$.inputs.artifacts['model'].path}}",
        "--request",
        "{{$.inputs.artifacts['serving_request'].path}}",
        "--expected",
        "{{$.inputs.artifacts['expected_predictions'].path}}",
        "--result",
        "{{$.outputs.artifacts['serving_check'].path}}",
        "--ok",
        "{{$.outputs.parameters['serving_ok'].output_file}}",
    ]
    # The request is prepared in the kfx image, from the trained model and the held-out test split.
    assert (
        _executor(spec, "prepare-serving-check")["image"]
        == spec["deploymentSpec"]["executors"]["exec-evaluate"]["container"]["image"]
    )
    dag = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    inputs = dag["check-serving-image"]["inputs"]["artifacts"]
    assert inputs["model"]["taskOutputArtifact"] == {
        "outputArtifactKey": "model",
        "producerTask": "custom-training-job",
    }
    assert inputs["serving_request"]["taskOutputArtifact"]["producerTask"] == "prepare-serving-check"


def test_the_compiled_command_checks_a_model_as_the_serving_image_would(spec, model, sample_splits, tmp_path):
    """The YAML's command and arguments, placeholders filled, run with the serving-only environment's
    Python as the image's ``python``."""
    from kfx import model_steps

    python = serving.ensure_env(os.path.join(REPO, ".kfx", "serving-env"))
    request, expected = tmp_path / "request.json", tmp_path / "expected.json"
    model_steps.prepare_serving_check(model, sample_splits["test"], str(request), str(expected))
    container = _executor(spec, "check-serving-image")
    paths = {
        "model": model,
        "serving_request": str(request),
        "expected_predictions": str(expected),
        "serving_check": str(tmp_path / "out" / "serving_check"),
        "serving_ok": str(tmp_path / "out" / "ok"),
    }
    args = []
    for arg in container["args"]:
        for name, path in paths.items():
            arg = arg.replace(f"{{{{$.inputs.artifacts['{name}'].path}}}}", path)
            arg = arg.replace(f"{{{{$.outputs.artifacts['{name}'].path}}}}", path)
            arg = arg.replace(f"{{{{$.outputs.parameters['{name}'].output_file}}}}", path)
        args.append(arg)
    env = {"PATH": f"{os.path.dirname(python)}:/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([*container["command"], *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "serving_check").read_text())
    assert (result["ok"], result["rows"], result["agreed"]) == (True, 60, 60)
    assert (tmp_path / "out" / "ok").read_text() == "true"
    assert "60 of 60 predictions agree" in done.stdout
