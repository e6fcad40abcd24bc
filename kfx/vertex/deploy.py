"""Deploying the champion to a Vertex AI endpoint, written out as the ``aiplatform`` calls.

kfx stops at the Model Registry: a blessed model is its model's ``default`` version,
labelled ``kfx_blessed=true`` (:mod:`kfx.vertex.registry`), and the serving check has
shown that Vertex AI's prebuilt scikit-learn image loads it and answers as training
did. Serving it online is a decision a team takes (an endpoint costs money while it
runs), so kfx lists the calls that do it rather than making them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kfx.config import Config

# The smallest general-purpose machine the prebuilt scikit-learn image is served on.
SERVING_MACHINE = "n1-standard-2"


def deployment_calls(
    config: Config, endpoint_name: str = "", machine_type: str = SERVING_MACHINE
) -> list[tuple[str, dict[str, Any]]]:
    """The ``aiplatform`` calls that deploy the model's blessed ``default`` version to an endpoint, in order.

    Args:
        config: The vertex configuration: ``project_id``, ``region`` and the model's name.
        endpoint_name: Display name of the new endpoint; empty means ``<model name>-endpoint``.
        machine_type: Machine of each serving replica. Defaults to n1-standard-2.

    Returns:
        ``(call, keyword arguments)`` pairs; ``models`` and ``endpoint`` name the objects the earlier calls return.
    """
    from kfx.vertex.registry import BLESSED_LABEL

    name = config.replace(target="vertex").resolved_model_name
    return [
        ("aiplatform.init", {"project": config.project_id, "location": config.region}),
        (
            "models = aiplatform.Model.list",
            {"filter": f'display_name="{name}" AND labels.{BLESSED_LABEL}="true"', "order_by": "create_time desc"},
        ),
        ("endpoint = aiplatform.Endpoint.create", {"display_name": endpoint_name or f"{name}-endpoint"}),
        (
            "models[0].deploy",
            {
                "endpoint": "endpoint",
                "deployed_model_display_name": name,
                "machine_type": machine_type,
                "min_replica_count": 1,
                "max_replica_count": 1,
                "traffic_percentage": 100,
            },
        ),
    ]


def format_calls(calls: list[tuple[str, dict[str, Any]]]) -> str:
    """The calls as Python lines (``endpoint`` passed as the object, not a string)."""
    lines = []
    for call, arguments in calls:
        text = ", ".join(f"{k}={v}" if k == "endpoint" else f"{k}={v!r}" for k, v in arguments.items())
        lines.append(f"{call}({text})")
    return "\n".join(lines)
