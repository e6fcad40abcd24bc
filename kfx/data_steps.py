"""The data steps of the pipeline (import, statistics, schema, validation) as plain functions over paths and values.

The steps after training are in :mod:`kfx.model_steps`.

Each kfx component parses its artifacts into paths and calls one of these; the
tests call them directly. Their parameters have no defaults: the defaults live in
:class:`~kfx.config.Config`, and the components take them from there. Every step returns a
small dict of plain values (row counts, metrics, …) that the component records
as artifact metadata and outputs.

A step raises a ``KfxError`` for an error the user caused. Inside a pipeline task
the component's command (:mod:`kfx.executor`, set by :func:`kfx.component.component`) turns
it into one ``kfx-error:`` line instead of a traceback (the runner shows that sentence)
and the task's exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional


def import_dataset(
    source: str,
    label_column: str,
    train_path: str,
    validation_path: str,
    test_path: str,
    fractions: tuple[float, float, float],
    seed: int,
    sample_rows: int,
    task: str = "",
) -> dict[str, Any]:
    """Reads the source, checks it, splits it and writes one CSV per split.

    The source is read once, as text (see :mod:`kfx.csvtext`): each split file holds
    the source's header and the cells of its rows exactly as the source has them.
    The sample and the split keep the shares of the classes, or for a regression of
    bins of the label (:func:`kfx.tasks.strata`).

    Args:
        task: ``classification``, ``regression``, or empty to infer it from the whole
            table's label (:func:`kfx.tasks.infer_task`).

    Returns:
        ``source``, ``columns``, ``task`` and ``<split>_rows`` for each split.
    """
    from kfx import csvtext, data, splitting, storage, tablecheck, tasks

    parsed = data.parse_source(source)
    table = data.read_text_table(parsed.uri)
    frame = csvtext.typed_frame(table)  # the checks and the split read numbers and labels as pandas types them
    whole = None
    needed = tablecheck.needed_rows(fractions)
    tasks.check_task(task)
    if len(frame) and label_column in frame.columns:
        task = tasks.resolve_task(frame[label_column], task, label_column, f"source {parsed.uri!r}")
        groups = tasks.strata(frame[label_column], task, needed)
        kept = splitting.sample_positions(groups, sample_rows, seed)
        if kept is not None:
            # The sample keeps its rows' positions in the source, so that errors name the source's lines.
            whole, table, frame = frame[label_column], table.take(kept), frame.iloc[kept]
    task = task or tasks.CLASSIFICATION
    frame = data.check_table(
        frame, label_column, fractions, source=f"source {parsed.uri!r}", sampled_from=whole, cells=table, task=task
    )
    positions = splitting.split_positions(tasks.strata(frame[label_column], task, needed), fractions, seed)
    result: dict[str, Any] = {"source": parsed.uri, "columns": list(table.column_names), "task": task}
    for split, path in zip(splitting.SPLITS, (train_path, validation_path, test_path), strict=True):
        with storage.open_write(path) as out:
            csvtext.write_csv(table.take(positions[split]), out)
        result[f"{split}_rows"] = len(positions[split])
    return result


def _read_splits(paths: dict[str, str]):
    import pandas as pd

    from kfx import storage

    frames = {}
    for name, path in paths.items():
        with storage.open_read(path) as f:
            frames[name] = pd.read_csv(f)
    return frames


def generate_statistics(
    train_path: str,
    validation_path: str,
    test_path: str,
    statistics_dir: str,
    html_path: str,
    engine: str,
    beam_options: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """Computes TFDV statistics of every split, writes them and the Facets view of train vs. eval.

    Returns:
        Rows and features per split (``<split>_rows``, ``features``).
    """
    from kfx import statistics, storage

    paths = {"train": train_path, "validation": validation_path, "test": test_path}
    frames = _read_splits(paths) if engine == "memory" else {name: None for name in paths}
    stats = statistics.compute_statistics(frames, engine=engine, data_uris=paths, beam_options=beam_options)
    statistics.write_statistics(stats, statistics_dir)
    storage.write_text(html_path, statistics.statistics_html(stats["train"], stats["validation"], "train", "eval"))
    summary = statistics.summarize(stats)
    result: dict[str, Any] = {f"{name}_rows": s["rows"] for name, s in summary.items()}
    result["features"] = summary["train"]["features"]
    return result


def infer_schema(statistics_dir: str, schema_path: str, schema_file: str = "") -> dict[str, Any]:
    """Infers the schema from the training statistics, or copies a curated schema as is.

    Returns:
        ``features`` (count) and ``curated`` (whether a schema file was used).
    """
    from kfx import schema as schemas
    from kfx import statistics, storage

    if schema_file:
        curated = schemas.load_schema(schema_file)  # checks it parses before copying
        storage.write_bytes(schema_path, storage.read_bytes(schema_file))
        return {"features": len(curated.feature), "curated": True}
    stats = statistics.load_statistics(statistics_dir)
    inferred = schemas.infer_schema(stats["train"])
    schemas.write_schema(inferred, schema_path)
    return {"features": len(inferred.feature), "curated": False}


def validate_statistics(
    statistics_dir: str,
    schema_path: str,
    anomalies_dir: str,
    report_path: str,
    skew_threshold: float,
    drift_threshold: float,
    fail_on_anomalies: bool,
    previous_statistics_dir: str = "",
    missing_features: Sequence[str] = (),
    champion: str = "",
) -> dict[str, Any]:
    """Validates every split against the schema, train vs. validation for skew and, given the previous
    model's statistics, train vs. its training statistics for drift.

    Each feature is held to a threshold that widens with fewer rows (see :mod:`kfx.validation`).
    Writes the anomalies protos and a Markdown report either way, then fails when
    anomalies exist and ``fail_on_anomalies`` is set.

    Args:
        previous_statistics_dir: Statistics folder of the previous model (the champion's), holding
            ``Split-train/stats.tfrecord``; empty checks no drift.
        drift_threshold: Base drift threshold, used with ``previous_statistics_dir``.
        missing_features: Features the previous model reads that the table lacks (find-model's
            ``missing_features``): each is an anomaly; drift is measured on the other features.
        champion: The previous model (``beans v1``), named in those anomalies.

    Returns:
        ``anomalies`` (count), ``findings`` (split, feature, short, description, check each) and
        ``thresholds`` (each feature compared: check, distance, measured, threshold, why, ...).

    Raises:
        AnomaliesFound: Listing each anomalous feature and what is wrong.
        SourceError: If ``previous_statistics_dir`` holds no training statistics.
    """
    from kfx import schema as schemas
    from kfx import statistics, storage, validation, validation_report
    from kfx.errors import SourceError

    stats = statistics.load_statistics(statistics_dir)
    previous = None
    if previous_statistics_dir:
        previous = statistics.load_statistics(previous_statistics_dir).get("train")
        if previous is None:
            raise SourceError(
                f"Previous statistics folder {previous_statistics_dir!r} holds no Split-train/{statistics.STATS_FILE}; "
                "pass the statistics folder of a registered model version."
            )
    result = validation.validate(
        stats, schemas.load_schema(schema_path), skew_threshold, previous=previous, drift_threshold=drift_threshold
    )
    found = validation.findings(result.anomalies) + validation.missing_findings(missing_features, champion)
    validation.write_anomalies(result.anomalies, anomalies_dir)
    report = validation_report.report_markdown(
        found, list(stats), skew_threshold, result.comparisons, drift_threshold if previous is not None else None
    )
    storage.write_text(report_path, report)
    if found and fail_on_anomalies:
        raise validation.anomalies_error(found, champion, result.comparisons)
    return {
        "anomalies": len(found),
        "findings": [f.to_dict() for f in found],
        "thresholds": [c.to_dict() for c in result.comparisons],
    }
