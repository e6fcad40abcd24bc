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
    from kfx import data

    table = data.check_table(data.stratified_sample(data.read_source(""), "Class", 600, seed=42), "Class", (0.8, 0.1, 0.1))
    return data.stratified_split(table, "Class", (0.8, 0.1, 0.1), seed=42)


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
