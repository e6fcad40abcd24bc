"""Loads the trainer's model.joblib and predicts the test CSV, as a serving container would.

    python check_model.py MODEL_DIR TEST_CSV OUT_JSON [--expect REFERENCE_JSON]

Runs inside a container (images/build.sh mounts it): once with the trainer image's
scikit-learn, once with the oldest scikit-learn of the serving image's series. It needs
only the standard library, NumPy, joblib and scikit-learn (what the serving image has),
so it reads the CSV with the csv module, in the feature order model_metadata.json lists.
The test accuracy must equal the one the trainer wrote to metrics.json; with --expect,
the predictions must also equal those of REFERENCE_JSON.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import warnings


def main(argv: list[str]) -> int:
    model_dir, test_csv, out_json, *rest = argv
    import joblib
    import numpy as np
    import sklearn

    metadata = json.load(open(os.path.join(model_dir, "model_metadata.json")))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = joblib.load(os.path.join(model_dir, "model.joblib"))
    with open(test_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    matrix = np.array([[float(row[f]) for f in metadata["features"]] for row in rows])
    labels = [row[metadata["label_column"]] for row in rows]
    predictions = [str(p) for p in model.predict(matrix)]
    accuracy = sum(p == y for p, y in zip(predictions, labels, strict=True)) / len(labels)
    result = {
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "rows": len(rows),
        "accuracy": accuracy,
        "predictions": predictions,
    }
    json.dump(result, open(out_json, "w"))

    # Unpickling with another scikit-learn release warns once per estimator: one line for all.
    pickled = {getattr(w.message, "original_sklearn_version", None) for w in caught} - {None}
    others = [str(w.message).splitlines()[0] for w in caught if not hasattr(w.message, "original_sklearn_version")]
    notes = "; ".join(
        ([f"InconsistentVersionWarning: pickled with scikit-learn {', '.join(sorted(pickled))}"] if pickled else [])
        + others
    )
    print(
        f"scikit-learn {sklearn.__version__} (NumPy {np.__version__}) loaded model.joblib: "
        f"test accuracy {accuracy:.4f} on {len(rows)} rows" + (f" [{notes}]" if notes else "")
    )
    # The same test split the trainer scored: its accuracy must be the one metrics.json reports.
    metrics_path = os.path.join(model_dir, "metrics.json")
    if os.path.exists(metrics_path):
        reported = json.load(open(metrics_path))["test"]["accuracy"]
        if abs(reported - accuracy) > 1e-9:
            print(
                f"check_model: test accuracy {accuracy} differs from the trainer's metrics.json ({reported})",
                file=sys.stderr,
            )
            return 1
    if rest[:1] == ["--expect"]:
        reference = json.load(open(rest[1]))
        differ = sum(a != b for a, b in zip(predictions, reference["predictions"], strict=False))
        if differ or len(predictions) != len(reference["predictions"]):
            print(
                f"check_model: {differ} of {len(predictions)} predictions differ from scikit-learn "
                f"{reference['sklearn']}'s",
                file=sys.stderr,
            )
            return 1
        print(f"predictions equal scikit-learn {reference['sklearn']}'s on all {len(predictions)} test rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
