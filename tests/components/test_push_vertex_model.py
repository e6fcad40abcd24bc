"""push_vertex_model (vertex): upload the evaluated model as a version, the default one only when blessed.

The network edge is Vertex AI's model service: tests/vertex's ``model_registry`` keeps the real
``aiplatform.Model`` and answers its gapic client's RPCs (list, get, upload, import evaluation)
as the service does, recording each request, with anonymous credentials. The artifacts live on
a loopback GCS-API server. A kfp.local run would call Vertex AI from a task process the patches
do not cover: the component is checked through ``.python_func`` and its compiled interface instead.
"""

import json

from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Artifact, ClassificationMetrics, Metrics, Model

from kfx import components, storage
from kfx.components.push_vertex_model import REPORT


def _arguments(task: str, serving: str, accuracy: float, blessed: bool) -> dict:
    """The component's inputs as the earlier tasks of one run left them on gs://."""
    for name in ("model.joblib", "model_metadata.json"):
        storage.write_bytes(f"{task}/custom-training-job_1/model/{name}", name.encode())
    storage.write_text(f"{task}/infer-schema_2/schema", "feature {}\n")
    storage.write_bytes(f"{task}/generate-statistics-bq_3/statistics/Split-train/stats.tfrecord", b"stats")
    metrics = Metrics(uri=f"{task}/evaluate_4/metrics")
    for key, value in (
        ("accuracy", accuracy),
        ("macro_f1", accuracy - 0.1),
        ("min_accuracy", 0.9),
        ("blessed", blessed),
    ):
        metrics.log_metric(key, value)
    confusion = ClassificationMetrics(uri=f"{task}/evaluate_4/classification_metrics")
    confusion.log_confusion_matrix(["a", "b"], [[1, 1], [0, 2]])
    none = {"found": False, "model_name": "beans1", "version": "", "uri": "", "reason": "no model"}
    return dict(
        project="kfx-test-project",
        location="europe-west4",
        model=Model(uri=f"{task}/custom-training-job_1/model"),
        metrics=metrics,
        classification_metrics=confusion,
        statistics=Artifact(uri=f"{task}/generate-statistics-bq_3/statistics"),
        schema=Artifact(uri=f"{task}/infer-schema_2/schema"),
        registered_model=Artifact(uri="unused", metadata=none),
        blessed=blessed,
        serving_container_image_uri=serving,
        model_name="beans1",
        pushed_model=Artifact(uri=f"{task}/push-vertex-model_5/pushed_model"),
        vertex_model=artifact_types.VertexModel(uri=f"{task}/push-vertex-model_5/vertex_model"),
    )


def test_python_func_does_not_start_a_model_with_an_unblessed_one(model_registry, gcs_bucket, vertex_names):
    arguments = _arguments(f"{gcs_bucket}/root/run-1", vertex_names.serving, 0.5, blessed=False)
    assert tuple(components.push_vertex_model.python_func(**arguments)) == (False, "")
    pushed = arguments["pushed_model"]
    assert pushed.metadata["pushed"] is False and pushed.metadata["reason"].endswith(
        "so only a blessed model starts one"
    )
    assert json.loads(storage.read_text(pushed.uri)) == pushed.metadata
    assert model_registry.calls("upload_model") == [] and "resourceName" not in arguments["vertex_model"].metadata
    assert REPORT.describe(pushed.metadata) == [f"pushed      no: {pushed.metadata['reason']}"]


def test_python_func_uploads_a_blessed_model_as_the_default_version(model_registry, gcs_bucket, vertex_names):
    task = f"{gcs_bucket}/root/run-2"
    arguments = _arguments(task, vertex_names.serving, 0.95, blessed=True)
    assert tuple(components.push_vertex_model.python_func(**arguments)) == (True, "1")
    (model,) = model_registry.models
    pushed, vertex_model = arguments["pushed_model"], arguments["vertex_model"]
    folder = f"{task}/push-vertex-model_5/model_version"
    assert (pushed.metadata["uri"], pushed.metadata["default"], pushed.metadata["resource_name"]) == (
        folder,
        True,
        f"{model}@1",
    )
    assert json.loads(storage.read_text(pushed.uri)) == pushed.metadata
    assert vertex_model.metadata == {"resourceName": f"{model}@1"}
    assert vertex_model.uri == f"https://europe-west4-aiplatform.googleapis.com/v1/{model}@1"
    assert json.loads(storage.read_text(f"{folder}/evaluation.json")) == {
        "accuracy": 0.95,
        "macro_f1": 0.85,
        "min_accuracy": 0.9,
        "blessed": True,
    }
    assert model_registry.default(model) == "1" and len(model_registry.evaluations) == 1
    assert REPORT.describe(pushed.metadata) == [f"pushed      version 1, the default version: {folder}"]


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip, vertex_config):
    loaded = round_trip(components.push_vertex_model, from_config={"model_name"})
    spec = loaded.component_spec
    assert {n: i.type for n, i in spec.inputs.items()} == {
        "project": "String",
        "location": "String",
        "model": "system.Model@0.0.1",
        "metrics": "system.Metrics@0.0.1",
        "classification_metrics": "system.ClassificationMetrics@0.0.1",
        "statistics": "system.Artifact@0.0.1",
        "schema": "system.Artifact@0.0.1",
        "registered_model": "system.Artifact@0.0.1",
        "blessed": "Boolean",
        "serving_container_image_uri": "String",
        "model_name": "String",
    }
    assert {n: o.type for n, o in spec.outputs.items()} == {
        "pushed_model": "system.Artifact@0.0.1",
        "vertex_model": "google.VertexModel@0.0.1",
        "pushed": "Boolean",
        "version": "String",
    }
    # It uploads and may move the default alias: never a cached push.
    from kfx.pipeline_tasks import tasks_of
    from kfx.pipelines.vertex_train import vertex_train_pipeline

    assert vertex_config.enable_caching
    assert "push-vertex-model" in tasks_of(vertex_train_pipeline(vertex_config)).uncached
