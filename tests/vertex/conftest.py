"""Fixtures of the vertex tests: a real GCS-API server on loopback, and vertex configs.

The server is the ``gcp-storage-emulator`` package, started on 127.0.0.1 at a free
port for the session; ``STORAGE_EMULATOR_HOST`` points google-cloud-storage (and so
``kfx.storage`` and the trainer) at it. Nothing here reaches the internet.
"""

from __future__ import annotations

import socket
import uuid

import pytest

PROJECT = "kfx-test-project"
BQ_SOURCE = f"bq://{PROJECT}.beans.beans1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def gcs_server():
    """The emulator's base URL; the server lives for the test session."""
    from gcp_storage_emulator.server import create_server

    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def gcs_bucket(gcs_server, monkeypatch):
    """A fresh, empty bucket on the emulator, as ``gs://NAME``; the environment points at the emulator."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server)
    from kfx import storage

    name = f"kfx-test-{uuid.uuid4().hex[:10]}"
    storage._client().create_bucket(name)
    return f"gs://{name}"


@pytest.fixture
def vertex_config():
    """A complete vertex config with every cloud option set to a recognisable value."""
    from kfx.config import Config

    return Config(
        target="vertex",
        project_id=PROJECT,
        region="europe-west4",
        bucket="gs://kfx-test-bucket",
        bq_source=BQ_SOURCE,
        bq_dest=f"bq://{PROJECT}",
        recipients=["ml-team@example.com", "oncall@example.com"],
        service_account=f"kfx-pipelines@{PROJECT}.iam.gserviceaccount.com",
        network="kfx-vpc",
        subnetwork="regions/europe-west4/subnetworks/kfx-subnet",
        peering_network="projects/123456789/global/networks/kfx-peered",
        beam_runner="DataflowRunner",
        image="europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3",
        training_image="europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3",
        machine_type="n1-standard-8",
        job_id="kfx-beans-test-run",
    )


@pytest.fixture(scope="session")
def beans_frames():
    """A 600-row stratified sample of the packaged beans table, split 0.8/0.1/0.1: {split: DataFrame}."""
    from kfx import data, splitting

    table = data.check_table(
        splitting.stratified_sample(data.read_source(""), "Class", 600, seed=42), "Class", (0.8, 0.1, 0.1)
    )
    return splitting.stratified_split(table, "Class", (0.8, 0.1, 0.1), seed=42)


class FakeBigQuery:
    """Stands in for ``google.cloud.bigquery.Client`` at the network edge: serves DataFrames by
    table id and records every call, so tests assert exactly what kfx asked BigQuery for."""

    def __init__(self, tables=None, datasets=()):
        self.tables = dict(tables or {})
        self.datasets = list(datasets)
        self.calls = []

    def client(self, project=None, **kwargs):
        self.calls.append(("Client", project))
        return _FakeClient(self)


class _FakeClient:
    def __init__(self, fake):
        self.fake = fake

    def get_table(self, table_id):
        self.fake.calls.append(("get_table", table_id))
        if table_id not in self.fake.tables:
            from google.api_core.exceptions import NotFound

            raise NotFound(f"Table {table_id} not found")
        return table_id

    def list_rows(self, table):
        self.fake.calls.append(("list_rows", table))
        frame = self.fake.tables[table]

        class Rows:
            def to_dataframe(self, create_bqstorage_client=False):
                return frame.copy()

        return Rows()

    def list_datasets(self, project=None):
        self.fake.calls.append(("list_datasets", project))

        class Item:
            def __init__(self, dataset_id):
                self.dataset_id = dataset_id

        return [Item(d) for d in self.fake.datasets]


@pytest.fixture
def fake_bigquery(monkeypatch):
    """Patches ``bigquery.Client`` (the network edge) with a :class:`FakeBigQuery`; fill ``tables``."""
    from google.cloud import bigquery

    fake = FakeBigQuery()
    monkeypatch.setattr(bigquery, "Client", fake.client)
    return fake


@pytest.fixture
def fresh_aiplatform(monkeypatch):
    """A fresh aiplatform global config for one test: the SDK caches the credentials and project
    it first finds, which must not leak from one test into the next."""
    from google.cloud.aiplatform import initializer

    monkeypatch.setattr(initializer, "global_config", initializer._Config())


@pytest.fixture
def offline_project_lookup(monkeypatch):
    """aiplatform checks the pipeline root bucket's owner with a Resource Manager lookup, a network
    call retried for about a minute offline; at that edge it answers a fixed project number."""
    from google.cloud.aiplatform.utils import resource_manager_utils

    monkeypatch.setattr(resource_manager_utils, "get_project_number", lambda project, **k: "123456789")


@pytest.fixture
def anonymous_auth(monkeypatch, fresh_aiplatform, offline_project_lookup):
    """Anonymous default credentials for the aiplatform SDK (no metadata server, no gcloud here)."""
    import google.auth
    from google.auth.credentials import AnonymousCredentials

    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "kfx-test-project"))


class FakeModelRegistry:
    """Vertex AI's model service at the network edge: the RPCs of the gapic ``ModelServiceClient`` that
    the real ``aiplatform.Model`` calls (list_models, get_model, upload_model, import_model_evaluation),
    answered from models held here, as the service does: ListModels gives each model's default
    version; ``NAME@VERSION`` and ``NAME@ALIAS`` name one version; an upload with a parent adds a
    version (the ``default`` alias moves to it only when asked), and an upload without one starts a
    model whose first version is its default whatever was asked. Every request is recorded."""

    def __init__(self, project: str = PROJECT, location: str = "europe-west4"):
        self.parent = f"projects/{project}/locations/{location}"
        self.models: dict[str, list] = {}  # model resource name -> its versions, oldest first
        self.requests: list = []
        self.evaluations: list = []

    def add_model(self, display_name: str, versions: list[dict], default: str = "1") -> str:
        """Holds a model made earlier: ``versions`` as ``{"labels": {...}, "artifact_uri": ...}``."""
        from google.cloud.aiplatform_v1.types import model as gca_model

        name = f"{self.parent}/models/{700 + len(self.models)}"
        self.models[name] = [
            gca_model.Model(
                name=name,
                display_name=display_name,
                version_id=str(i),
                labels=v.get("labels", {}),
                artifact_uri=v.get("artifact_uri", ""),
                version_aliases=["default"] if str(i) == default else [],
            )
            for i, v in enumerate(versions, start=1)
        ]
        return name

    def version(self, name: str):
        """The version a ``NAME``, ``NAME@VERSION`` or ``NAME@ALIAS`` names (``NAME`` alone: the default)."""
        from google.api_core.exceptions import NotFound

        base, _, ref = name.partition("@")
        ref = ref or "default"
        for v in self.models.get(base, []):
            if v.version_id == ref or ref in v.version_aliases:
                return v
        raise NotFound(f"Model {name} not found")

    def default(self, name: str) -> str:
        """The version id holding the ``default`` alias."""
        return self.version(name).version_id

    # --- the patched ModelServiceClient methods -------------------------------------------------

    def list_models(self, client, request=None, **kwargs):
        import re

        self.requests.append(("list_models", dict(request)))
        wanted = re.fullmatch(r'display_name="(.*)"', request.get("filter", ""))
        models = [self.version(n) for n in self.models if not wanted or self.version(n).display_name == wanted[1]]
        newest_first = list(reversed(models)) if request.get("order_by") == "create_time desc" else models
        return newest_first

    def get_model(self, client, *, name, **kwargs):
        self.requests.append(("get_model", name))
        return self.version(name)

    def upload_model(self, client, request=None, **kwargs):
        from types import SimpleNamespace

        from google.cloud.aiplatform_v1.types import model as gca_model
        from google.cloud.aiplatform_v1.types import model_service

        self.requests.append(("upload_model", request))
        sent = request.model
        if request.parent_model:
            name, versions = request.parent_model, self.models[request.parent_model]
        else:
            name = f"{self.parent}/models/{700 + len(self.models)}"
            versions = self.models[name] = []
        aliases = list(sent.version_aliases)
        if not versions and "default" not in aliases:
            aliases.append("default")  # a model's first version is its default, whatever the request says
        if "default" in aliases:
            for v in versions:
                v.version_aliases = [a for a in v.version_aliases if a != "default"]
        version = gca_model.Model(sent)
        version.name, version.version_id, version.version_aliases = name, str(len(versions) + 1), aliases
        versions.append(version)
        response = model_service.UploadModelResponse(model=name, model_version_id=version.version_id)
        return SimpleNamespace(operation=SimpleNamespace(name=f"{name}/operations/1"), result=lambda *a, **k: response)

    def import_model_evaluation(self, client, *, parent, model_evaluation, **kwargs):
        from google.cloud.aiplatform_v1.types import model_evaluation as gca_model_evaluation

        self.requests.append(("import_model_evaluation", parent))
        created = gca_model_evaluation.ModelEvaluation(model_evaluation)
        created.name = f"{parent.partition('@')[0]}/evaluations/{900 + len(self.evaluations)}"
        self.evaluations.append((parent, created))
        return created

    def calls(self, method: str) -> list:
        """The recorded requests of one RPC."""
        return [r[1] for r in self.requests if r[0] == method]


@pytest.fixture
def model_registry(monkeypatch, anonymous_auth):
    """The real ``aiplatform.Model`` over a :class:`FakeModelRegistry` that answers its gapic client's RPCs
    (the network edge), with anonymous credentials; fill it with ``add_model``."""
    from google.cloud.aiplatform_v1.services.model_service import ModelServiceClient

    fake = FakeModelRegistry()
    for method in ("list_models", "get_model", "upload_model", "import_model_evaluation"):
        bound = getattr(fake, method)
        monkeypatch.setattr(ModelServiceClient, method, lambda client, *a, _m=bound, **k: _m(client, *a, **k))
    return fake
