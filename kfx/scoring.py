"""Batch prediction's steps as plain functions over paths and values: scoring a table with a registry version.

A registry version (:mod:`kfx.registry`) holds the model, its metadata (features, label
column, classes), the schema it was trained under and its training statistics; each step
checks the files it reads against the version's manifest (:mod:`kfx.manifest`). Scoring
a table with it goes: import the table, refusing one the model cannot read (a missing
feature, a column of the wrong type) before anything is predicted; compute its TFDV
statistics; validate them against the version's schema and measure drift against its
training statistics; predict. The label column is optional: without it the table is
validated in the schema's ``SERVING`` environment, where the label is not expected, and
no accuracy is measured; with it, in ``TRAINING``, where the label's values are checked too.

The components of :mod:`kfx.batch_prediction`'s pipeline call these functions; the tests call them
directly. As in :mod:`kfx.data_steps`, their parameters have no defaults (those live in
:class:`~kfx.config.Config`) and a user's error inside a task prints one ``kfx-error:`` line (:mod:`kfx.executor`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from kfx import storage
from kfx.errors import AnomaliesFound, DataError
from kfx.scoring_checks import (
    SERVING,
    TRAINING,
    check_scoring,
    drift,
    first_non_number,
    numeric_features,
    report_markdown,
)

SPLIT = "scoring"
"""The name of the scoring table's statistics (``Split-scoring/stats.tfrecord``) and anomalies."""
MODEL_COLUMN = "model_name"
VERSION_COLUMN = "model_version"


def prediction_column(label_column: str) -> str:
    """The predictions file's column of predicted classes: ``predicted_<label>``."""
    return f"predicted_{label_column}"


def version_files(model_uri: str) -> dict[str, str]:
    """Where a registry version folder keeps its schema and training statistics."""
    from kfx import manifest, registry

    root = model_uri.rstrip("/")
    return {
        "schema": f"{root}/{manifest.SCHEMA_FILE}",
        "statistics": f"{root}/{registry.STATISTICS_FOLDER}",
    }


def read_reference(path: str) -> dict[str, Any]:
    """The registry version a ``registered_model`` artifact names (see :mod:`kfx.components.find_model`).

    Raises:
        ModelNotFound: If it names none, with the reason find_model gave.
    """
    from kfx.errors import ModelNotFound

    reference = json.loads(storage.read_text(path))
    if not reference.get("found"):
        reason = reference.get("reason") or f"no version of model {reference.get('model_name')!r} was found"
        raise ModelNotFound(f"{reason[0].upper()}{reason[1:]}; pass a model and version that `kfx run` pushed.")
    return reference


def _name(reference: Mapping[str, Any]) -> str:
    return f"{reference['model_name']} v{reference['version']}"


def import_scoring_data(source: str, reference: Mapping[str, Any], data_path: str) -> dict[str, Any]:
    """Reads the table to score, checks the version's model can read it, and writes it as CSV, cells as they are.

    Every feature the model reads must be a column, and every column the version's schema types
    as a number (INT, FLOAT) must hold only numbers. The label column may be absent.

    Args:
        source: The table URI (local / gs:// CSV or Parquet, bq://; see :func:`kfx.data.parse_source`).
        reference: The registry version (``model_name``, ``version``, ``uri``).
        data_path: Where to write the table.

    Returns:
        ``source`` (resolved), ``rows``, ``labelled`` (the label column is present), ``label_column``,
        ``columns`` and ``unchecked`` (columns the schema does not know: carried, not validated).

    Raises:
        ModelMismatch: Naming the missing feature or the wrongly typed column, and the fix.
        DataError: If the table has no rows, or a column named like a predictions column.
    """
    from kfx import csvtext, data, manifest
    from kfx.errors import ModelMismatch

    files = version_files(reference["uri"])
    metadata = manifest.check_version(reference["uri"])  # every file of the version this run reads, as pushed
    label = metadata["label_column"]
    parsed = data.parse_source(source)
    table = data.read_text_table(parsed.uri)
    columns = list(table.column_names)
    name = _name(reference)
    missing = [f for f in metadata["features"] if f not in columns]
    if missing:
        named = ", ".join(map(repr, missing))
        raise ModelMismatch(
            f"{'Column' if len(missing) == 1 else 'Columns'} {named} that model {name} reads "
            f"{'is' if len(missing) == 1 else 'are'} not in {parsed.uri!r}; add "
            f"{'it' if len(missing) == 1 else 'them'} to the table, or score the "
            "table with a model trained on its columns."
        )
    if table.num_rows == 0:
        raise DataError(f"{parsed.uri!r} has no rows; pass a table with rows to score.")
    taken = [c for c in (prediction_column(label), MODEL_COLUMN, VERSION_COLUMN) if c in columns]
    if taken:
        raise DataError(
            f"Column {taken[0]!r} of {parsed.uri!r} has the name of a column the predictions add; rename or drop it."
        )
    schema = _load_schema(files["schema"])
    numeric = numeric_features(schema)
    for column in columns:
        if column not in numeric:
            continue
        bad = first_non_number(table.column(column))
        if bad is not None:
            line, value = bad
            raise ModelMismatch(
                f"Column {column!r} of {parsed.uri!r} holds {value!r} in line {line}, but model {name} was trained "
                f"on numbers there ({numeric[column]} in its schema); fix that value, or score the table with a "
                "model trained on its columns."
            )
    with storage.open_write(data_path) as out:
        csvtext.write_csv(table, out)
    known = {f.name for f in schema.feature} if schema is not None else set()
    return {
        "source": parsed.uri,
        "rows": table.num_rows,
        "labelled": label in columns,
        "label_column": label,
        "columns": columns,
        "unchecked": [c for c in columns if known and c not in known],
    }


def _load_schema(uri: str):
    from kfx import schema as schemas

    return schemas.load_schema(uri) if storage.exists(uri) else None


def scoring_statistics(data_path: str, model_uri: str, statistics_dir: str, html_path: str) -> dict[str, Any]:
    """TFDV statistics of the table to score (``Split-scoring``), and its Facets view next to the training statistics.

    Only the columns the version's schema knows are described: other columns are carried into
    the predictions but are not the model's concern.

    Returns:
        ``rows`` and ``features`` (the number described).
    """
    import pandas as pd

    from kfx import manifest, statistics

    files = version_files(model_uri)
    manifest.check_version(model_uri)
    with storage.open_read(data_path) as f:
        frame = pd.read_csv(f)
    schema = _load_schema(files["schema"])
    known = {f.name for f in schema.feature} if schema is not None else set()
    if known:
        frame = frame[[c for c in frame.columns if c in known]]
    stats = statistics.compute_statistics({SPLIT: frame})
    statistics.write_statistics(stats, statistics_dir)
    training = statistics.load_statistics(files["statistics"]).get("train")
    storage.write_text(html_path, statistics.statistics_html(stats[SPLIT], training, SPLIT, "training"))
    return {"rows": len(frame), "features": len(stats[SPLIT].datasets[0].features)}


def validate_scoring(
    statistics_dir: str,
    model_uri: str,
    labelled: bool,
    anomalies_dir: str,
    report_path: str,
    drift_threshold: float,
    fail_on_anomalies: bool,
) -> dict[str, Any]:
    """Validates the scoring table's statistics against the version's schema and its training statistics.

    Writes ``Split-scoring/anomalies.pbtxt`` and a Markdown report either way, then fails when
    anomalies exist and ``fail_on_anomalies`` is set, before anything is predicted.

    Returns:
        ``anomalies`` (count), ``findings``, ``drift`` (feature to distance), ``environment``.

    Raises:
        AnomaliesFound: Naming each anomalous feature and what is wrong.
    """
    from kfx import manifest, statistics, validation

    files = version_files(model_uri)
    metadata = manifest.check_version(model_uri)
    schema = _load_schema(files["schema"])
    scoring = statistics.load_statistics(statistics_dir)[SPLIT]
    training = statistics.load_statistics(files["statistics"]).get("train")
    if schema is None:
        from kfx import tfdv_core

        schema = tfdv_core.infer_schema(training) if training is not None else None
    environment = TRAINING if labelled else SERVING
    if schema is None:
        result, found, measured = None, [], {}
    else:
        result = check_scoring(scoring, schema, training, metadata["label_column"], labelled, drift_threshold)
        found = validation.findings({SPLIT: result})
        measured = drift(result)
        validation.write_anomalies({SPLIT: result}, anomalies_dir)
    storage.write_text(report_path, report_markdown(found, measured, drift_threshold, environment, schema is not None))
    if found and fail_on_anomalies:
        parts = [f"{f.feature!r} ({f.short})" for f in found]
        raise AnomaliesFound(
            f"TFDV found {len(found)} anomalies in the table to score: {'; '.join(parts)}; fix the table, or pass "
            "--no-fail-on-anomalies to predict anyway."
        )
    os.makedirs(anomalies_dir, exist_ok=True)
    return {
        "anomalies": len(found),
        "findings": [f.to_dict() for f in found],
        "drift": measured,
        "environment": environment,
    }


def predict(data_path: str, reference: Mapping[str, Any], predictions_path: str) -> dict[str, Any]:
    """Predicts every row with the version's model and writes the predictions CSV.

    The file holds the table's columns, cells as they were, then ``predicted_<label>``,
    ``model_name`` and ``model_version``. When the table has the label, the accuracy and
    macro-F1 are measured on the rows that have one.

    Returns:
        ``rows``, ``model_name``, ``version``, ``label_column``, ``prediction_column``, ``labelled``,
        and with the label ``labelled_rows``, ``accuracy`` and ``macro_f1``.
    """
    import io

    import pandas as pd
    import pyarrow as pa

    from kfx import csvtext
    from kfx.evaluation import load_model
    from kfx.metrics import classification_metrics
    from kfx.model_inputs import share_cores, to_matrix

    share_cores()
    model, metadata = load_model(reference["uri"], registry_version=True)  # the pickle checked before it is loaded
    text = csvtext.load_text(data_path)
    with storage.open_read(data_path) as f:
        frame = pd.read_csv(io.BytesIO(f.read()))  # typed as the trainer reads a split
    predicted = [str(v) for v in model.predict(to_matrix(frame, metadata["features"]))]
    label = metadata["label_column"]
    column = prediction_column(label)
    rows = len(predicted)
    table = text.append_column(column, pa.array(predicted, type=pa.string()))
    table = table.append_column(MODEL_COLUMN, pa.array([reference["model_name"]] * rows, type=pa.string()))
    table = table.append_column(VERSION_COLUMN, pa.array([str(reference["version"])] * rows, type=pa.string()))
    with storage.open_write(predictions_path) as out:
        csvtext.write_csv(table, out)
    result: dict[str, Any] = {
        "rows": rows,
        "model_name": reference["model_name"],
        "version": str(reference["version"]),
        "label_column": label,
        "prediction_column": column,
        "labelled": label in frame.columns,
    }
    if result["labelled"] and metadata.get("task") == "regression":
        from kfx.metrics import regression_metrics

        has = frame[label].notna().to_numpy()
        # Written as text above; measured on the numbers the model answered.
        numbers = [float(p) for p, h in zip(predicted, has, strict=True) if h]
        scored = regression_metrics(frame[label][has], numbers)
        result.update(labelled_rows=int(has.sum()), **{name: scored[name] for name in ("rmse", "mae", "r2")})
    elif result["labelled"]:
        has = frame[label].notna().to_numpy()
        scored = classification_metrics(
            frame[label][has], [p for p, h in zip(predicted, has, strict=True) if h], labels=metadata["classes"]
        )
        result.update(labelled_rows=int(has.sum()), accuracy=scored["accuracy"], macro_f1=scored["macro_f1"])
    return result
