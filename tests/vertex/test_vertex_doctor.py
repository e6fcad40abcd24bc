"""``kfx doctor --target vertex``: what it finds and how it names what is missing.

The bucket check talks to the loopback GCS-API server for real. Credentials
(``google.auth.default``) and the Artifact Registry manifest requests
the Service Usage listing and the IAM policy and role look-ups (``AuthorizedSession.head`` / ``.get`` /
``.post``) are replaced at that edge; the requested URLs are asserted.
"""

from __future__ import annotations

import pytest
from google.auth.credentials import AnonymousCredentials

from kfx.vertex.doctor import image_manifest_url


class _Response:
    def __init__(self, status_code, body):
        self.status_code, self._body = status_code, body

    def json(self):
        return self._body


@pytest.fixture
def registry(monkeypatch):
    """Records manifest HEAD requests; images listed in ``present`` exist."""
    import google.auth
    from google.auth.transport import requests as auth_requests

    from kfx.vertex.doctor import REQUIRED_APIS

    class Session:
        requests = []
        present = set()
        enabled = list(REQUIRED_APIS)
        listing = []

        # The project's IAM policy and the roles' permissions, as the IAM APIs answer them.
        bindings = [
            {
                "role": "roles/bigquery.readSessionUser",
                "members": ["serviceAccount:123456789-compute@developer.gserviceaccount.com"],
            },
            {
                "role": "roles/bigquery.jobUser",
                "members": ["serviceAccount:kfx-pipelines@kfx-test-project.iam.gserviceaccount.com"],
            },
            {
                "role": "projects/kfx-test-project/roles/kfxReader",
                "members": ["serviceAccount:kfx-pipelines@kfx-test-project.iam.gserviceaccount.com"],
            },
        ]
        roles = {
            "roles/bigquery.readSessionUser": ["bigquery.readsessions.create", "bigquery.readsessions.getData"],
            "roles/bigquery.jobUser": ["bigquery.jobs.create"],
            "projects/kfx-test-project/roles/kfxReader": ["bigquery.tables.getData"],
        }
        iam = []

        def post(self, url, json=None, timeout=None):
            Session.iam.append(("POST", url))
            assert url == "https://cloudresourcemanager.googleapis.com/v1/projects/kfx-test-project:getIamPolicy"
            return _Response(200, {"version": 1, "bindings": Session.bindings})

        def get(self, url, params=None, timeout=None):
            if url == "https://cloudresourcemanager.googleapis.com/v1/projects/kfx-test-project":
                Session.iam.append(("GET", url))
                return _Response(200, {"projectId": "kfx-test-project", "projectNumber": "123456789"})
            if url.startswith("https://iam.googleapis.com/v1/"):
                Session.iam.append(("GET", url))
                role = url[len("https://iam.googleapis.com/v1/") :]
                return _Response(200, {"name": role, "includedPermissions": Session.roles[role]})
            Session.listing.append((url, dict(params)))
            page = int(params.get("pageToken", 0))
            names = Session.enabled[page * 6 : page * 6 + 6]

            class Response:
                status_code = 200

                def json(self):
                    more = len(Session.enabled) > (page + 1) * 6
                    return {
                        "services": [{"config": {"name": n}} for n in names],
                        **({"nextPageToken": str(page + 1)} if more else {}),
                    }

            return Response()

        def head(self, url, headers=None, timeout=None):
            Session.requests.append((url, headers["Accept"].split(", ")[0]))

            class Response:
                status_code = 200 if url in Session.present else 404

            return Response()

    # Only HEAD requests are replaced; the storage client's own requests still go to the server.
    monkeypatch.setattr(auth_requests.AuthorizedSession, "head", Session.head)
    monkeypatch.setattr(auth_requests.AuthorizedSession, "get", Session.get)
    monkeypatch.setattr(auth_requests.AuthorizedSession, "post", Session.post)
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
    code = main(
        [
            "doctor",
            "--target",
            "vertex",
            "--project-id",
            "kfx-test-project",
            "--bucket",
            gcs_bucket,
            "--pipeline-container-version",
            "v1",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split()[0] + " " + line.split()[1] for line in lines[:-1]] == [
        "ok credentials:",
        "ok project:",
        "ok APIs:",
        "ok bucket:",
        "ok kfx",
        "ok trainer",
        "ok BigQuery",
    ]
    # Without --service-account the pipeline runs as Compute Engine's default account.
    assert lines[6] == (
        "ok       BigQuery read sessions: 123456789-compute@developer.gserviceaccount.com may, "
        "through roles/bigquery.readSessionUser"
    )
    # Two pages of enabled services were read.
    url = "https://serviceusage.googleapis.com/v1/projects/kfx-test-project/services"
    assert registry.listing == [
        (url, {"filter": "state:ENABLED", "pageSize": 200}),
        (url, {"filter": "state:ENABLED", "pageSize": 200, "pageToken": "1"}),
    ]
    assert lines[-1] == "Everything kfx can check is in place."
    oci_index = "application/vnd.oci.image.index.v1+json"
    assert registry.requests == [(kfx_url, oci_index), (trainer_url, oci_index)]


def test_missing_bucket_and_images_are_named_with_the_fix(gcs_server, monkeypatch, registry, capsys):
    from kfx.cli import main

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server)
    registry.enabled = [
        api for api in registry.enabled if api not in ("dataflow.googleapis.com", "compute.googleapis.com")
    ]
    code = main(
        ["doctor", "--target", "vertex", "--project-id", "kfx-test-project", "--bucket", "gs://kfx-no-such-bucket"]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[2] == (
        "MISSING  APIs: not enabled: compute.googleapis.com, dataflow.googleapis.com; "
        "run gcloud services enable compute.googleapis.com dataflow.googleapis.com."
    )
    assert lines[3] == (
        "MISSING  bucket: gs://kfx-no-such-bucket does not exist; create it: "
        "gcloud storage buckets create gs://kfx-no-such-bucket --location us-central1."
    )
    assert lines[4] == (
        "MISSING  kfx image: us-central1-docker.pkg.dev/kfx-test-project/kfx/kfx:latest is not in the registry; "
        "run `kfx build` (or pass an existing image)."
    )
    assert lines[-1] == "4 missing: APIs, bucket, kfx image, trainer image."


def test_a_service_account_without_read_sessions_is_named_with_the_grant(gcs_bucket, registry, capsys):
    """The account's roles on the project (one predefined, one custom) are read, and neither
    holds bigquery.readsessions.create."""
    from kfx.cli import main

    code = main(
        [
            "doctor",
            "--target",
            "vertex",
            "--project-id",
            "kfx-test-project",
            "--bucket",
            gcs_bucket,
            "--service-account",
            "kfx-pipelines@kfx-test-project.iam.gserviceaccount.com",
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[6] == (
        "MISSING  BigQuery read sessions: kfx-pipelines@kfx-test-project.iam.gserviceaccount.com lacks "
        "bigquery.readsessions.create in kfx-test-project; run gcloud projects add-iam-policy-binding kfx-test-project "
        "--member serviceAccount:kfx-pipelines@kfx-test-project.iam.gserviceaccount.com --role "
        "roles/bigquery.readSessionUser."
    )
    assert registry.iam == [
        ("POST", "https://cloudresourcemanager.googleapis.com/v1/projects/kfx-test-project:getIamPolicy"),
        ("GET", "https://iam.googleapis.com/v1/roles/bigquery.jobUser"),
        ("GET", "https://iam.googleapis.com/v1/projects/kfx-test-project/roles/kfxReader"),
    ]
    assert lines[-1] == "3 missing: kfx image, trainer image, BigQuery read sessions."


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


def test_apis_that_cannot_be_listed_are_reported_with_the_role_to_grant():
    from kfx.vertex.doctor import check_apis

    class Forbidden:
        def get(self, url, params=None, timeout=None):
            class Response:
                status_code = 403

            return Response()

    check = check_apis("kfx-test-project", Forbidden)
    assert (check.ok, check.detail) == (
        False,
        "could not list the enabled APIs (HTTP 403); enable those of docs/vertex.md step 1 "
        "or grant roles/serviceusage.serviceUsageViewer to check them.",
    )
