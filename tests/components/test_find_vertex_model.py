"""find_vertex_model (vertex): the champion reference, the blessed default version in the Model Registry.

The network edge is Vertex AI's model service: tests/vertex's ``model_registry`` keeps the real
``aiplatform.Model`` and answers its gapic client's RPCs from models held in the test, recording
each request, with anonymous credentials. A kfp.local run would call Vertex AI from a task
process the patches do not cover: the component is checked through ``.python_func`` and its
compiled interface instead.
"""

import json

from kfp.dsl import Artifact

from kfx import components
from kfx.components.find_vertex_model import REPORT


def test_python_func_records_the_champion_reference(model_registry, new_artifact):
    model_registry.add_model("beans1", [{"labels": {"kfx_blessed": "true"}, "artifact_uri": "gs://b/beans1/v1"}])
    reference = new_artifact(Artifact, "registered_model")
    outputs = components.find_vertex_model.python_func(
        project="kfx-test-project", location="europe-west4", registered_model=reference, model_name="beans1"
    )
    expected = {"found": True, "model_name": "beans1", "version": "1", "uri": "gs://b/beans1/v1", "reason": ""}
    assert tuple(outputs) == (True,)
    assert reference.metadata == expected and json.load(open(reference.path)) == expected


def test_python_func_without_a_champion_says_why(model_registry, new_artifact):
    reference = new_artifact(Artifact, "registered_model")
    outputs = components.find_vertex_model.python_func(
        project="kfx-test-project", location="europe-west4", registered_model=reference, model_name="beans1"
    )
    assert tuple(outputs) == (False,)
    assert reference.metadata["reason"] == (
        "the Model Registry of kfx-test-project in europe-west4 holds no model named 'beans1'"
    )
    assert REPORT.describe(reference.metadata) == [
        "champion    none: the Model Registry of kfx-test-project in europe-west4 holds no model named 'beans1'"
    ]


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip, vertex_config):
    loaded = round_trip(components.find_vertex_model, from_config={"model_name"})
    spec = loaded.component_spec
    assert {n: i.type for n, i in spec.inputs.items()} == {
        "project": "String",
        "location": "String",
        "model_name": "String",
    }
    assert {n: o.type for n, o in spec.outputs.items()} == {
        "registered_model": "system.Artifact@0.0.1",
        "found": "Boolean",
    }
    # Another run may move the default alias: never a cached lookup, in either Vertex AI pipeline.
    from kfx.pipeline_tasks import tasks_of
    from kfx.pipelines.vertex_predict import vertex_predict_pipeline
    from kfx.pipelines.vertex_train import vertex_train_pipeline

    assert vertex_config.enable_caching
    assert "find-vertex-model" in tasks_of(vertex_train_pipeline(vertex_config)).uncached
    assert "find-vertex-model" in tasks_of(vertex_predict_pipeline(vertex_config)).uncached
