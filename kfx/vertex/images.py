"""Where the kfx images live: Artifact Registry URIs derived from the config.

``REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:TAG``; Container Registry
(gcr.io) is deprecated, so kfx never derives a gcr.io name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from kfx.config import Config

KFX_IMAGE_NAME = "kfx"
TRAINER_IMAGE_NAME = "kfx-trainer"
# Vertex AI publishes its prebuilt prediction images in three multi-region registries.
_SERVING_HOSTS = {"europe": "europe-docker.pkg.dev", "asia": "asia-docker.pkg.dev", "australia": "asia-docker.pkg.dev"}
_SERVING_SERIES = re.compile(r"/sklearn-cpu\.(\d+)-(\d+):")


def sklearn_series(version: Optional[str] = None) -> str:
    """The ``MAJOR.MINOR`` series of scikit-learn that kfx trains with.

    The lock pins scikit-learn, and the kfx image, the trainer image and this
    environment all install that pin: it is the one place the version is written,
    and the serving image follows from it.

    Args:
        version: A scikit-learn version; defaults to the installed one.
    """
    if version is None:
        from importlib.metadata import version as installed

        version = installed("scikit-learn")
    major, minor = version.split(".")[:2]
    return f"{major}.{minor}"


def serving_image(region: str = "us-central1", version: Optional[str] = None) -> str:
    """Vertex AI's prebuilt scikit-learn serving image that loads the models kfx trains.

    A pickled scikit-learn model loads reliably only in the series that pickled it,
    so the image's series is the trained one (``sklearn-cpu.1-5`` for 1.5.x).

    Args:
        region: The model's region; picks the nearest of the three registries.
        version: The scikit-learn version; defaults to the installed one.
    """
    host = _SERVING_HOSTS.get(region.split("-", 1)[0], "us-docker.pkg.dev")
    return f"{host}/vertex-ai/prediction/sklearn-cpu.{sklearn_series(version).replace('.', '-')}:latest"


def serving_series(image: str) -> str:
    """The scikit-learn series (``1.5``) a prebuilt serving image holds, read from its URI.

    Raises:
        ConfigError: If ``image`` is not a prebuilt scikit-learn serving image.
    """
    match = _SERVING_SERIES.search(image)
    if not match:
        from kfx.errors import ConfigError

        raise ConfigError(
            f"{image!r} is not a Vertex AI prebuilt scikit-learn serving image; pass one such as {serving_image()}."
        )
    return f"{match[1]}.{match[2]}"


def registry_image(config: Config, name: str) -> str:
    """``REGION-docker.pkg.dev/PROJECT/REPOSITORY/NAME:VERSION`` for an image kfx builds."""
    return (
        f"{config.region}-docker.pkg.dev/{config.project_id}/{config.artifact_repository}/"
        f"{name}:{config.pipeline_container_version}"
    )


def kfx_image(config: Config) -> str:
    """The kfx base image the components run in: ``--image``, else the one ``kfx build`` pushes."""
    from kfx.config import DEFAULT_IMAGE

    if config.image and config.image != DEFAULT_IMAGE:
        return config.image
    return registry_image(config, KFX_IMAGE_NAME)


def trainer_image(config: Config) -> str:
    """The trainer image the custom training job runs: ``--training-image``, else the built one."""
    return config.training_image or registry_image(config, TRAINER_IMAGE_NAME)
