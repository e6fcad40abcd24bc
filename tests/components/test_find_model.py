"""find_model: the registry version (the champion: the newest) that later steps compare with."""

import json
import os

import pytest
from kfp.dsl import Artifact, Dataset

from kfx import components, model_steps, registry
from kfx.errors import ConfigError, ModelMismatch, ModelNotFound


@pytest.fixture
def two_versions(upstream, tmp_path):
    reg = tmp_path / "registry"
    for accuracy in (0.91, 0.93):
        # Each push sees no champion, so the second is first compared with v1 on the test split (a tie).
        model_steps.push_model(
            upstream.model,
            str(reg),
            "beans",
            {"blessed": True, "accuracy": accuracy},
            upstream.schema,
            upstream.statistics,
            None,
            upstream.splits["test"],
        )
    return reg


def _find(upstream, reg, new_artifact, table=None, **values):
    reference = new_artifact(Artifact, "registered_model")
    table = table or Dataset(name="train_data", uri=upstream.splits["train"])
    found = components.find_model.python_func(
        registry_dir=str(reg), model_name="beans", table=table, registered_model=reference, **values
    )
    return found, reference


def test_the_newest_version_is_the_champion(upstream, two_versions, new_artifact):
    (found,), reference = _find(upstream, two_versions, new_artifact)
    uri = str(two_versions / "beans" / "v2")
    from kfx.digests import content_digest

    expected = {
        "found": True,
        "model_name": "beans",
        "version": "2",
        "uri": uri,
        "reason": "",
        "digest": content_digest(uri),
        "missing_features": [],
    }
    assert found is True and reference.metadata == expected
    assert expected["digest"] != content_digest(str(two_versions / "beans" / "v1"))  # v1 keeps another evaluation
    assert json.load(open(reference.path)) == expected


def test_a_version_by_number(upstream, two_versions, new_artifact):
    _, reference = _find(upstream, two_versions, new_artifact, model_version="1")
    assert (reference.metadata["version"], reference.metadata["uri"]) == ("1", str(two_versions / "beans" / "v1"))


def test_no_version_is_a_reference_that_says_why(upstream, tmp_path, new_artifact):
    (found,), reference = _find(upstream, tmp_path / "empty", new_artifact)
    assert found is False
    assert reference.metadata == {
        "found": False,
        "model_name": "beans",
        "version": "",
        "uri": "",
        "reason": f"the registry {tmp_path / 'empty'} holds no version of model 'beans'",
        "digest": "",
    }


def test_a_champion_of_another_label_is_refused_and_features_the_table_lacks_are_recorded(
    upstream, two_versions, new_artifact, tmp_path
):
    with pytest.raises(
        ModelMismatch,
        match=r"^Model beans v2 predicts 'Class', but this run's label column is 'Kind'; "
        "pass --model-name with a new name for a model of this table.$",
    ):
        _find(upstream, two_versions, new_artifact, label_column="Kind")
    # A table without some of the champion's features is a data problem validate-statistics reports, not a
    # new model: the reference names them.
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("Area,Class\n1,SEKER\n")
    (found,), reference = _find(upstream, two_versions, new_artifact, table=Dataset(name="t", uri=str(narrow)))
    features = json.load(open(os.path.join(reference.metadata["uri"], "model_metadata.json")))["features"]
    assert found is True and len(features) == 16
    assert reference.metadata["missing_features"] == [f for f in features if f != "Area"]
    assert reference.metadata["missing_features"][:2] == ["Perimeter", "MajorAxisLength"]


def test_registry_resolve_and_references():
    assert registry.parse_reference("beans") == ("beans", "latest")
    assert registry.parse_reference("beans@latest") == ("beans", "latest")
    assert registry.parse_reference("wine@v3") == ("wine", "3")
    assert registry.parse_reference("wine@12") == ("wine", "12")
    assert registry.parse_reference(" beans@1 ") == ("beans", "1")  # version 1 is the first, not refused
    assert registry.parse_reference("beans@v1") == ("beans", "1")
    for bad in ("Beans", "@3", "", None):
        with pytest.raises(ConfigError) as caught:
            registry.parse_reference(bad)
        assert str(caught.value) == (
            f"Model {bad!r} is not NAME[@VERSION|@latest]; "
            "pass a registry model name such as beans, beans@3 or beans@latest."
        )
    with pytest.raises(ConfigError) as caught:
        registry.parse_reference("beans@three")
    assert (
        str(caught.value)
        == "Model version 'three' in 'beans@three' is not a number; pass NAME@3, NAME@v3 or NAME@latest."
    )
    with pytest.raises(ConfigError) as caught:
        registry.parse_reference("beans@v0")
    assert str(caught.value) == (
        "Model version 'v0' in 'beans@v0' does not exist: versions start at 1; pass NAME@1 "
        "or a later version, or NAME@latest."
    )


def test_an_unknown_model_or_version_is_one_sentence(two_versions):
    with pytest.raises(ModelNotFound) as caught:
        registry.resolve(str(two_versions), "beans", "7", required=True)
    assert str(caught.value) == (
        f"Model 'beans' has no version 7 in {two_versions} (it has v1, v2); pass one of: beans."
    )
    with pytest.raises(
        ModelNotFound, match=r"^The registry .* holds no version of model 'wine'; pass one of: beans\.$"
    ):
        registry.resolve(str(two_versions), "wine", "latest", required=True)


def test_kfp_local_run(kfp_local, upstream, two_versions):
    outputs = kfp_local.run(
        components.find_model,
        {"table": Dataset(name="train_data", uri=upstream.splits["train"])},
        registry_dir=str(two_versions),
        model_name="beans",
    )
    assert outputs["found"] is True
    assert outputs["registered_model"].metadata["uri"] == str(two_versions / "beans" / "v2")
    assert os.path.isfile(
        os.path.join(outputs["registered_model"].metadata["uri"], "statistics", "Split-train", "stats.tfrecord")
    )


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.find_model, from_config={"label_column"}, written={"model_version": "latest"})
    assert {n: o.type for n, o in loaded.component_spec.outputs.items()} == {
        "registered_model": "system.Artifact@0.0.1",
        "found": "Boolean",
    }
