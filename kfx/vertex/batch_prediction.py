"""Batch prediction on Vertex AI with the model's ``default`` version.

The model is found by its display name (the name the training job uploads it
under), and the version is the one the ``default`` alias points at when the run
starts: the blessed version (see :mod:`kfx.vertex.registry`). GCPC's
``ModelBatchPredictOp`` then scores a BigQuery table with it. The sklearn serving
image hands each instance to ``model.predict`` as a plain array, so the instances
are exactly the model's feature columns in training order, read from the
``model_metadata.json`` the trainer wrote next to ``model.joblib``.
"""

from __future__ import annotations

from typing import Any

DEFAULT_ALIAS = "default"
BIGQUERY_FORMAT = "bigquery"


def api_uri(location: str, resource_name: str) -> str:
    """The REST URI of a Vertex AI resource, the URI GCPC's own ops give a ``VertexModel``."""
    return f"https://{location}-aiplatform.googleapis.com/v1/{resource_name}"


def default_version(project: str, location: str, model_name: str) -> dict[str, Any]:
    """The ``default`` version of the newest model called ``model_name``, and the columns it reads.

    Args:
        project: Project of the model.
        location: Region of the model.
        model_name: The model's display name (Config.resolved_model_name).

    Returns:
        ``resource_name`` (``projects/…/models/ID@VERSION``, the version pinned so the record says
        which one predicted), ``version``, ``artifact_uri`` (the version's model folder),
        ``features`` (the model's input columns, in order) and ``blessed`` (its kfx_blessed label).

    Raises:
        SourceError: If no model has that name, or its folder does not record its feature columns.
    """
    import json

    from google.cloud import aiplatform

    from kfx import storage
    from kfx.contract import METADATA_FILE
    from kfx.errors import SourceError
    from kfx.vertex.registry import BLESSED_LABEL

    aiplatform.init(project=project, location=location)
    models = aiplatform.Model.list(filter=f'display_name="{model_name}"', order_by="create_time desc")
    if not models:
        raise SourceError(
            f"No model named {model_name!r} in {project}/{location}; run the train pipeline first "
            "(kfx submit) or pass the trained model's --model-name."
        )
    model = aiplatform.Model(model_name=models[0].resource_name, version=DEFAULT_ALIAS)
    path = f"{(model.uri or '').rstrip('/')}/{METADATA_FILE}"
    try:
        features = list(json.loads(storage.read_text(path))["features"])
    except (SourceError, KeyError, ValueError):
        raise SourceError(
            f"{path} does not list the model's feature columns; predict with a version trained by this kfx version."
        ) from None
    return {
        "resource_name": model.versioned_resource_name,
        "version": str(model.version_id),
        "artifact_uri": model.uri,
        "features": features,
        "blessed": (model.labels or {}).get(BLESSED_LABEL) == "true",
    }
