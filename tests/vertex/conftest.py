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
        beam_runner="DataflowRunner",
        image="europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx:1.2.3",
        training_image="europe-west4-docker.pkg.dev/kfx-test-project/kfx/kfx-trainer:1.2.3",
        machine_type="n1-standard-8",
        job_id="kfx-beans-test-run",
    )
