"""find_scoring_model: the registry version a table is scored with; an unknown model or version fails."""

import json

import pytest
from kfp.dsl import Artifact

from kfx import components
from kfx.errors import ModelNotFound


def test_python_func_records_the_newest_or_the_named_version(registered, new_artifact):
    found = new_artifact(Artifact, "registered_model")
    assert components.find_scoring_model.python_func(
        registry_dir=str(registered.registry), model_name="beans", registered_model=found
    ) == ("1",)
    expected = {"found": True, "model_name": "beans", "version": "1", "uri": registered.uri, "reason": ""}
    assert json.loads(open(found.path).read()) == expected
    assert found.metadata == expected
    named = new_artifact(Artifact, "named")
    assert components.find_scoring_model.python_func(
        registry_dir=str(registered.registry), model_name="beans", registered_model=named, model_version="1"
    ) == ("1",)


def test_python_func_fails_naming_the_versions_there_are(registered, new_artifact):
    with pytest.raises(ModelNotFound) as error:
        components.find_scoring_model.python_func(
            registry_dir=str(registered.registry),
            model_name="beans",
            registered_model=new_artifact(Artifact, "r"),
            model_version="7",
        )
    assert str(error.value) == (
        f"Model 'beans' has no version 7 in {registered.registry} (it has v1); pass one of: beans."
    )
    with pytest.raises(ModelNotFound, match="holds no version of model 'wine'"):
        components.find_scoring_model.python_func(
            registry_dir=str(registered.registry), model_name="wine", registered_model=new_artifact(Artifact, "w")
        )


def test_compiled_interface_round_trips(round_trip):
    round_trip(components.find_scoring_model, set(), {"model_version": "latest"})
