"""push_model: a blessed model copied into the local registry as a new version, or the reason why not."""

import json
import os

import pytest
from kfp.dsl import Artifact

from kfx import components, model_steps

VERSION_FILES = [
    "evaluation.json",
    "manifest.json",
    "model.joblib",
    "model_metadata.json",
    "schema.pbtxt",
    "statistics",
]
TRAIN_STATISTICS = os.path.join("statistics", "Split-train", "stats.tfrecord")


def _push(upstream, registry, pushed, blessed, reason=""):
    return components.push_model.python_func(
        model=upstream.model_artifact(),
        metrics=upstream.metrics_artifact(),
        schema=upstream.schema_artifact(),
        statistics=upstream.statistics_artifact(),
        registered_model=upstream.no_champion(),
        test_data=upstream.datasets()["test_data"],
        blessed=blessed,
        reason=reason,
        registry_dir=str(registry),
        pushed_model=pushed,
        model_name="beans",
    )


def test_plain_function_pushes_numbered_versions_with_the_evaluation_and_schema(upstream, tmp_path):
    registry = tmp_path / "registry"
    evaluation = {"accuracy": 0.93, "blessed": True}
    first = model_steps.push_model(
        upstream.model, str(registry), "beans", evaluation, upstream.schema, upstream.statistics
    )
    assert first == {"pushed": True, "version": 1, "uri": str(registry / "beans" / "v1")}
    assert sorted(os.listdir(first["uri"])) == VERSION_FILES
    # The training statistics stay with the version: the next run's drift check reads them.
    assert (registry / "beans" / "v1" / TRAIN_STATISTICS).read_bytes() == open(
        os.path.join(upstream.statistics, "Split-train", "stats.tfrecord"), "rb"
    ).read()
    assert os.listdir(registry / "beans" / "v1" / "statistics") == ["Split-train"]
    assert json.load(open(registry / "beans" / "v1" / "evaluation.json")) == evaluation
    assert (registry / "beans" / "v1" / "model.joblib").read_bytes() == open(
        f"{upstream.model}/model.joblib", "rb"
    ).read()
    assert (registry / "beans" / "v1" / "schema.pbtxt").read_text() == open(upstream.schema).read()
    # Pushed without seeing v1 (no champion), so compared with v1 on the test split first: the same model ties.
    second = model_steps.push_model(
        upstream.model, str(registry), "beans", evaluation, "", "", None, upstream.splits["test"]
    )
    assert second == {"pushed": True, "version": 2, "uri": str(registry / "beans" / "v2")}
    assert sorted(os.listdir(second["uri"])) == [
        "evaluation.json",
        "manifest.json",
        "model.joblib",
        "model_metadata.json",
    ]


def test_the_champion_itself_is_not_pushed_again(upstream, tmp_path):
    from kfx import registry

    reg = tmp_path / "registry"
    model_steps.push_model(upstream.model, str(reg), "beans", {"blessed": True}, upstream.schema, upstream.statistics)
    champion = registry.resolve(str(reg), "beans")
    # A re-run that reused the training step evaluates the champion's own model: blessed, and already pushed.
    again = model_steps.push_model(
        upstream.model, str(reg), "beans", {"blessed": True}, upstream.schema, upstream.statistics, champion
    )
    assert again == {
        "pushed": False,
        "version": 1,
        "uri": champion["uri"],
        "reason": "this model is already version 1, the champion",
    }
    assert registry.list_versions(str(reg), "beans") == [1]


def test_plain_function_refuses_an_empty_model_name(upstream, tmp_path):
    from kfx.errors import ConfigError

    with pytest.raises(ConfigError, match="The model name is empty; pass --model-name"):
        model_steps.push_model(upstream.model, str(tmp_path / "registry"), "", {"blessed": True}, upstream.schema)
    assert not (tmp_path / "registry").exists()


def test_the_reason_evaluate_gave_is_the_reason_recorded(upstream, new_artifact, tmp_path):
    pushed = new_artifact(Artifact, "pushed_model")
    assert _push(upstream, tmp_path / "registry", pushed, blessed=False, reason="lost to the champion: 0.6 vs 0.9") == (
        False,
        0,
    )
    assert pushed.metadata["reason"] == "not blessed: lost to the champion: 0.6 vs 0.9"


def test_plain_function_records_why_an_unblessed_model_is_not_pushed(upstream, tmp_path):
    result = model_steps.push_model(
        upstream.model,
        str(tmp_path / "registry"),
        "beans",
        {"accuracy": 0.8, "min_accuracy": 0.9, "blessed": False},
        upstream.schema,
    )
    assert result == {"pushed": False, "reason": "not blessed: test accuracy 0.8000 is below min_accuracy 0.9"}
    assert not (tmp_path / "registry").exists()


def test_python_func_pushes_a_blessed_model_and_records_the_push(upstream, new_artifact, tmp_path):
    pushed = new_artifact(Artifact, "pushed_model")
    assert _push(upstream, tmp_path / "registry", pushed, blessed=True) == (True, 1)
    uri = str(tmp_path / "registry" / "beans" / "v1")
    record = json.loads(open(pushed.path).read())
    assert record["uri"] == uri
    assert record == {"pushed": True, "version": 1, "uri": uri}
    assert pushed.metadata == {"model_name": "beans", "pushed": True, "version": 1, "uri": uri}
    # The evaluation kept with the model is the metrics artifact's, with the blessing and its reason.
    assert json.load(open(os.path.join(uri, "evaluation.json"))) == {
        **upstream.metrics_artifact().metadata,
        "blessed": True,
        "reason": "",
    }


def test_python_func_refuses_an_unblessed_model(upstream, new_artifact, tmp_path):
    pushed = new_artifact(Artifact, "pushed")
    assert _push(upstream, tmp_path / "registry", pushed, blessed=False) == (False, 0)
    assert pushed.metadata["reason"].startswith("not blessed: test accuracy")
    assert pushed.metadata == {
        "model_name": "beans",
        "pushed": False,
        "reason": f"not blessed: test accuracy {upstream.evaluation['accuracy']:.4f} is below min_accuracy 0.5",
    }
    assert not os.path.exists(tmp_path / "registry" / "beans" / "v1")


def test_kfp_local_run(kfp_local, upstream, tmp_path):
    registry = tmp_path / "registry"
    outputs = kfp_local.run(
        components.push_model,
        {
            "model": upstream.model_artifact(),
            "metrics": upstream.metrics_artifact(),
            "schema": upstream.schema_artifact(),
            "statistics": upstream.statistics_artifact(),
            "registered_model": upstream.no_champion(),
            "test_data": upstream.datasets()["test_data"],
        },
        blessed=True,
        reason="fine",
        registry_dir=str(registry),
        model_name="beans-local",
    )
    uri = str(registry / "beans-local" / "v1")
    assert (outputs["pushed"], outputs["version"]) == (True, 1)
    assert outputs["pushed_model"].path.startswith(str(kfp_local.root))
    assert outputs["pushed_model"].metadata == {"model_name": "beans-local", "pushed": True, "version": 1, "uri": uri}
    assert json.load(open(outputs["pushed_model"].path)) == {"pushed": True, "version": 1, "uri": uri}
    assert sorted(os.listdir(uri)) == VERSION_FILES
    # The importer handed the metrics artifact's metadata through to the task.
    assert json.load(open(os.path.join(uri, "evaluation.json")))["accuracy"] == upstream.evaluation["accuracy"]


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.push_model, from_config={"model_name"})
    # registry_dir is a Config field, but the target derives it (<runs_dir>/registry): it stays required.
    assert loaded.component_spec.inputs["registry_dir"].optional is False
    assert loaded.component_spec.inputs["blessed"].type == "Boolean"
    assert {n: o.type for n, o in loaded.component_spec.outputs.items()} == {
        "pushed_model": "system.Artifact@0.0.1",
        "pushed": "Boolean",
        "version": "Integer",
    }
