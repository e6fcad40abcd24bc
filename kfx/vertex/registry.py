"""Blessing a model version in the Vertex AI Model Registry.

The training job uploads every trained model as a version that is not the
default (see :mod:`kfx.vertex.training`); a blessed version is labelled
``kfx_blessed=true`` and gets the ``default`` alias, which makes it the version
that serving and batch prediction pick up.
"""

from __future__ import annotations

from typing import Any, Mapping

from kfx.vertex.training import BLESSED_LABEL

DEFAULT_ALIAS = "default"


def _metric_label(value: float) -> str:
    # Label values allow only lower-case letters, digits, '-' and '_'.
    return f"{value:.4f}".replace(".", "_")


def bless_model(
    project: str, location: str, model_resource_name: str, metrics: Mapping[str, Any]
) -> dict[str, Any]:
    """Labels a model version as blessed and makes it the model's default version.

    Args:
        project: Project of the model.
        location: Region of the model.
        model_resource_name: ``projects/…/models/ID@VERSION``.
        metrics: Evaluation metrics; ``accuracy`` is recorded as a label.

    Returns:
        ``model``, ``version`` and the ``labels`` set.
    """
    from google.cloud import aiplatform
    from google.cloud.aiplatform.compat.types import model as gca_model
    from google.protobuf import field_mask_pb2

    aiplatform.init(project=project, location=location)
    name, _, version = model_resource_name.partition("@")
    model = aiplatform.Model(model_name=name, version=version or None)
    labels = {**dict(model.labels or {}), BLESSED_LABEL: "true"}
    if "accuracy" in metrics:
        labels["kfx_accuracy"] = _metric_label(float(metrics["accuracy"]))
    # Model.update() names the model without its version, and Vertex AI then labels the model
    # itself, so every version would read as blessed. The NAME@VERSION form labels this version.
    model.api_client.update_model(
        model=gca_model.Model(name=f"{name}@{model.version_id}", labels=labels),
        update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
    )
    model.versioning_registry.add_version_aliases([DEFAULT_ALIAS], version=model.version_id)
    return {"model": name, "version": model.version_id, "labels": labels}
