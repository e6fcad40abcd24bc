"""prepare_serving_check (vertex target): the prediction request and the predictions made in the kfx image."""

import json

from kfp.dsl import Artifact

from kfx import components


def test_python_func_writes_the_request_and_the_expected_predictions(upstream, new_artifact):
    request, expected = new_artifact(Artifact, "serving_request"), new_artifact(Artifact, "expected_predictions")
    rows = components.prepare_serving_check.python_func(
        model=upstream.model_artifact(),
        test_data=upstream.datasets()["test_data"],
        serving_request=request,
        expected_predictions=expected,
    )
    assert rows == (60,)
    assert request.metadata == {"rows": 60, "features": 16, "format": "vertex-ai-prediction-request"}
    instances = json.loads(open(request.path).read())["instances"]
    predictions = json.loads(open(expected.path).read())
    assert len(instances) == len(predictions) == 60
    assert set(predictions) <= set(upstream.classes)
    # The model's own predictions on the test split: as accurate as the trainer measured.
    import pandas as pd

    labels = pd.read_csv(upstream.splits["test"])["Class"].tolist()
    accuracy = sum(p == y for p, y in zip(predictions, labels, strict=True)) / 60
    assert accuracy == upstream.trained["test"]["accuracy"]


def test_compiled_interface_round_trips(round_trip):
    loaded = round_trip(components.prepare_serving_check, from_config=set())
    assert {n: o.type for n, o in loaded.component_spec.outputs.items()} == {
        "serving_request": "system.Artifact@0.0.1",
        "expected_predictions": "system.Artifact@0.0.1",
        "rows": "Integer",
    }
