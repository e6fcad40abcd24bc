"""``kfx doctor --target vertex``: what it finds and how it names what is missing.

The bucket check talks to the loopback GCS-API server for real. Credentials
(``google.auth.default``) and the Artifact Registry manifest requests
(``AuthorizedSession.head``) are replaced at that edge; the requested URLs are asserted.
"""

from __future__ import annotations

import pytest
from google.auth.credentials import AnonymousCredentials

from kfx.vertex.doctor import image_manifest_url


@pytest.fixture
def registry(monkeypatch):
    """Records manifest HEAD requests; images listed in ``present`` exist."""
    import google.auth
    from google.auth.transport import requests as auth_requests

    class Session:
        requests = []
        present = set()

        def head(self, url, headers=None, timeout=None):
            Session.requests.append((url, headers["Accept"].split(", ")[0]))

            class Response:
                status_code = 200 if url in Session.present else 404

            return Response()

    # Only HEAD requests are replaced; the storage client's own requests still go to the server.
    monkeypatch.setattr(auth_requests.AuthorizedSession, "head", Session.head)
    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "kfx-test-project"))
    return Session


def test_manifest_urls_of_tags_and_digests():
    assert image_manifest_url("europe-west4-docker.pkg.dev/p/kfx/kfx:1.2.3") == (
        "https://europe-west4-docker.pkg.dev/v2/p/kfx/kfx/manifests/1.2.3"
    )
    assert image_manifest_url("europe-west4-docker.pkg.dev/p/kfx/kfx@sha256:abc") == (
        "https://europe-west4-docker.pkg.dev/v2/p/kfx/kfx/manifests/sha256:abc"
    )


def test_everything_in_place(gcs_bucket, registry, capsys):
    from kfx.cli import main

    kfx_url = "https://us-central1-docker.pkg.dev/v2/kfx-test-project/kfx/kfx/manifests/v1"
    trainer_url = "https://us-central1-docker.pkg.dev/v2/kfx-test-project/kfx/kfx-trainer/manifests/v1"
    registry.present = {kfx_url, trainer_url}
    code = main(["doctor", "--target", "vertex", "--project-id", "kfx-test-project", "--bucket", gcs_bucket,
                 "--pipeline-container-version", "v1"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split()[0] + " " + line.split()[1] for line in lines[:-1]] == [
        "ok credentials:", "ok project:", "ok bucket:", "ok kfx", "ok trainer",
    ]
    assert lines[-1] == "Everything kfx can check is in place."
    oci_index = "application/vnd.oci.image.index.v1+json"
    assert registry.requests == [(kfx_url, oci_index), (trainer_url, oci_index)]


def test_missing_bucket_and_images_are_named_with_the_fix(gcs_server, monkeypatch, registry, capsys):
    from kfx.cli import main

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server)
    code = main(["doctor", "--target", "vertex", "--project-id", "kfx-test-project", "--bucket", "gs://kfx-no-such-bucket"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[2] == (
        "MISSING  bucket: gs://kfx-no-such-bucket does not exist; create it: "
        "gcloud storage buckets create gs://kfx-no-such-bucket --location us-central1."
    )
    assert lines[3] == (
        "MISSING  kfx image: us-central1-docker.pkg.dev/kfx-test-project/kfx/kfx:latest is not in the registry; "
        "run `kfx build` (or pass an existing image)."
    )
    assert lines[-1] == "3 missing: bucket, kfx image, trainer image."


def test_without_credentials_only_offline_checks_run(monkeypatch, capsys):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    from kfx.cli import main

    def no_credentials(*args, **kwargs):
        raise DefaultCredentialsError("none")

    monkeypatch.setattr(google.auth, "default", no_credentials)
    code = main(["doctor", "--target", "vertex"])
    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        "MISSING  credentials: none found; run `gcloud auth application-default login`.",
        "MISSING  project: unset; pass --project-id PROJECT.",
        "2 missing: credentials, project.",
    ]
