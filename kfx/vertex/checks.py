"""Checks of the vertex target's options, made before anything is built, compiled or submitted."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kfx.errors import ConfigError

if TYPE_CHECKING:
    from kfx.config import Config

_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_PROJECT = re.compile(r"^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_BQ_DEST = re.compile(r"^bq://(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9](?:\.[A-Za-z0-9_]{1,1024})?$")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
_JOB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_PEERING_NETWORK = re.compile(r"^projects/[0-9]+/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
VERTEX_REQUIRED = ("project_id", "bucket", "bq_source")
"""Options the vertex target cannot do without (the rest have defaults or are optional)."""
MAX_RECIPIENTS = 3
"""Vertex AI's e-mail notification takes at most this many recipients."""
_REPOSITORY = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
# A tag follows the last ':' after the last '/', or the image is pinned by digest.
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


def flag(name: str) -> str:
    """The command-line flag of a config field (``project_id`` -> ``--project-id``)."""
    return "--" + name.replace("_", "-")


def has_tag(image: str) -> bool:
    """Tells whether an image URI names a tag (``…/name:tag``) or a digest (``…@sha256:…``)."""
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    name, sep, tag = last.partition(":")
    return bool(name) and bool(sep) and bool(_TAG.match(tag))


def check_image(image: str, option: str) -> None:
    """Raises ConfigError when ``image`` has no tag, naming ``option``."""
    if not image or any(ch.isspace() for ch in image) or not has_tag(image):
        raise ConfigError(
            f"{option} {image!r} is not an image URI with a tag; "
            "pass REGION-docker.pkg.dev/PROJECT/REPO/NAME:TAG (or NAME@sha256:DIGEST)."
        )


def check_bucket(uri: str, option: str) -> None:
    """Raises ConfigError unless ``uri`` is ``gs://BUCKET[/PATH]`` with a valid bucket name."""
    from kfx import storage
    from kfx.errors import SourceError

    if not storage.is_gcs(uri):
        raise ConfigError(f"{option} {uri!r} does not start with gs://; pass gs://BUCKET (e.g. gs://my-project-kfx).")
    try:
        storage.split_gcs(uri)
    except SourceError as err:
        raise ConfigError(f"{option}: {err}") from None


def check_vertex_config(config: Config, required: Sequence[str] = VERTEX_REQUIRED) -> None:
    """Checks every vertex option that can be checked offline, before anything is built or submitted.

    Args:
        config: The configuration (already checked by ``Config.validate``).
        required: Fields that must be set. Defaults to project, bucket and BigQuery source.

    Raises:
        ConfigError: One sentence naming all unset required options, or the first malformed one.
    """
    from kfx import data
    from kfx.config_checks import BEAM_RUNNERS
    from kfx.errors import SourceError

    missing = [flag(name) for name in required if not getattr(config, name)]
    if missing:
        names = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
        raise ConfigError(
            f"The vertex target needs {names}; pass "
            f"{'it' if len(missing) == 1 else 'them'} (see docs/vertex.md for the one-time cloud set-up)."
        )
    if config.project_id and not _PROJECT.match(config.project_id):
        raise ConfigError(
            f"--project-id {config.project_id!r} is not a Google Cloud project id; pass the id, not the name."
        )
    if not _REGION.match(config.region):
        raise ConfigError(f"--region {config.region!r} is not a Google Cloud region; pass one such as us-central1.")
    if config.bucket:
        check_bucket(config.bucket, "--bucket")
    if config.pipeline_root:
        check_bucket(config.pipeline_root, "--pipeline-root")
    if config.bq_source:
        if not config.bq_source.startswith("bq://"):
            raise ConfigError(
                f"--bq-source {config.bq_source!r} is not a BigQuery table; write bq://PROJECT.DATASET.TABLE."
            )
        try:
            data.parse_source(config.bq_source)
        except SourceError as err:
            raise ConfigError(f"--bq-source: {err}") from None
    if config.bq_dest and not _BQ_DEST.match(config.bq_dest):
        raise ConfigError(f"--bq-dest {config.bq_dest!r} is not valid; write bq://PROJECT or bq://PROJECT.DATASET.")
    if config.beam_runner not in BEAM_RUNNERS:
        raise ConfigError(f"--beam-runner {config.beam_runner!r} is unknown; use one of: {', '.join(BEAM_RUNNERS)}.")
    if len(config.recipients) > MAX_RECIPIENTS:
        raise ConfigError(
            f"--recipients names {len(config.recipients)} addresses and Vertex AI e-mails at most {MAX_RECIPIENTS}; "
            "pass three or fewer (a mailing list counts as one)."
        )
    bad = [r for r in config.recipients if not _EMAIL.match(r)]
    if bad:
        raise ConfigError(f"--recipients {bad[0]!r} is not an e-mail address; pass addresses separated by commas.")
    if config.service_account and not _EMAIL.match(config.service_account):
        raise ConfigError(
            f"--service-account {config.service_account!r} is not a service account e-mail; "
            "pass NAME@PROJECT.iam.gserviceaccount.com."
        )
    if config.job_id and not _JOB_ID.match(config.job_id):
        raise ConfigError(
            f"--job-id {config.job_id!r} is not a valid job id; use lower-case "
            "letters, digits and hyphens (at most 128)."
        )
    if not _REPOSITORY.match(config.artifact_repository):
        raise ConfigError(
            f"--artifact-repository {config.artifact_repository!r} is not a repository name; "
            "use lower-case letters, digits and hyphens."
        )
    if not _TAG.match(config.pipeline_container_version):
        raise ConfigError(
            f"--pipeline-container-version {config.pipeline_container_version!r} is not a valid image tag; "
            "use letters, digits, '.', '_' and '-'."
        )
    if config.subnetwork and "/subnetworks/" not in config.subnetwork:
        # Dataflow takes a subnetwork only with its region (or as a full URL).
        raise ConfigError(
            f"--subnetwork {config.subnetwork!r} lacks its region; pass "
            "regions/REGION/subnetworks/NAME or the full URL."
        )
    if config.peering_network and not _PEERING_NETWORK.match(config.peering_network):
        raise ConfigError(
            f"--peering-network {config.peering_network!r} is not a network Vertex AI can peer with; "
            "pass projects/PROJECT_NUMBER/global/networks/NAME (the project number, not its id)."
        )
    # The images are checked last: their defaults derive from the project, region and version.
    from kfx.config import DEFAULT_IMAGE
    from kfx.vertex.images import kfx_image, trainer_image

    if config.project_id or config.image != DEFAULT_IMAGE:
        check_image(kfx_image(config), "--image")
    if config.project_id or config.training_image:
        check_image(trainer_image(config), "--training-image")
    if config.serving_image:  # any prebuilt image or a custom container: only the URI's shape is checked
        check_image(config.serving_image, "--serving-image")
    from kfx.contract import extra_args

    extra_args(config.trainer_args)
