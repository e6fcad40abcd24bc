"""Building and pushing the kfx base image and the trainer image to Artifact Registry.

Two ways, both from the repository root as the build context:

- Cloud Build (the default when a project is given): the context is packed into a
  tarball, uploaded to ``<bucket>/kfx-build/`` and built by a Cloud Build job
  that pushes both images; no Docker needed on this machine;
- the local ``docker`` CLI (``kfx build --local-docker``): ``docker build`` and
  ``docker push`` of each image (run ``gcloud auth configure-docker
  REGION-docker.pkg.dev`` once).

Nothing is built at import time or on every run; only ``kfx build`` (or
``kfx submit --build-pipeline-container``) builds.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from kfx.errors import ConfigError, KfxError

if TYPE_CHECKING:
    from kfx.config import Config

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What the Dockerfiles COPY; nothing else (no .venv, runs or notebooks) goes into the context.
CONTEXT_PATHS = (
    "Dockerfile",
    "kfx_trainer/Dockerfile",
    "requirements.txt",
    "setup.py",
    "README.md",
    "kfx",
    "kfx_trainer",
)
DOCKER_BUILDER = "gcr.io/cloud-builders/docker"


class BuildFailed(KfxError):
    """An image build or push failed."""

    exit_code = 1


@dataclass(frozen=True)
class ImageSpec:
    """One image to build.

    Attributes:
        uri: ``REGION-docker.pkg.dev/PROJECT/REPO/NAME:TAG``.
        dockerfile: Dockerfile path relative to the repository root (the context).
    """

    uri: str
    dockerfile: str


def image_specs(config: Config) -> list[ImageSpec]:
    """The kfx base image and the trainer image, as the config names them."""
    from kfx.vertex.images import kfx_image, trainer_image

    return [ImageSpec(kfx_image(config), "Dockerfile"), ImageSpec(trainer_image(config), "kfx_trainer/Dockerfile")]


def docker_commands(specs: Sequence[ImageSpec], context: str = ".") -> list[list[str]]:
    """The ``docker build`` and ``docker push`` commands, in order, for the local docker CLI."""
    commands = []
    for spec in specs:
        commands.append(["docker", "build", "--file", spec.dockerfile, "--tag", spec.uri, context])
        commands.append(["docker", "push", spec.uri])
    return commands


def build_with_docker(
    specs: Sequence[ImageSpec], root: str = REPO_ROOT, runner: Optional[Callable[..., object]] = None
) -> None:
    """Builds and pushes with the local docker CLI, from ``root`` as the context.

    Raises:
        BuildFailed: Naming the command that failed, or a missing docker CLI.
    """
    run = runner or subprocess.run
    for command in docker_commands(specs):
        try:
            run(command, cwd=root, check=True)
        except FileNotFoundError:
            raise BuildFailed(
                "The docker CLI is not installed; install Docker or drop --local-docker to use Cloud Build."
            ) from None
        except subprocess.CalledProcessError as err:
            raise BuildFailed(
                f"`{' '.join(command)}` failed with exit code {err.returncode}; see its output above."
            ) from None


def context_tarball(root: str = REPO_ROOT) -> bytes:
    """The build context (``CONTEXT_PATHS`` under ``root``) as a gzipped tarball, without caches."""

    def keep(info: tarfile.TarInfo) -> Optional[tarfile.TarInfo]:
        name = os.path.basename(info.name)
        if name == "__pycache__" or name.endswith(".pyc") or name.startswith(".tmp-"):
            return None
        return info

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path in CONTEXT_PATHS:
            full = os.path.join(root, path)
            if not os.path.exists(full):
                raise ConfigError(
                    f"The build context lacks {path}; run kfx build from a checkout of the kfx repository."
                )
            tar.add(full, arcname=path, filter=keep)
    return out.getvalue()


def cloud_build_request(specs: Sequence[ImageSpec], source_uri: str) -> dict:
    """The Cloud Build ``Build`` (as a dict) that builds and pushes every image from the uploaded context."""
    from kfx.storage import split_gcs

    bucket, obj = split_gcs(source_uri)
    return {
        "source": {"storage_source": {"bucket": bucket, "object_": obj}},
        "steps": [
            {"name": DOCKER_BUILDER, "args": ["build", "--file", s.dockerfile, "--tag", s.uri, "."]} for s in specs
        ],
        "images": [s.uri for s in specs],
        "timeout": {"seconds": 3600},
    }


def build_with_cloud_build(config: Config, specs: Sequence[ImageSpec], root: str = REPO_ROOT) -> str:
    """Uploads the context to the bucket and runs a Cloud Build job that builds and pushes the images.

    Returns:
        The Cloud Build id.

    Raises:
        ConfigError: Without a project or bucket.
        BuildFailed: If the build does not succeed.
    """
    from google.cloud.devtools import cloudbuild_v1

    from kfx import storage

    if not config.project_id or not config.bucket:
        raise ConfigError(
            "Cloud Build needs --project-id and --bucket (the context is uploaded there); pass both, or --local-docker."
        )
    source_uri = f"{config.bucket.rstrip('/')}/kfx-build/context-{time.strftime('%Y%m%d-%H%M%S')}.tgz"
    storage.write_bytes(source_uri, context_tarball(root))
    client = cloudbuild_v1.CloudBuildClient()
    operation = client.create_build(
        project_id=config.project_id, build=cloudbuild_v1.Build(cloud_build_request(specs, source_uri))
    )
    build = operation.result()
    if build.status != cloudbuild_v1.Build.Status.SUCCESS:
        raise BuildFailed(f"Cloud Build {build.id} ended {build.status.name}; see its log at {build.log_url}.")
    return build.id


def build_images(config: Config, local_docker: bool = False, root: str = REPO_ROOT) -> list[str]:
    """Builds and pushes the kfx and trainer images that the config names.

    Args:
        config: The vertex configuration (project, region, repository, version, images).
        local_docker: Use the local docker CLI instead of Cloud Build.
        root: The repository root (the build context).

    Returns:
        The pushed image URIs.
    """
    from kfx.vertex.checks import check_vertex_config

    check_vertex_config(config, required=("project_id",) if local_docker else ("project_id", "bucket"))
    specs = image_specs(config)
    if local_docker:
        build_with_docker(specs, root)
    else:
        build_with_cloud_build(config, specs, root)
    return [s.uri for s in specs]
