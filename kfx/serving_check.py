"""Answers a Vertex AI prediction request with a model folder, as the prebuilt scikit-learn server does.

    python serving_check.py --model-dir DIR --request FILE --expected FILE --result FILE [--ok FILE]

Vertex AI's prebuilt scikit-learn image loads ``model.joblib`` with joblib, turns the
request body's ``instances`` into ``np.asarray(instances)`` and answers
``model.predict(...).tolist()`` (``google.cloud.aiplatform.prediction.sklearn``'s
predictor: ``load``, ``preprocess``, ``predict``, ``postprocess``). This script does the
same and compares the answer with the predictions the training environment made.

It runs where only the serving image's packages are: in kfx's serving-only environment
(:mod:`kfx.serving`) and, on Vertex AI, in the serving image itself, where its source is
handed to ``python -c``. So it imports only the standard library, NumPy and joblib (and
whatever the pickle needs), never kfx or pandas, and stays valid on older Pythons.

A model that does not load, a request it cannot answer or an answer that differs is a
result (``ok`` false with the reason), not a crash: once the result is written the exit
code is 0. The result holds ``ok``, ``reason``, ``rows``, ``agreed``, ``mismatches`` (the
first few), ``sklearn_version``, ``python_version``, the warnings of the load (another
scikit-learn release than the pickle's warns) and the seconds the load and the predictions
took.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

MODEL_FILE = "model.joblib"
MISMATCHES_KEPT = 5
RELATIVE_TOLERANCE = 1e-9
"""How far a regressor's number may differ, relative to it: another NumPy or BLAS build sums in another
order (a Ridge model gave 128.44213274369912 here and 128.4421327436991 there). Classes compare exactly."""


def _agree(expected, predicted):
    """Whether two predictions agree: numbers with a fraction within :data:`RELATIVE_TOLERANCE`, others exactly."""
    if isinstance(expected, float) and isinstance(predicted, (int, float)) and not isinstance(predicted, bool):
        return abs(expected - predicted) <= RELATIVE_TOLERANCE * max(abs(expected), abs(predicted), 1e-300)
    return expected == predicted


def _first_line(err):
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def check(model_dir, request_path, expected_path):
    """The result of serving the request with the model folder (see the module docstring)."""
    result = {
        "ok": False,
        "reason": "",
        "rows": 0,
        "agreed": 0,
        "mismatches": [],
        "sklearn_version": "",
        "python_version": platform.python_version(),
        "warnings": [],
        "load_seconds": None,
        "predict_seconds": None,
        "compared": "exactly",
    }
    try:
        import joblib
        import numpy as np
    except Exception as err:  # the environment, not the model: still a result
        result["reason"] = f"the serving environment cannot import NumPy and joblib ({_first_line(err)})"
        return result
    try:
        import sklearn

        result["sklearn_version"] = sklearn.__version__
    except Exception as err:
        result["reason"] = f"the serving environment has no scikit-learn ({_first_line(err)})"
        return result
    try:
        with open(request_path) as f:
            instances = json.load(f)["instances"]
        with open(expected_path) as f:
            expected = json.load(f)
        if not isinstance(instances, list) or not isinstance(expected, list):
            raise ValueError("instances and the expected predictions must be JSON lists")
    except (OSError, ValueError, KeyError, TypeError) as err:
        result["reason"] = f"the request or the expected predictions cannot be read ({_first_line(err)})"
        return result
    result["rows"] = len(instances)
    if len(expected) != len(instances):
        result["reason"] = f"the request has {len(instances)} instances but {len(expected)} expected predictions"
        return result

    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = joblib.load(os.path.join(model_dir, MODEL_FILE))
    except Exception as err:
        result["reason"] = (
            f"{MODEL_FILE} does not load in scikit-learn {result['sklearn_version']} ({_first_line(err)})"
        )
        return result
    result["load_seconds"] = round(time.perf_counter() - started, 3)
    result["warnings"] = sorted({_first_line(w.message) for w in caught})

    started = time.perf_counter()
    try:
        # What the prebuilt server does with a request body, and with the answer.
        predicted = np.asarray(model.predict(np.asarray(instances))).tolist()
    except Exception as err:
        result["reason"] = (
            f"the model cannot answer the request in scikit-learn {result['sklearn_version']} ({_first_line(err)})"
        )
        return result
    result["predict_seconds"] = round(time.perf_counter() - started, 3)
    if len(predicted) != len(expected):
        result["reason"] = f"the model answered {len(predicted)} predictions to {len(expected)} instances"
        return result
    # The answer as the server's JSON response carries it.
    predicted = json.loads(json.dumps(predicted))
    if any(isinstance(e, float) and not e.is_integer() for e in expected):  # a regressor's numbers
        result["compared"] = f"within a relative {RELATIVE_TOLERANCE:g}"
    mismatches = [
        {"row": i, "expected": e, "predicted": p}
        for i, (e, p) in enumerate(zip(expected, predicted, strict=True))
        if not _agree(e, p)
    ]
    result["agreed"] = len(expected) - len(mismatches)
    result["mismatches"] = mismatches[:MISMATCHES_KEPT]
    if mismatches:
        first = mismatches[0]
        result["reason"] = (
            f"{len(mismatches)} of {len(expected)} predictions differ from the training environment's "
            f"(row {first['row']}: {first['predicted']!r}, expected {first['expected']!r}"
            + ("" if result["compared"] == "exactly" else f"; numbers compared {result['compared']}")
            + ")"
        )
        return result
    result["ok"] = True
    return result


def _write(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    """Runs the check and writes the result; returns the exit code (0 once the result is written)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="folder holding model.joblib")
    parser.add_argument("--request", required=True, help='prediction request body: {"instances": [[...], ...]}')
    parser.add_argument("--expected", required=True, help="JSON list of the predictions the training environment made")
    parser.add_argument("--result", required=True, help="where the result JSON is written")
    parser.add_argument("--ok", default="", help="file that gets true or false (a pipeline output value)")
    args = parser.parse_args(argv)
    result = check(args.model_dir, args.request, args.expected)
    _write(args.result, json.dumps(result, indent=2))
    if args.ok:
        _write(args.ok, json.dumps(result["ok"]))
    where = f"scikit-learn {result['sklearn_version'] or '?'} (Python {result['python_version']})"
    if result["ok"]:
        print(
            f"serving check: {where} loads {MODEL_FILE}; {result['agreed']} of {result['rows']} predictions agree"
            + ("" if result["compared"] == "exactly" else f" ({result['compared']})")
        )
    else:
        print(f"serving check: {where} refuses the model: {result['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
