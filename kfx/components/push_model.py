"""Component: push a blessed model into the local model registry, or record why not."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def push_model(
    model: Input[Model],
    metrics: Input[Metrics],
    schema: Input[Artifact],
    statistics: Input[Artifact],
    registered_model: Input[Artifact],
    test_data: Input[Dataset],
    blessed: bool,
    reason: str,
    registry_dir: str,
    pushed_model: Output[Artifact],
    model_name: str,
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "PushOutputs", [("pushed", bool), ("version", int)]
):
    """Copies the model with its evaluation, schema and training statistics into
    ``registry_dir/model_name/v<N>`` when ``blessed`` (the gate is this input, not a condition);
    otherwise records why not.

    Args:
        model: Output of train.
        metrics: Output of evaluate.
        schema: Output of infer_schema, kept with the model.
        statistics: Output of generate_statistics; the training split's are kept with the model, for
            the next run's drift check.
        registered_model: The champion evaluate compared with (find_model's reference): the same model is
            not pushed twice, and when a newer version was pushed while this run ran, the model is pushed
            only if it does not lose to that one either.
        test_data: The test split evaluate scored, for that comparison.
        blessed: The blessing from evaluate.
        reason: Evaluate's reason for its decision.
        registry_dir: Root folder of the local registry.
        pushed_model: A record of the push (the registry version's URI, or the reason).
        model_name: Name of the model in the registry.

    Returns:
        Whether the model was pushed, and its version (the champion's when it is that version already, else 0
        when not pushed).
    """
    import json

    from kfx import model_steps

    evaluation = {**dict(metrics.metadata), "blessed": blessed, "reason": reason}
    result = model_steps.push_model(
        model.path,
        registry_dir,
        model_name,
        evaluation,
        schema.path,
        statistics.path,
        dict(registered_model.metadata),
        test_data.path,
    )
    with open(pushed_model.path, "w") as f:
        json.dump(result, f, indent=2)
    pushed_model.metadata.update(model_name=model_name, **result)
    return (result["pushed"], result.get("version", 0))


def _describe(push: dict) -> list[str]:
    if push.get("pushed"):
        return [f"pushed      version {push['version']}: {push['uri']}"]
    return [f"pushed      no: {push.get('reason')}"]  # unblessed, the champion itself, or lost to a newer version


REPORT = Report(
    push_model,
    types={"pushed_model": "PushedModel"},
    section="push",
    figures=(
        Figure("pushed", "pushed_model.pushed", cast=bool),
        Figure("version", "pushed_model.version", name="pushed_version", cast=int),
        Figure("uri", "pushed_model.uri"),
        Figure("reason", "pushed_model.reason"),
    ),
    describe=_describe,
    # A push writes a registry version: an identical re-run reuses it (no duplicate version) while
    # that version folder still holds what was pushed; once it is gone or changed, the push runs again.
    outside=("pushed_model.uri",),
)
