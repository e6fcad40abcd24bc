"""``kfx doctor --target vertex``: checks what can be checked of the one-time cloud set-up.

Each check says what it found or, when something is missing, what to do. The
checks only read: credentials, project, the enabled APIs (when this identity may
list them), the bucket, the two images in Artifact Registry, and whether the
pipeline's account may create BigQuery read sessions in the pipeline's project
(from the project's IAM policy). Other roles are not verified; docs/vertex.md
lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from kfx.config import Config

_MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


REQUIRED_APIS = (
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "dataflow.googleapis.com",
    "iam.googleapis.com",
    "storage.googleapis.com",
)
"""The APIs of docs/vertex.md, step 1."""
SERVICE_USAGE = "https://serviceusage.googleapis.com/v1"
RESOURCE_MANAGER = "https://cloudresourcemanager.googleapis.com/v1"
IAM = "https://iam.googleapis.com/v1"
READ_SESSIONS = "bigquery.readsessions.create"
"""What statistics in memory and the test split's export need in the pipeline's project."""


@dataclass(frozen=True)
class Check:
    """The outcome of one check.

    Attributes:
        name: What was checked.
        ok: Whether it is in place.
        detail: What was found, or what to do.
    """

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok     ' if self.ok else 'MISSING'}  {self.name}: {self.detail}"


def check_credentials() -> tuple[Check, Optional[object]]:
    """Application default credentials, and the credentials object when found."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError:
        return Check("credentials", False, "none found; run `gcloud auth application-default login`."), None
    who = getattr(credentials, "service_account_email", None) or "user credentials"
    return Check("credentials", True, f"{who} (default project {project or 'unset'})"), credentials


def check_project(config: Config) -> Check:
    """That a project is configured."""
    if config.project_id:
        return Check("project", True, config.project_id)
    return Check("project", False, "unset; pass --project-id PROJECT.")


def check_bucket(config: Config) -> Check:
    """That the bucket exists and this identity can see it."""
    from google.api_core import exceptions

    from kfx import storage

    if not config.bucket:
        return Check("bucket", False, "unset; create one (docs/vertex.md, step 2) and pass --bucket gs://BUCKET.")
    name, _ = storage.split_gcs(config.bucket)
    try:
        found = storage._client().lookup_bucket(name)
    except exceptions.Forbidden:
        return Check(
            "bucket", False, f"gs://{name} exists but this identity may not read it; grant roles/storage.admin on it."
        )
    if found is None:
        return Check(
            "bucket",
            False,
            f"gs://{name} does not exist; create it: gcloud storage buckets "
            f"create gs://{name} --location {config.region}.",
        )
    return Check("bucket", True, f"gs://{name} ({found.location or 'location unknown'})")


def image_manifest_url(uri: str) -> str:
    """The Docker Registry v2 manifest URL of ``HOST/PATH:TAG`` (or ``@sha256:…``)."""
    host, _, rest = uri.partition("/")
    if "@" in rest:
        path, _, reference = rest.partition("@")
    else:
        path, _, reference = rest.rpartition(":")
    return f"https://{host}/v2/{path}/manifests/{reference}"


def check_image(name: str, uri: str, session_factory: Callable[[], Any]) -> Check:
    """That an image exists in its registry (a HEAD request for its manifest)."""
    response = session_factory().head(image_manifest_url(uri), headers={"Accept": _MANIFEST_TYPES}, timeout=30)
    status = response.status_code
    if status == 200:
        return Check(name, True, uri)
    if status == 404:
        return Check(name, False, f"{uri} is not in the registry; run `kfx build` (or pass an existing image).")
    return Check(name, False, f"{uri} could not be checked (HTTP {status}); grant roles/artifactregistry.reader.")


def check_apis(project: str, session_factory: Callable[[], Any]) -> Check:
    """That every API the pipeline uses is enabled (Service Usage API, read only)."""
    session = session_factory()
    enabled: set[str] = set()
    params = {"filter": "state:ENABLED", "pageSize": 200}
    while True:
        response = session.get(f"{SERVICE_USAGE}/projects/{project}/services", params=params, timeout=30)
        if response.status_code != 200:
            return Check(
                "APIs",
                False,
                f"could not list the enabled APIs (HTTP {response.status_code}); enable those of docs/vertex.md step 1 "
                "or grant roles/serviceusage.serviceUsageViewer to check them.",
            )
        body = response.json()
        enabled |= {s["config"]["name"] for s in body.get("services", [])}
        if not body.get("nextPageToken"):
            break
        params = {**params, "pageToken": body["nextPageToken"]}
    missing = [api for api in REQUIRED_APIS if api not in enabled]
    if missing:
        return Check(
            "APIs", False, f"not enabled: {', '.join(missing)}; run gcloud services enable {' '.join(missing)}."
        )
    return Check("APIs", True, f"all {len(REQUIRED_APIS)} enabled")


def pipeline_identity(project: str, service_account: str, session) -> Optional[str]:
    """The account the pipeline runs as: ``--service-account``, else Compute Engine's default account."""
    if service_account:
        return service_account
    response = session.get(f"{RESOURCE_MANAGER}/projects/{project}", timeout=30)
    if response.status_code != 200:
        return None
    return f"{response.json()['projectNumber']}-compute@developer.gserviceaccount.com"


def check_read_sessions(config: Config, session_factory: Callable[[], Any]) -> Check:
    """That the pipeline's account may create BigQuery read sessions in the pipeline's project.

    Reads the project's IAM policy and the permissions of each role granted to the
    account there. Grants inherited from a folder or the organization are not seen.
    """
    name = "BigQuery read sessions"
    session = session_factory()
    project = config.project_id
    account = pipeline_identity(project, config.service_account, session)
    if account is None:
        return Check(
            name, False, f"could not look up project {project}; pass --service-account to name the pipeline's account."
        )
    grant = (
        f"gcloud projects add-iam-policy-binding {project} --member serviceAccount:{account} "
        "--role roles/bigquery.readSessionUser"
    )
    response = session.post(
        f"{RESOURCE_MANAGER}/projects/{project}:getIamPolicy",
        json={"options": {"requestedPolicyVersion": 3}},
        timeout=30,
    )
    if response.status_code != 200:
        return Check(
            name,
            False,
            f"could not read the IAM policy of {project} (HTTP {response.status_code}); make sure: {grant}.",
        )
    member = f"serviceAccount:{account}"
    roles = [b["role"] for b in response.json().get("bindings", []) if member in b.get("members", [])]
    for role in roles:
        found = session.get(f"{IAM}/{role}", timeout=30)
        if found.status_code == 200 and READ_SESSIONS in found.json().get("includedPermissions", []):
            return Check(name, True, f"{account} may, through {role}")
    return Check(name, False, f"{account} lacks {READ_SESSIONS} in {project}; run {grant}.")


def run_checks(config: Config) -> list[Check]:
    """Runs every check, in set-up order; later checks that need credentials are skipped without them."""
    from kfx.vertex.images import kfx_image, trainer_image

    checks = []
    credentials_check, credentials = check_credentials()
    checks.append(credentials_check)
    checks.append(check_project(config))
    if credentials is None:
        return checks
    from google.auth.transport.requests import AuthorizedSession

    def session():
        return AuthorizedSession(credentials)

    if config.project_id:
        checks.append(check_apis(config.project_id, session))
    checks.append(check_bucket(config))
    if config.project_id:
        checks.append(check_image("kfx image", kfx_image(config), session))
        checks.append(check_image("trainer image", trainer_image(config), session))
        checks.append(check_read_sessions(config, session))
    return checks
