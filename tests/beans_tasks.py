"""The beans pipeline's task names, counts and console positions, read from the pipeline itself, so
that no test hard-codes them: a step added to the pipeline moves them all."""

from kfx.pipeline_tasks import tasks_of
from kfx.pipelines.local_predict import batch_predict
from kfx.pipelines.local_train import beans

NAMES = tasks_of(beans).names
"""The beans pipeline's tasks in run order."""
PREDICT_NAMES = tasks_of(batch_predict).names
"""The local prediction pipeline's tasks in run order."""


def at(name: str, names: tuple = NAMES) -> str:
    """The console's progress prefix of a task: ``[6/9] train``."""
    return f"[{names.index(name) + 1}/{len(names)}] {name}"
