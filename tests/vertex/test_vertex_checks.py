"""Offline checks of the vertex options: each bad value is one sentence naming the option and the fix."""

from __future__ import annotations

import dataclasses

import pytest

from kfx.errors import ConfigError
from kfx.vertex.checks import check_vertex_config, has_tag


@pytest.mark.parametrize(
    "image, tagged",
    [
        ("europe-west4-docker.pkg.dev/p/kfx/kfx:1.2.3", True),
        ("localhost:5000/kfx:dev", True),
        ("europe-west4-docker.pkg.dev/p/kfx/kfx@sha256:" + "a" * 64, True),
        ("localhost:5000/kfx", False),
        ("europe-west4-docker.pkg.dev/p/kfx/kfx", False),
        ("europe-west4-docker.pkg.dev/p/kfx/kfx:", False),
    ],
)
def test_has_tag(image, tagged):
    assert has_tag(image) is tagged


BAD = [
    (
        {"project_id": "My Project"},
        "--project-id 'My Project' is not a Google Cloud project id; pass the id, not the name.",
    ),
    ({"region": "europe"}, "--region 'europe' is not a Google Cloud region; pass one such as us-central1."),
    (
        {"bucket": "gs://Bad_Bucket"},
        "--bucket: 'gs://Bad_Bucket' does not name a valid bucket; write "
        "gs://BUCKET/PATH with a lower-case bucket name.",
    ),
    (
        {"pipeline_root": "/tmp/root"},
        "--pipeline-root '/tmp/root' does not start with gs://; pass gs://BUCKET (e.g. gs://my-project-kfx).",
    ),
    (
        {"bq_source": "bq://kfx-test-project.beans"},
        "--bq-source: 'bq://kfx-test-project.beans' is not a valid BigQuery table id; write bq://PROJECT.DATASET.TABLE "
        "(letters, digits and underscores; the project id in lower case).",
    ),
    (
        {"service_account": "kfx-pipelines"},
        "--service-account 'kfx-pipelines' is not a service account e-mail; pass NAME@PROJECT.iam.gserviceaccount.com.",
    ),
    (
        {"job_id": "Beans_Run"},
        "--job-id 'Beans_Run' is not a valid job id; use lower-case letters, digits and hyphens (at most 128).",
    ),
    (
        {"subnetwork": "kfx-subnet"},
        "--subnetwork 'kfx-subnet' lacks its region; pass regions/REGION/subnetworks/NAME or the full URL.",
    ),
    (
        {"pipeline_container_version": "v1 beta"},
        "--pipeline-container-version 'v1 beta' is not a valid image tag; use letters, digits, '.', '_' and '-'.",
    ),
    (
        {"training_image": "kfx-trainer"},
        "--training-image 'kfx-trainer' is not an image URI with a tag; pass "
        "REGION-docker.pkg.dev/PROJECT/REPO/NAME:TAG (or NAME@sha256:DIGEST).",
    ),
]


@pytest.mark.parametrize("change, message", BAD, ids=[next(iter(c)) for c, _ in BAD])
def test_each_bad_option_is_one_sentence(vertex_config, change, message):
    with pytest.raises(ConfigError) as caught:
        check_vertex_config(dataclasses.replace(vertex_config, **change))
    assert str(caught.value) == message


def test_a_complete_config_passes_and_local_configs_are_untouched(vertex_config):
    from kfx.config import Config

    check_vertex_config(vertex_config)
    Config().validate()  # the local default needs none of the vertex options
    with pytest.raises(ConfigError, match="needs --project-id, --bucket and --bq-source"):
        check_vertex_config(Config())
