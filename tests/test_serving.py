"""The serving check: the real serving-only environment (made once, kept under the repo's .kfx/) loads
real trained models and answers real prediction requests; nothing here is patched.

The first run makes the environment (pip downloads scikit-learn, NumPy, SciPy: 15 s to a minute);
later runs reuse it. The failing-creation test points pip at a closed loopback port.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np
import pytest
from shared_fixtures import shared_by_mutants

from kfx import model_steps, serving
from kfx.errors import ServingError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVING_ENV = os.path.join(REPO, ".kfx", "serving-env")


def doubled(x):
    """A function of this test module: a model whose pickle names it needs this module to load."""
    return x * 2


@pytest.fixture(scope="module")
def model(sample_splits, train_apart, tmp_path_factory):
    """A model trained on the beans sample; its test split has 60 rows."""
    return shared_by_mutants(
        "serving-model", lambda folder: train_apart(sample_splits, str(folder / "model")), tmp_path_factory
    )


@pytest.fixture(scope="module")
def serving_python():
    return serving.ensure_env(SERVING_ENV)


def _repickled(model: str, folder, wrap) -> str:
    """A copy of the model folder whose model.joblib is ``wrap(model)``."""
    import joblib

    copy = folder / "model"
    shutil.copytree(model, copy)
    joblib.dump(wrap(joblib.load(copy / "model.joblib")), copy / "model.joblib")
    return str(copy)


def test_the_environment_holds_only_the_serving_packages_at_the_installed_versions(serving_python):
    import subprocess
    from importlib.metadata import version

    with open(os.path.join(SERVING_ENV, serving.MARKER)) as f:
        marker = json.load(f)
    assert marker["pins"] == serving.pins()
    assert {name: marker["pins"][name] for name in ("scikit-learn", "joblib", "numpy", "scipy", "threadpoolctl")} == {
        name: version(name) for name in ("scikit-learn", "joblib", "numpy", "scipy", "threadpoolctl")
    }
    code = (
        "import importlib.util as u, sklearn; print(sklearn.__version__, "
        "[m for m in ('kfx', 'kfx_trainer', 'trainer', 'pandas', 'kfp', 'tensorflow') if u.find_spec(m)])"
    )
    out = subprocess.run([serving_python, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split(" ", 1) == [version("scikit-learn"), "[]\n"]


def test_a_trained_model_loads_there_and_every_prediction_agrees(model, sample_splits, serving_python, tmp_path):
    request, result_path = tmp_path / "request.json", tmp_path / "check" / "result.json"
    result = model_steps.check_serving(model, sample_splits["test"], str(request), str(result_path), SERVING_ENV)
    assert (result["ok"], result["reason"], result["rows"], result["agreed"], result["mismatches"]) == (
        True,
        "",
        60,
        60,
        [],
    )
    assert result["sklearn_version"] == serving.pins()["scikit-learn"]
    assert result["serving_env"] == SERVING_ENV and result["test_rows"] == 60
    assert json.loads(result_path.read_text()) == result
    body = json.loads(request.read_text())
    assert list(body) == ["instances"]
    assert len(body["instances"]) == 60 and {len(row) for row in body["instances"]} == {16}
    assert all(isinstance(v, float) for row in body["instances"] for v in row)


def test_missing_values_and_text_arrive_as_json_and_are_served_the_same(
    sample_splits, train_apart, serving_python, tmp_path
):
    """JSON null becomes None in the server's object array: the model must answer as it does on NaN."""
    import pandas as pd

    paths = {}
    for split, path in sample_splits.items():
        frame = pd.read_csv(path)
        frame.loc[frame.index % 7 == 0, "Area"] = np.nan
        frame["Origin"] = np.where(frame.index % 3 == 0, "north", np.where(frame.index % 5 == 0, np.nan, "south"))
        paths[split] = str(tmp_path / f"{split}.csv")
        frame.to_csv(paths[split], index=False)
    model = train_apart(paths, str(tmp_path / "model"))
    request = tmp_path / "request.json"
    result = model_steps.check_serving(model, paths["test"], str(request), str(tmp_path / "result.json"), SERVING_ENV)
    assert (result["ok"], result["agreed"], result["rows"]) == (True, 60, 60), result["reason"]
    instances = json.loads(request.read_text())["instances"]
    assert instances[0][0] is None and instances[0][-1] == "north"  # row 0: Area missing, Origin "north"
    assert sum(row[-1] is None for row in instances) == sum(i % 5 == 0 and i % 3 != 0 for i in range(60))


@pytest.mark.parametrize(
    "functions, module",
    [
        ({"func": doubled}, __name__),
        ({"func": None, "inverse_func": serving.json_value}, "kfx"),  # never called, still pickled by name
    ],
)
def test_a_model_that_needs_a_module_the_serving_image_lacks_is_refused_naming_it(
    functions, module, model, sample_splits, serving_python, tmp_path
):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    wrapped = _repickled(model, tmp_path, lambda m: make_pipeline(FunctionTransformer(**functions), m))
    result = model_steps.check_serving(
        wrapped, sample_splits["test"], str(tmp_path / "request.json"), str(tmp_path / "result.json"), SERVING_ENV
    )
    assert result["ok"] is False
    assert result["reason"] == (
        f"model.joblib does not load in scikit-learn {serving.pins()['scikit-learn']} "
        f"(ModuleNotFoundError: No module named '{module}')"
    )
    assert (result["rows"], result["agreed"]) == (60, 0)


def test_a_model_trained_where_dill_was_imported_first_still_loads(
    sample_splits, train_apart, serving_python, tmp_path
):
    """TFDV imports Beam, which imports dill; joblib's pickler, imported after it, copied dill's rules.
    A model saved with them would name dill._dill, which no serving image has (the trainer saves without)."""
    model = train_apart(sample_splits, str(tmp_path / "model"), prelude="import dill, joblib.numpy_pickle")
    assert b"dill" not in (tmp_path / "model" / "model.joblib").read_bytes()
    result = model_steps.check_serving(
        model, sample_splits["test"], str(tmp_path / "request.json"), str(tmp_path / "result.json"), SERVING_ENV
    )
    assert (result["ok"], result["agreed"]) == (True, 60), result["reason"]


def test_a_disagreement_is_refused_with_the_rows_that_differ(model, sample_splits, serving_python, tmp_path):
    request, expected = tmp_path / "request.json", tmp_path / "expected.json"
    model_steps.prepare_serving_check(model, sample_splits["test"], str(request), str(expected))
    predictions = json.loads(expected.read_text())
    changed = "BOMBAY" if predictions[3] != "BOMBAY" else "SEKER"
    expected.write_text(json.dumps(predictions[:3] + [changed] + predictions[4:]))
    result = serving.run_check(serving_python, model, str(request), str(expected), str(tmp_path / "result.json"))
    assert result["ok"] is False
    assert (result["rows"], result["agreed"]) == (60, 59)
    assert result["mismatches"] == [{"row": 3, "expected": changed, "predicted": predictions[3]}]
    assert result["reason"] == (
        f"1 of 60 predictions differ from the training environment's (row 3: {predictions[3]!r}, expected {changed!r})"
    )


def test_the_environment_is_made_once_and_kept(serving_python):
    marker = os.path.join(SERVING_ENV, serving.MARKER)
    before = os.stat(marker).st_mtime_ns, os.stat(serving_python).st_ino
    started = time.perf_counter()
    assert serving.ensure_env(SERVING_ENV) == serving_python
    assert time.perf_counter() - started < 1.0
    assert (os.stat(marker).st_mtime_ns, os.stat(serving_python).st_ino) == before
    assert serving.is_ready(SERVING_ENV)


def test_an_environment_that_cannot_be_made_gives_one_sentence_and_leaves_nothing(tmp_path, monkeypatch):
    # pip without its configuration files, asking an index on a closed loopback port.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    folder = tmp_path / "env"
    with pytest.raises(ServingError) as caught:
        serving.ensure_env(str(folder))
    message = str(caught.value)
    assert message.startswith(f"The serving environment {str(folder)!r} could not be made: pip install scikit-learn==")
    assert "(ERROR: " in message and message.endswith(
        "; check that this machine reaches the package index pip is configured with, or pass --serving-env with a "
        "folder that holds such an environment, and run again."
    )
    assert "\n" not in message
    assert os.listdir(tmp_path) == []


def test_a_folder_that_cannot_be_written_gives_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ServingError) as caught:
        serving.ensure_env(str(blocker / "env"))
    assert str(caught.value) == (
        f"The serving environment {str(blocker / 'env')!r} could not be made: {str(blocker)!r} is not a folder kfx "
        "may write (a file has that name); pass --serving-env with one that is."
    )


def test_request_values_are_what_json_carries():
    import pandas as pd

    matrix = np.array([[1.5, np.nan, "a", None, np.int64(3), pd.NA, pd.NaT, np.float32(0.25), True]], dtype=object)
    assert serving.request_body(matrix) == {"instances": [[1.5, None, "a", None, 3, None, None, 0.25, True]]}
    assert json.dumps(serving.request_body(np.array([[1.0, np.nan]]))) == '{"instances": [[1.0, null]]}'


def test_an_environment_made_with_other_pins_is_not_used(serving_python, tmp_path):
    """A marker recording another scikit-learn (the lock moved on) makes ensure_env make it again."""
    copy = tmp_path / "env"
    (copy / "bin").mkdir(parents=True)
    os.symlink(serving_python, copy / "bin" / "python")
    recorded = json.loads(open(os.path.join(SERVING_ENV, serving.MARKER)).read())
    (copy / serving.MARKER).write_text(json.dumps(recorded))
    assert serving.is_ready(str(copy))
    recorded["pins"]["scikit-learn"] = "1.4.2"
    (copy / serving.MARKER).write_text(json.dumps(recorded))
    assert not serving.is_ready(str(copy))
