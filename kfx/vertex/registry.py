"""The Vertex AI Model Registry as kfx's model registry: the champion, and pushing a version.

A model version's artifact folder holds what the local registry's version folder
holds (:data:`VERSION_FILES`): ``model.joblib`` and its metadata, ``evaluation.json``,
``schema.pbtxt`` and the training statistics, so the next run can score the champion
and measure drift against the data it was trained on.

- The champion is the version with the ``default`` alias of the newest model called
  ``model_name``, when that version is labelled ``kfx_blessed=true`` (:func:`find_champion`).
- The training job uploads nothing. :func:`push_version` writes the version folder and
  uploads it as a new version of that model, labelled ``kfx_blessed`` (and ``kfx_accuracy``),
  with the ``default`` alias only when blessed. Vertex AI makes a new model's first
  version its default whatever it is told, so an unblessed model that would start a
  model is not uploaded; the record says why.
- Every uploaded version gets its evaluation imported into the registry
  (:func:`evaluation_request`), where the console and later runs read it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from kfx.contract import METADATA_FILE, MODEL_FILE
from kfx.manifest import SCHEMA_FILE, TRAIN_STATISTICS
from kfx.registry import EVALUATION_FILE, VERSION_FILES  # a local version's files

BLESSED_LABEL = "kfx_blessed"
ACCURACY_LABEL = "kfx_accuracy"
DEFAULT_ALIAS = "default"
CLASSIFICATION_METRICS_SCHEMA = "gs://google-cloud-aiplatform/schema/modelevaluation/classification_metrics_1.0.0.yaml"
"""Vertex AI's schema of classification metrics: the console draws the confusion matrix from it."""
REGRESSION_METRICS_SCHEMA = "gs://google-cloud-aiplatform/schema/modelevaluation/regression_metrics_1.0.0.yaml"
"""Vertex AI's schema of regression metrics (``rootMeanSquaredError``, ``meanAbsoluteError``, ``rSquared``)."""


def _metric_label(value: float) -> str:
    # Label values allow only lower-case letters, digits, '-' and '_'.
    return f"{value:.4f}".replace(".", "_")


def _reason(evaluation: Mapping[str, Any]) -> str:
    """The blessing's reason: evaluate's own words, else the threshold's verdict."""
    if evaluation.get("reason"):
        return str(evaluation["reason"])
    accuracy = float(evaluation.get("accuracy", float("nan")))
    verdict = ">=" if evaluation.get("blessed") else "is below"
    return f"test accuracy {accuracy:.4f} {verdict} min_accuracy {evaluation.get('min_accuracy')}"


def find_model(project: str, location: str, display_name: str):
    """The newest ``aiplatform.Model`` called ``display_name`` (its default version), or None.

    Runs add versions to it, and its default version is the champion.
    """
    from google.cloud import aiplatform

    models = aiplatform.Model.list(
        filter=f'display_name="{display_name}"', order_by="create_time desc", project=project, location=location
    )
    return models[0] if models else None


def find_champion(project: str, location: str, model_name: str) -> dict[str, Any]:
    """The champion: the ``default`` version of model ``model_name``, when it is labelled blessed.

    Returns:
        ``found``, ``model_name``, ``version`` (``"3"``; empty when none), ``uri`` (the version's
        ``gs://`` artifact folder; empty when none) and ``reason`` (why none, else empty).
    """
    from google.cloud import aiplatform

    record = {"found": False, "model_name": model_name, "version": "", "uri": "", "reason": ""}
    model = find_model(project, location, model_name)
    if model is None:
        record["reason"] = f"the Model Registry of {project} in {location} holds no model named {model_name!r}"
        return record
    default = aiplatform.Model(model_name=model.resource_name, version=DEFAULT_ALIAS)
    where = f"model {model_name!r} ({model.resource_name})"
    if dict(default.labels or {}).get(BLESSED_LABEL) != "true":
        record["reason"] = f"the default version {default.version_id} of {where} is not labelled {BLESSED_LABEL}=true"
    elif not default.uri:
        record["reason"] = f"the default version {default.version_id} of {where} has no artifact folder"
    else:
        record.update(found=True, version=str(default.version_id), uri=default.uri.rstrip("/"))
    return record


def evaluation_record(
    metrics: Mapping[str, Any], blessed: bool, champion: Optional[Mapping[str, Any]]
) -> dict[str, Any]:
    """What the version keeps as ``evaluation.json`` and the registry's evaluation metadata: evaluate's
    figures, the blessing and, when there was one, the champion it was compared with."""
    record = {**dict(metrics), "blessed": bool(blessed)}
    if champion and champion.get("found"):
        record["champion"] = {key: champion.get(key, "") for key in ("model_name", "version", "uri")}
    return record


def write_version_folder(
    folder: str, model_dir: str, evaluation: Mapping[str, Any], schema_uri: str, statistics_uri: str
) -> list[str]:
    """Copies the model and its metadata, the evaluation, the schema and the training statistics into
    ``folder`` (a fresh ``gs://`` folder of this push; the registry sees it only once uploaded).

    Returns:
        The files written, relative to ``folder`` (:data:`VERSION_FILES`).

    Raises:
        SourceError: If an input file does not exist.
    """
    from kfx import storage

    folder = folder.rstrip("/")
    sources = {
        METADATA_FILE: f"{model_dir.rstrip('/')}/{METADATA_FILE}",
        SCHEMA_FILE: schema_uri,
        TRAIN_STATISTICS: f"{statistics_uri.rstrip('/')}/{TRAIN_STATISTICS.split('/', 1)[1]}",
        MODEL_FILE: f"{model_dir.rstrip('/')}/{MODEL_FILE}",  # last: it marks a complete folder
    }
    # Read everything first: a missing input stops the push before anything is written.
    contents = {name: storage.read_bytes(uri) for name, uri in sources.items()}
    contents[EVALUATION_FILE] = json.dumps(dict(evaluation), indent=2, sort_keys=True).encode(
        "utf-8"
    )  # as kfx.registry
    for name in (METADATA_FILE, EVALUATION_FILE, SCHEMA_FILE, TRAIN_STATISTICS, MODEL_FILE):
        storage.write_bytes(f"{folder}/{name}", contents[name])
    return list(VERSION_FILES)


def confusion_matrix(classification_metrics: Mapping[str, Any]) -> tuple[list[str], list[list[int]]]:
    """The labels and rows of the confusion matrix kfp's ``ClassificationMetrics`` holds in its metadata."""
    matrix = classification_metrics.get("confusionMatrix") or {}
    labels = [str(spec["displayName"]) for spec in matrix.get("annotationSpecs", [])]
    rows = [[int(v) for v in (row["row"] if isinstance(row, Mapping) else row)] for row in matrix.get("rows", [])]
    return labels, rows


def evaluation_request(
    display_name: str, evaluation: Mapping[str, Any], labels: Sequence[str], matrix: Sequence[Sequence[int]]
) -> dict[str, Any]:
    """The ``ModelEvaluation`` imported for a version, in Vertex AI's classification (or regression) metrics schema.

    The model predicts one class per row, so at confidence 0 with one prediction per row
    micro-averaged precision, recall and F1 all equal accuracy; macro-F1 is kfx's. kfx's own
    figures (the blessing and its reason, the thresholds, the champion) go in ``metadata``.
    """
    if evaluation.get("task") == "regression":
        return {
            "display_name": display_name,
            "metrics_schema_uri": REGRESSION_METRICS_SCHEMA,
            "metrics": {
                "rootMeanSquaredError": float(evaluation["rmse"]),
                "meanAbsoluteError": float(evaluation["mae"]),
                "rSquared": float(evaluation["r2"]),
            },
            "metadata": {"kfx": dict(evaluation)},
        }
    accuracy, macro_f1 = float(evaluation["accuracy"]), float(evaluation.get("macro_f1", 0.0))
    return {
        "display_name": display_name,
        "metrics_schema_uri": CLASSIFICATION_METRICS_SCHEMA,
        "metrics": {
            "confidenceMetrics": [
                {
                    "confidenceThreshold": 0.0,
                    "maxPredictions": 1,
                    "precision": accuracy,
                    "recall": accuracy,
                    "f1Score": accuracy,
                    "f1ScoreMicro": accuracy,
                    "f1ScoreMacro": macro_f1,
                    "precisionAt1": accuracy,
                    "recallAt1": accuracy,
                    "f1ScoreAt1": accuracy,
                }
            ],
            "confusionMatrix": {
                "annotationSpecs": [{"displayName": label} for label in labels],
                "rows": [[int(v) for v in row] for row in matrix],
            },
        },
        "metadata": {"kfx": dict(evaluation)},
    }


def import_evaluation(model: Any, request: Mapping[str, Any]) -> str:
    """Imports ``request`` (see :func:`evaluation_request`) as an evaluation of the ``aiplatform.Model``
    version ``model``.

    Returns:
        The evaluation's resource name.
    """
    # aiplatform.compat binds model_evaluation at import time, to the module of its default API version.
    from google.cloud.aiplatform.compat.types import (  # type: ignore[attr-defined]
        model_evaluation as gca_model_evaluation,
    )
    from google.protobuf import json_format, struct_pb2

    def value(data: Any) -> struct_pb2.Value:
        return json_format.ParseDict(json.loads(json.dumps(data, default=str)), struct_pb2.Value())

    evaluation = gca_model_evaluation.ModelEvaluation(
        display_name=request["display_name"],
        metrics_schema_uri=request["metrics_schema_uri"],
        metrics=value(request["metrics"]),
        metadata=value(request["metadata"]),
    )
    created = model.api_client.import_model_evaluation(
        parent=model.versioned_resource_name, model_evaluation=evaluation
    )
    return created.name


def push_version(
    project: str,
    location: str,
    model_name: str,
    folder: str,
    model_dir: str,
    evaluation: Mapping[str, Any],
    classification_metrics: Mapping[str, Any],
    schema_uri: str,
    statistics_uri: str,
    serving_image: str,
) -> dict[str, Any]:
    """Uploads the model as a new version of model ``model_name``, the default one only when blessed.

    A blessed model becomes the default version (the champion) and is labelled
    ``kfx_blessed=true``; an unblessed one is kept as a version labelled ``kfx_blessed=false``
    without the alias, unless no model ``model_name`` exists yet: Vertex AI would make it the
    new model's default, so it is not uploaded. Each uploaded version gets its folder
    (:func:`write_version_folder`) and its evaluation in the registry.

    Args:
        folder: A fresh ``gs://`` folder for the version's files.
        model_dir: The training job's model folder.
        evaluation: See :func:`evaluation_record`; ``blessed`` decides.
        classification_metrics: evaluate's ClassificationMetrics metadata (the confusion matrix).
        schema_uri: The schema to keep with the version.
        statistics_uri: The statistics folder whose training split is kept with the version.
        serving_image: Vertex AI's prebuilt scikit-learn serving image.

    Returns:
        ``pushed``, ``blessed``, ``default``, ``model_name``, ``version`` (empty when not pushed),
        ``uri`` (the version folder), ``resource_name`` (``projects/…/models/ID@VERSION``),
        ``evaluation`` (its resource name) and ``reason`` (why not pushed, or not the default).
    """
    from google.cloud import aiplatform

    blessed = bool(evaluation.get("blessed"))
    record = {
        "pushed": False,
        "blessed": blessed,
        "default": False,
        "model_name": model_name,
        "version": "",
        "uri": "",
        "resource_name": "",
        "evaluation": "",
        "reason": "",
    }
    why = _reason(evaluation)
    parent = find_model(project, location, model_name)
    if parent is None and not blessed:
        record["reason"] = (
            f"not blessed: {why}; the Model Registry holds no model named {model_name!r} yet, and Vertex AI makes a "
            "new model's first version its default, so only a blessed model starts one"
        )
        return record
    write_version_folder(folder, model_dir, evaluation, schema_uri, statistics_uri)
    labels = {BLESSED_LABEL: "true" if blessed else "false"}
    if "accuracy" in evaluation:
        labels[ACCURACY_LABEL] = _metric_label(float(evaluation["accuracy"]))
    uploaded = aiplatform.Model.upload(
        serving_container_image_uri=serving_image,
        artifact_uri=folder.rstrip("/"),
        display_name=model_name,
        parent_model=parent.resource_name if parent is not None else None,
        # Vertex AI moves the alias to a version uploaded as the default: only a blessed one.
        is_default_version=blessed,
        version_description=("blessed: " if blessed else "not blessed: ") + why,
        labels=labels,
        project=project,
        location=location,
        sync=True,
    )
    classes, matrix = confusion_matrix(classification_metrics)
    request = evaluation_request(f"{model_name}-v{uploaded.version_id}", evaluation, classes, matrix)
    record.update(
        pushed=True,
        default=blessed,
        version=str(uploaded.version_id),
        uri=folder.rstrip("/"),
        resource_name=uploaded.versioned_resource_name,
        evaluation=import_evaluation(uploaded, request),
        reason="" if blessed else f"not blessed: {why}; kept as a version without the {DEFAULT_ALIAS} alias",
    )
    return record
