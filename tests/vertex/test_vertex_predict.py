"""The Vertex AI batch prediction pipeline: compiled, loaded by the real aiplatform client, and its model lookup.

The compiled YAML is loaded into the real ``aiplatform.PipelineJob``. The lookup of
the model's default version runs the real aiplatform ``Model`` client; only the
network edge is patched: ``ModelServiceClient.list_models`` / ``get_model`` answer
from a dict of models like the Model Registry would. The trainer's
``model_metadata.json`` lives on the loopback GCS-API server.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from google.auth.credentials import AnonymousCredentials

from kfx.errors import SourceError

MODEL = "projects/kfx-test-project/locations/europe-west4/models/8123"
FEATURES = ["Area", "Perimeter", "MajorAxisLength", "ShapeFactor4"]


def _tasks(spec):
    """Every task of a pipeline spec, groups (exit handlers) opened, by name."""
    found = {}
    for component in [spec["root"], *spec["components"].values()]:
        found.update(component.get("dag", {}).get("tasks", {}))
    return found


def test_predict_pipeline_loads_into_the_real_pipeline_job_with_bigquery_in_and_out(
    vertex_config, tmp_path, fresh_aiplatform
):
    from kfx.pipelines import compile_pipeline
    from kfx.vertex.submit import make_pipeline_job

    config = dataclasses.replace(vertex_config, pipeline="predict", recipients=[])
    path = compile_pipeline(config, str(tmp_path / "predict.yaml"))
    job = make_pipeline_job(config, path, credentials=AnonymousCredentials())
    resource = job._gca_resource
    assert resource.display_name == "kfx-beans1-predict"
    assert dict(resource.runtime_config.parameter_values) == {
        "project_id": "kfx-test-project",
        "region": "europe-west4",
        "model_name": "beans1",
        "prediction_job_name": "beans1-predict",
        "machine_type": "n1-standard-8",
        "prediction_format": "bigquery",
        "instance_type": "array",
        "bq_source": "bq://kfx-test-project.beans.beans1",
        "bq_dest": "bq://kfx-test-project",
        "service_account": "kfx-pipelines@kfx-test-project.iam.gserviceaccount.com",
        "drift_threshold": 0.15,
        "fail_on_anomalies": True,
    }
    tasks = _tasks(resource.pipeline_spec)
    # The table is checked as kfx predict checks it locally, by the same components, before it is scored.
    assert sorted(tasks) == [
        "default-vertex-model",
        "find-vertex-model",
        "generate-scoring-statistics",
        "import-scoring-data",
        "model-batch-predict",
        "validate-scoring-statistics",
    ]
    deps = {name: sorted(task.get("dependentTasks", [])) for name, task in tasks.items()}
    assert deps["import-scoring-data"] == ["find-vertex-model"]
    assert deps["validate-scoring-statistics"] == [
        "find-vertex-model",
        "generate-scoring-statistics",
        "import-scoring-data",
    ]
    assert deps["model-batch-predict"] == ["default-vertex-model", "validate-scoring-statistics"]
    scored = tasks["import-scoring-data"]["inputs"]
    assert scored["parameters"]["source"] == {"componentInputParameter": "bq_source"}
    assert scored["artifacts"]["registered_model"]["taskOutputArtifact"] == {
        "outputArtifactKey": "registered_model",
        "producerTask": "find-vertex-model",
    }
    predict = tasks["model-batch-predict"]["inputs"]
    parameters = {
        name: spec.get("componentInputParameter") or spec["taskOutputParameter"]["outputParameterKey"]
        for name, spec in predict["parameters"].items()
    }
    assert parameters == {
        "bigquery_source_input_uri": "bq_source",
        "bigquery_destination_output_uri": "bq_dest",
        "instances_format": "prediction_format",
        "predictions_format": "prediction_format",
        "included_fields": "feature_columns",
        "instance_type": "instance_type",
        "machine_type": "machine_type",
        "job_display_name": "prediction_job_name",
        "project": "project_id",
        "location": "region",
        "service_account": "service_account",
    }
    assert predict["artifacts"]["model"]["taskOutputArtifact"] == {
        "outputArtifactKey": "vertex_model",
        "producerTask": "default-vertex-model",
    }
    # Nothing is cached: the default alias moves, and the table changes under the same name.
    cached = {name: task.get("cachingOptions", {}).get("enableCache", False) for name, task in tasks.items()}
    # The default alias moves and the table changes under its name: those steps always run.
    assert not any(
        cached[n] for n in ("find-vertex-model", "default-vertex-model", "import-scoring-data", "model-batch-predict")
    )
    executors = resource.pipeline_spec["deploymentSpec"]["executors"]
    assert executors["exec-default-vertex-model"]["container"]["image"] == vertex_config.image
    assert executors["exec-model-batch-predict"]["container"]["image"].startswith(
        "gcr.io/ml-pipeline/google-cloud-pipeline-components:"
    )


@pytest.fixture
def model_registry(monkeypatch, anonymous_auth):
    """The Model Registry at its network edge: ``list_models`` and ``get_model`` answer from ``models``
    (display name -> versions by id, plus which alias points where) and record each call."""
    from google.cloud.aiplatform_v1.services.model_service import ModelServiceClient
    from google.cloud.aiplatform_v1.types import model as gca_model

    registry = {"models": {}, "calls": []}

    def list_models(self, request=None, **kwargs):
        registry["calls"].append(("list_models", request["filter"]))
        wanted = request["filter"].split('"')[1]
        return [
            gca_model.Model(name=name, display_name=wanted)
            for name, entry in registry["models"].items()
            if entry["display_name"] == wanted
        ]

    def get_model(self, *, name, **kwargs):
        registry["calls"].append(("get_model", name))
        base, _, version = name.partition("@")
        entry = registry["models"][base]
        version = entry["aliases"].get(version, version)
        found = entry["versions"][version]
        return gca_model.Model(name=base, display_name=entry["display_name"], version_id=version, **found)

    monkeypatch.setattr(ModelServiceClient, "list_models", list_models)
    monkeypatch.setattr(ModelServiceClient, "get_model", get_model)
    return registry


def _register(registry, bucket: str, blessed_version: str = "3") -> None:
    from kfx import storage

    versions = {}
    for version in ("1", "2", "3"):
        folder = f"{bucket}/models/beans1/v{version}"
        storage.write_text(f"{folder}/model_metadata.json", json.dumps({"features": FEATURES, "label_column": "Class"}))
        labels = {"kfx_blessed": "true" if version == blessed_version else "false"}
        versions[version] = {"artifact_uri": folder, "labels": labels}
    registry["models"][MODEL] = {
        "display_name": "beans1",
        "versions": versions,
        "aliases": {"default": blessed_version},
    }


def test_default_version_pins_the_aliased_version_and_reads_its_feature_columns(model_registry, gcs_bucket):
    from kfx.vertex.batch_prediction import default_version

    _register(model_registry, gcs_bucket, blessed_version="2")
    found = default_version("kfx-test-project", "europe-west4", "beans1")
    assert found == {
        "resource_name": f"{MODEL}@2",
        "version": "2",
        "artifact_uri": f"{gcs_bucket}/models/beans1/v2",
        "features": FEATURES,
        "blessed": True,
    }
    assert model_registry["calls"] == [("list_models", 'display_name="beans1"'), ("get_model", f"{MODEL}@default")]


def test_the_component_hands_batch_prediction_a_vertex_model_and_the_columns(model_registry, gcs_bucket, tmp_path):
    from google_cloud_pipeline_components.types.artifact_types import VertexModel

    from kfx.components import default_vertex_model

    _register(model_registry, gcs_bucket)
    artifact = VertexModel(name="vertex_model", uri=str(tmp_path / "vertex_model"), metadata={})
    version, columns = default_vertex_model.python_func(
        project="kfx-test-project", location="europe-west4", vertex_model=artifact, model_name="beans1"
    )
    assert (version, columns) == ("3", FEATURES)
    assert artifact.metadata["resourceName"] == f"{MODEL}@3"
    assert artifact.uri == f"https://europe-west4-aiplatform.googleapis.com/v1/{MODEL}@3"
    assert (
        artifact.metadata["blessed"] is True and artifact.metadata["artifact_uri"] == f"{gcs_bucket}/models/beans1/v3"
    )


def test_no_model_of_that_name_is_one_sentence(model_registry):
    from kfx.vertex.batch_prediction import default_version

    with pytest.raises(SourceError) as caught:
        default_version("kfx-test-project", "europe-west4", "wine")
    assert str(caught.value) == (
        "No model named 'wine' in kfx-test-project/europe-west4; run the train pipeline first (kfx submit) "
        "or pass the trained model's --model-name."
    )


def test_a_version_without_its_feature_columns_is_one_sentence(model_registry, gcs_bucket):
    from kfx.vertex.batch_prediction import default_version

    model_registry["models"][MODEL] = {
        "display_name": "beans1",
        "aliases": {"default": "1"},
        "versions": {"1": {"artifact_uri": f"{gcs_bucket}/models/old", "labels": {}}},
    }
    with pytest.raises(
        SourceError, match=r"models/old/model_metadata.json does not list the model's feature columns; "
    ):
        default_version("kfx-test-project", "europe-west4", "beans1")


def test_the_predict_pipeline_is_vertex_only(vertex_config, tmp_path):
    from kfx.errors import ConfigError
    from kfx.pipelines import compile_pipeline

    with pytest.raises(ConfigError, match=r"^--pipeline predict runs on Vertex AI only"):
        compile_pipeline(
            dataclasses.replace(vertex_config, target="local", pipeline="predict"), str(tmp_path / "p.yaml")
        )
    assert not (tmp_path / "p.yaml").exists()
