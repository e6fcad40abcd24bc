"""bless_vertex_model (vertex): label a model version blessed and make it the default version.

The network edge is Vertex AI's model service: tests/vertex's ``model_service`` keeps the real
``aiplatform.Model`` and answers only its gapic client's three RPCs (get_model, update_model,
merge_version_aliases) here, recording each request, with anonymous credentials. A kfp.local
run would call Vertex AI from a task process the patches do not cover: the component is
checked through ``.python_func`` and its compiled interface instead.
"""

import json

from google_cloud_pipeline_components.types import artifact_types
from kfp.dsl import Artifact, Metrics

from kfx import components
from kfx.vertex import registry

BLESSED = {"kfx_blessed": "true", "team": "ml", "kfx_accuracy": "0_9312"}


def test_plain_function_labels_the_version_and_gives_it_the_default_alias(model_service, vertex_names):
    model = vertex_names.model
    result = registry.bless_model("kfx-test-project", "europe-west4", f"{model}@2", {"accuracy": 0.93124})
    assert result == {"model": model, "version": "2", "labels": BLESSED}
    assert model_service == [
        ("get_model", f"{model}@2"),
        ("update_model", f"{model}@2", BLESSED, ["labels"]),
        ("merge_version_aliases", f"{model}@2", ["default"]),
    ]


def test_plain_function_without_an_accuracy_sets_only_the_blessing(model_service, vertex_names):
    result = registry.bless_model("kfx-test-project", "europe-west4", f"{vertex_names.model}@3", {})
    assert result == {"model": vertex_names.model, "version": "3", "labels": {"kfx_blessed": "true", "team": "ml"}}


def test_python_func_records_the_blessing(model_service, vertex_names, new_artifact):
    metrics = new_artifact(Metrics, "metrics")
    metrics.log_metric("accuracy", 0.9312)
    blessing = new_artifact(Artifact, "blessing")
    outputs = components.bless_vertex_model.python_func(
        project="kfx-test-project", location="europe-west4",
        vertex_model=artifact_types.VertexModel(uri="https://x", metadata={"resourceName": f"{vertex_names.model}@2"}),
        metrics=metrics, blessing=blessing,
    )
    assert tuple(outputs) == ("2",)
    expected = {"model": vertex_names.model, "version": "2", "labels": BLESSED}
    assert blessing.metadata == expected
    assert json.load(open(blessing.path)) == expected
    assert [r[0] for r in model_service] == ["get_model", "update_model", "merge_version_aliases"]


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.bless_vertex_model, from_config=set())
    spec = loaded.component_spec
    assert {n: i.type for n, i in spec.inputs.items()} == {
        "project": "String", "location": "String", "vertex_model": "google.VertexModel@0.0.1",
        "metrics": "system.Metrics@0.0.1",
    }
    assert {n: o.type for n, o in spec.outputs.items()} == {"blessing": "system.Artifact@0.0.1", "version": "String"}
