"""check_serving: the model loaded where only the serving image's packages are, answering the test rows.

The serving-only environment is the real one, kept under the repo's .kfx/ (the first test run makes it).
"""

import json
import os

from kfp.dsl import Artifact

from kfx import components, serving
from kfx.components.check_serving import REPORT

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVING_ENV = os.path.join(REPO, ".kfx", "serving-env")


def test_python_func_returns_serving_ok_and_records_the_check_and_the_request(upstream, new_artifact):
    check, request = new_artifact(Artifact, "serving_check"), new_artifact(Artifact, "serving_request")
    outputs = components.check_serving.python_func(
        model=upstream.model_artifact(),
        test_data=upstream.datasets()["test_data"],
        serving_check=check,
        serving_request=request,
        serving_env=SERVING_ENV,
    )
    assert outputs == (True,)
    sklearn = serving.pins()["scikit-learn"]
    assert {k: check.metadata[k] for k in ("ok", "reason", "rows", "agreed", "sklearn_version", "test_rows")} == {
        "ok": True,
        "reason": "",
        "rows": 60,
        "agreed": 60,
        "sklearn_version": sklearn,
        "test_rows": 60,
    }
    assert check.metadata["serving_env"] == SERVING_ENV
    result = json.loads(open(check.path).read())
    assert (result["ok"], result["agreed"], result["mismatches"]) == (True, 60, [])
    assert request.metadata == {"rows": 60, "format": "vertex-ai-prediction-request"}
    instances = json.loads(open(request.path).read())["instances"]
    assert len(instances) == 60 and len(instances[0]) == len(upstream.columns) - 1  # every feature, no label


def test_kfp_local_run(kfp_local, upstream):
    outputs = kfp_local.run(
        components.check_serving,
        {"model": upstream.model_artifact(), "test_data": upstream.datasets()["test_data"]},
        serving_env=SERVING_ENV,
    )
    assert outputs["serving_ok"] is True
    assert outputs["serving_check"].metadata["agreed"] == 60
    assert outputs["serving_check"].path.startswith(str(kfp_local.root))
    assert json.loads(open(outputs["serving_request"].path).read())["instances"][0][0] > 0


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.check_serving, from_config={"serving_env"})
    assert {n: o.type for n, o in loaded.component_spec.outputs.items()} == {
        "serving_check": "system.Artifact@0.0.1",
        "serving_request": "system.Artifact@0.0.1",
        "serving_ok": "Boolean",
    }
    assert REPORT.types == {"serving_check": "ServingCheck", "serving_request": "PredictionRequest"}


def test_the_console_says_where_it_loads_and_how_many_agree():
    assert REPORT.describe({"ok": True, "sklearn_version": "1.5.2", "rows": 1362, "agreed": 1362}) == [
        "serving     loads in scikit-learn 1.5.2 (serving env): 1,362 of 1,362 predictions agree"
    ]
    assert REPORT.describe({"ok": False, "sklearn_version": "1.5.2", "reason": "model.joblib does not load"}) == [
        "serving     not served by scikit-learn 1.5.2 (serving env): model.joblib does not load"
    ]
