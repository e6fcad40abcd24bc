"""A versioned local model registry: the stand-in for Vertex AI Model Registry on one machine.

Layout: ``<registry>/<model_name>/v<N>/`` holding ``model.joblib``, its metadata,
the evaluation metrics and the schema the model was trained under. A version
folder appears whole (copied under a hidden name, then renamed), and an existing
version is never overwritten: two pushes at once get two versions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from typing import Any, Optional

from kfx.contract import METADATA_FILE, MODEL_FILE

_VERSION = re.compile(r"^v(\d+)$")


def list_versions(registry_dir: str, model_name: str) -> list[int]:
    """The version numbers of a model in the registry, oldest first."""
    folder = os.path.join(registry_dir, model_name)
    if not os.path.isdir(folder):
        return []
    return sorted(int(m[1]) for m in map(_VERSION.match, os.listdir(folder)) if m)


def push_model(
    model_dir: str,
    registry_dir: str,
    model_name: str,
    evaluation: dict[str, Any],
    schema_uri: Optional[str] = None,
) -> dict[str, Any]:
    """Copies a blessed model with its metrics and schema into a new registry version.

    Args:
        model_dir: Folder the trainer wrote (``model.joblib``, ``model_metadata.json``).
        registry_dir: Registry root folder.
        model_name: Name of the model in the registry.
        evaluation: Result of :func:`kfx.evaluation.evaluate_model`; decides the push.
        schema_uri: Schema text proto to keep with the model.

    Returns:
        ``pushed``, and ``version`` and ``uri`` when pushed or ``reason`` when not.
    """
    if not evaluation.get("blessed"):
        return {
            "pushed": False,
            "reason": f"not blessed: test accuracy {evaluation.get('accuracy', float('nan')):.4f} "
            f"is below min_accuracy {evaluation.get('min_accuracy')}",
        }
    from kfx import storage

    root = os.path.join(registry_dir, model_name)
    os.makedirs(root, exist_ok=True)
    staging = tempfile.mkdtemp(dir=root, prefix=".incoming-")
    try:
        for name in (MODEL_FILE, METADATA_FILE):
            storage.write_bytes(os.path.join(staging, name), storage.read_bytes(f"{model_dir.rstrip('/')}/{name}"))
        with open(os.path.join(staging, "evaluation.json"), "w") as f:
            json.dump(evaluation, f, indent=2)
        if schema_uri:
            storage.write_bytes(os.path.join(staging, "schema.pbtxt"), storage.read_bytes(schema_uri))
        version = max(list_versions(registry_dir, model_name), default=0) + 1
        while True:
            target = os.path.join(root, f"v{version}")
            try:
                os.rename(staging, target)  # fails when another push took this number
                break
            except OSError:
                if not os.path.exists(target):
                    raise
                version += 1
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"pushed": True, "version": version, "uri": os.path.abspath(target)}
