"""Where the kfx images live: Artifact Registry URIs derived from the config.

``REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:TAG``; Container Registry
(gcr.io) is deprecated, so kfx never derives a gcr.io name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kfx.config import Config

KFX_IMAGE_NAME = "kfx"
TRAINER_IMAGE_NAME = "kfx-trainer"
SKLEARN_SERVING_IMAGE = "us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest"
"""Vertex AI's prebuilt scikit-learn 1.5 serving image; it serves ``model.joblib``."""


def registry_image(config: "Config", name: str) -> str:
    """``REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:VERSION`` for an image kfx builds."""
    return (
        f"{config.region}-docker.pkg.dev/{config.project_id}/{config.artifact_repository}/"
        f"{name}:{config.pipeline_container_version}"
    )


def kfx_image(config: "Config") -> str:
    """The kfx base image the components run in: ``--image``, else the one ``kfx build`` pushes."""
    from kfx.config import DEFAULT_IMAGE

    if config.image and config.image != DEFAULT_IMAGE:
        return config.image
    return registry_image(config, KFX_IMAGE_NAME)


def trainer_image(config: "Config") -> str:
    """The trainer image the custom training job runs: ``--training-image``, else the built one."""
    return config.training_image or registry_image(config, TRAINER_IMAGE_NAME)
