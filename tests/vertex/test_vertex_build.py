"""``kfx build``: the docker and Cloud Build invocations, and the Dockerfiles' build context.

No Docker engine and no Cloud Build here: a fake ``docker`` program first on ``PATH``
(a small script that logs its arguments and working folder) stands in for the docker
CLI, so kfx starts it with the real ``subprocess.run``; ``cloudbuild_v1.CloudBuildClient``
is replaced by a recorder. The tests assert the exact commands and build request.
The build context is uploaded for real to the loopback GCS-API server and read back.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import sys
import tarfile

import pytest

from kfx.vertex import build

KFX = "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3"
TRAINER = "europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3"


class FakeDocker:
    """A ``docker`` program on ``PATH`` that logs each call as a JSON line and exits 3 on one sub-command."""

    def __init__(self, folder, monkeypatch):
        self.log = folder / "docker-calls.jsonl"
        self.monkeypatch = monkeypatch
        program = folder / "bin" / "docker"
        program.parent.mkdir()
        program.write_text(
            f"#!{sys.executable}\n"
            "import json, os, sys\n"
            f"with open({str(self.log)!r}, 'a') as log:\n"
            "    log.write(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd()}) + '\\n')\n"
            "sys.exit(3 if sys.argv[1:2] == [os.environ.get('FAKE_DOCKER_FAILS')] else 0)\n"
        )
        program.chmod(0o755)
        monkeypatch.setenv("PATH", f"{program.parent}{os.pathsep}{os.environ['PATH']}")

    def fail_on(self, sub_command: str) -> None:
        self.monkeypatch.setenv("FAKE_DOCKER_FAILS", sub_command)

    @property
    def calls(self) -> list[tuple[list[str], str]]:
        if not self.log.exists():
            return []
        return [(c["argv"], c["cwd"]) for c in map(json.loads, self.log.read_text().splitlines())]


@pytest.fixture
def docker(tmp_path, monkeypatch):
    """The fake docker CLI, first on PATH for this test."""
    return FakeDocker(tmp_path, monkeypatch)


@pytest.fixture
def cloud_build(monkeypatch):
    """Replaces CloudBuildClient; records create_build and answers with ``status``."""
    from google.cloud.devtools import cloudbuild_v1

    class Client:
        requests = []
        status = cloudbuild_v1.Build.Status.SUCCESS

        def create_build(self, project_id, build):
            Client.requests.append((project_id, build))

            class Operation:
                def result(self):
                    return cloudbuild_v1.Build(id="build-1", status=Client.status, log_url="https://console/build-1")

            return Operation()

    Client.requests = []
    monkeypatch.setattr(cloudbuild_v1, "CloudBuildClient", Client)
    return Client


def test_local_docker_builds_then_pushes_both_images_from_the_repo_root(vertex_config, docker, capsys):
    from kfx.cli import main

    code = main(
        [
            "build",
            "--local-docker",
            "--project-id",
            "kfx-test-project",
            "--region",
            "europe-west4",
            "--pipeline-container-version",
            "1.2.3",
        ]
    )
    assert code == 0
    assert docker.calls == [
        (["build", "--file", "Dockerfile", "--tag", KFX, "."], build.REPO_ROOT),
        (["push", KFX], build.REPO_ROOT),
        (["build", "--file", "kfx_trainer/Dockerfile", "--tag", TRAINER, "."], build.REPO_ROOT),
        (["push", TRAINER], build.REPO_ROOT),
    ]
    assert capsys.readouterr().out.splitlines() == [KFX, TRAINER]


def test_a_failed_docker_push_stops_with_one_sentence(docker, capsys):
    from kfx.cli import main

    docker.fail_on("push")
    code = main(["build", "--local-docker", "--project-id", "kfx-test-project"])
    assert code == 1
    assert capsys.readouterr().err == (
        "kfx: error: `docker push us-central1-docker.pkg.dev/kfx-test-project/kfx/kfx:latest` failed with exit code 3; "
        "see its output above.\n"
    )
    # The trainer image is not built after a failure.
    assert [argv[0] for argv, _ in docker.calls] == ["build", "push"]


def test_without_a_docker_cli_the_sentence_says_what_to_do(tmp_path, monkeypatch, capsys):
    from kfx.cli import main

    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = main(["build", "--local-docker", "--project-id", "kfx-test-project"])
    assert code == 1
    assert capsys.readouterr().err == (
        "kfx: error: The docker CLI is not installed; install Docker or drop --local-docker to use Cloud Build.\n"
    )


def test_cloud_build_uploads_the_context_and_builds_both_images(vertex_config, gcs_bucket, cloud_build):
    from kfx import storage

    config = dataclasses.replace(vertex_config, bucket=gcs_bucket)
    assert build.build_images(config) == [KFX, TRAINER]
    [(project, request)] = cloud_build.requests
    assert project == "kfx-test-project"
    assert [list(step.args) for step in request.steps] == [
        ["build", "--file", "Dockerfile", "--tag", KFX, "."],
        ["build", "--file", "kfx_trainer/Dockerfile", "--tag", TRAINER, "."],
    ]
    assert {step.name for step in request.steps} == {"gcr.io/cloud-builders/docker"}
    assert list(request.images) == [KFX, TRAINER]
    source = request.source.storage_source
    assert f"gs://{source.bucket}" == gcs_bucket
    assert re.fullmatch(r"kfx-build/context-\d{8}-\d{6}\.tgz", source.object_)
    # The uploaded context is what the Dockerfiles COPY, and nothing else.
    blob = storage.read_bytes(f"{gcs_bucket}/{source.object_}")
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        names = tar.getnames()
    assert {n.split("/")[0] for n in names} == {
        "Dockerfile",
        "kfx_trainer",
        "requirements.txt",
        "setup.py",
        "README.md",
        "kfx",
    }
    assert "kfx_trainer/Dockerfile" in names and "kfx/vertex/build.py" in names and "kfx_trainer/task.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith(".venv")]


def test_a_failed_cloud_build_names_its_log(vertex_config, gcs_bucket, cloud_build):
    from google.cloud.devtools import cloudbuild_v1

    from kfx.vertex.build import BuildFailed

    cloud_build.status = cloudbuild_v1.Build.Status.FAILURE
    with pytest.raises(BuildFailed) as caught:
        build.build_images(dataclasses.replace(vertex_config, bucket=gcs_bucket))
    assert str(caught.value) == "Cloud Build build-1 ended FAILURE; see its log at https://console/build-1."


def test_cloud_build_needs_a_bucket(capsys, cloud_build):
    from kfx.cli import main

    code = main(["build", "--project-id", "kfx-test-project"])
    assert code == 2
    assert capsys.readouterr().err == (
        "kfx: error: The vertex target needs --bucket; pass it (see docs/vertex.md for the one-time cloud set-up).\n"
    )
    assert cloud_build.requests == []


def test_an_image_without_a_tag_is_refused_before_building(docker, capsys):
    from kfx.cli import main

    code = main(
        ["build", "--local-docker", "--project-id", "kfx-test-project", "--image", "europe-docker.pkg.dev/p/r/kfx"]
    )
    assert code == 2
    assert "--image 'europe-docker.pkg.dev/p/r/kfx' is not an image URI with a tag" in capsys.readouterr().err
    assert docker.calls == []


def test_submit_with_build_pipeline_container_builds_before_submitting(
    vertex_config, gcs_bucket, cloud_build, monkeypatch, fresh_aiplatform, offline_project_lookup
):
    """Vertex AI job creation is patched at ``create_pipeline_job``; the order of the two edges is asserted."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient
    from google.cloud.aiplatform_v1.types import pipeline_job as gca_pipeline_job

    from kfx.vertex.submit import submit

    order = []
    original = cloud_build.create_build

    def create_build(self, project_id, build):
        order.append("build")
        return original(self, project_id, build)

    def create_pipeline_job(self, *, parent, pipeline_job, pipeline_job_id, timeout=None, **kwargs):
        order.append("submit")
        job = gca_pipeline_job.PipelineJob(pipeline_job)
        job.name = f"{parent}/pipelineJobs/{pipeline_job_id}"
        return job

    monkeypatch.setattr(cloud_build, "create_build", create_build)
    monkeypatch.setattr(PipelineServiceClient, "create_pipeline_job", create_pipeline_job)
    config = dataclasses.replace(vertex_config, bucket=gcs_bucket, build_pipeline_container=True)
    submit(config, credentials=AnonymousCredentials())
    assert order == ["build", "submit"]


def _copy_sources(dockerfile: str) -> list[str]:
    sources = []
    for line in open(os.path.join(build.REPO_ROOT, dockerfile)):
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
            sources.extend(parts[1:-1])
    return sources


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "kfx_trainer/Dockerfile"])
def test_dockerfiles_copy_only_what_the_context_holds(dockerfile):
    sources = _copy_sources(dockerfile)
    assert sources, "no COPY found"
    for source in sources:
        assert os.path.exists(os.path.join(build.REPO_ROOT, source)), source
        assert source in build.CONTEXT_PATHS, source


def test_images_have_their_documented_entrypoints_and_base():
    kfx_file = open(os.path.join(build.REPO_ROOT, "Dockerfile")).read()
    trainer_file = open(os.path.join(build.REPO_ROOT, "kfx_trainer", "Dockerfile")).read()
    assert "FROM python:3.11-slim" in kfx_file and "FROM python:3.11-slim" in trainer_file
    assert "pip install --constraint requirements.txt ." in kfx_file
    assert 'ENTRYPOINT ["python", "-m", "kfx_trainer.task"]' in trainer_file
    # The Beam version of the worker boot program matches the locked Beam.
    locked = re.search(r"^apache-beam==(\S+)$", open(os.path.join(build.REPO_ROOT, "requirements.txt")).read(), re.M)
    assert f"apache/beam_python3.11_sdk:{locked.group(1)}" in kfx_file


def _locked() -> dict[str, str]:
    text = open(os.path.join(build.REPO_ROOT, "requirements.txt")).read()
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.M)}


def test_every_package_the_images_install_is_pinned_by_the_lock():
    """``--constraint requirements.txt`` pins only what the lock lists; an unlisted package would float."""
    import ast

    setup = open(os.path.join(build.REPO_ROOT, "setup.py")).read()
    runtime = ast.literal_eval(re.search(r"^RUNTIME = (\[.*?\])$", setup, re.M | re.S).group(1))
    names = {re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0].lower() for r in runtime}
    trainer_file = open(os.path.join(build.REPO_ROOT, "kfx_trainer", "Dockerfile")).read()
    install = re.search(r"pip install --constraint requirements.txt \\\n(.*?)\n\n", trainer_file, re.S).group(1)
    names |= {n.lower() for n in install.replace("\\", " ").split()}
    locked = _locked()
    assert sorted(n for n in names if n not in locked) == []


def test_trainer_runs_without_the_packages_its_image_leaves_out(beans_frames, tmp_path):
    """kfx_trainer/Dockerfile installs no TensorFlow, TFDV, Beam, kfp or matplotlib: train with those
    imports blocked, in a fresh Python, to prove the trainer image is enough."""
    import subprocess
    import sys

    paths = {}
    for split, frame in beans_frames.items():
        paths[split] = str(tmp_path / f"{split}.csv")
        frame.to_csv(paths[split], index=False)
    script = (
        "import sys\n"
        "BLOCKED = {'tensorflow', 'tensorflow_data_validation', 'tfx_bsl', 'apache_beam', 'kfp',\n"
        "           'google_cloud_pipeline_components', 'matplotlib', 'ml_metadata'}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError(f'{name} is not in the trainer image')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from kfx_trainer import task\n"
        "sys.exit(task.cli())\n"
    )
    env = {
        **os.environ,
        "AIP_MODEL_DIR": str(tmp_path / "model"),
        "AIP_DATA_FORMAT": "csv",
        "AIP_TRAINING_DATA_URI": paths["train"],
        "AIP_VALIDATION_DATA_URI": paths["validation"],
        "AIP_TEST_DATA_URI": paths["test"],
    }
    done = subprocess.run(
        [sys.executable, "-c", script, "--seed", "3"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "model" / "model.joblib").exists()
    # The 600-row sample splits into 479 / 60 / 60 rows.
    metrics = json_load(done.stdout)
    assert (metrics["train_rows"], metrics["validation"]["rows"], metrics["test"]["rows"]) == (479, 60, 60)


def json_load(text: str):
    import json

    return json.loads(text.strip().splitlines()[-1])
