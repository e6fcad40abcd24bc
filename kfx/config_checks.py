"""The checks of a :class:`~kfx.config.Config`'s values that need no data and no cloud: each refusal is one
sentence naming the option and what to pass.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from kfx.errors import ConfigError

if TYPE_CHECKING:
    from kfx.config import Config

STATS_ENGINES = ("memory", "beam")
BEAM_RUNNERS = ("DirectRunner", "DataflowRunner")
TARGETS = ("local", "vertex")
PIPELINES = ("train", "predict")


def check_config(config: Config) -> None:
    """Checks the values that can be checked without touching data or the cloud.

    Raises:
        ConfigError: Naming the first option with an unusable value and what to pass.
    """
    if config.target not in TARGETS:
        raise ConfigError(f"Unknown target {config.target!r}; use one of: {', '.join(TARGETS)}.")
    fractions = config.fractions
    if any(not (0 < f < 1) for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ConfigError(
            f"Split fractions {fractions} must each lie between 0 and 1 and add up to 1; "
            "pass e.g. --train-fraction 0.8 --validation-fraction 0.1 --test-fraction 0.1."
        )
    if not config.label_column:
        raise ConfigError("The label column is empty; pass --label-column with the name of the class column.")
    if config.sample_rows < 0:
        raise ConfigError(f"sample_rows is {config.sample_rows}; pass 0 for all rows or a positive row count.")
    if config.stats_engine not in STATS_ENGINES:
        raise ConfigError(f"Unknown statistics engine {config.stats_engine!r}; use one of: {', '.join(STATS_ENGINES)}.")
    if config.beam_runner not in BEAM_RUNNERS:
        raise ConfigError(f"Unknown Beam runner {config.beam_runner!r}; use one of: {', '.join(BEAM_RUNNERS)}.")
    from kfx import tasks

    tasks.check_task(config.task)
    tasks.check_metric(config.metric, config.task)
    if not (config.min_r2 < 1):
        raise ConfigError(f"min_r2 is {config.min_r2}; pass a number below 1, such as 0 (better than the mean).")
    if not (0 <= config.min_accuracy <= 1):
        raise ConfigError(f"min_accuracy is {config.min_accuracy}; pass a value between 0 and 1.")
    if not (0 < config.skew_threshold <= 1):
        raise ConfigError(
            f"skew_threshold is {config.skew_threshold}; pass a number above 0 and at most 1, such as 0.15."
        )
    if not (0 < config.drift_threshold <= 1):
        raise ConfigError(
            f"drift_threshold is {config.drift_threshold}; pass a number above 0 and at most 1, such as 0.15."
        )
    if not (0 <= config.accuracy_tolerance < 1):
        raise ConfigError(
            f"accuracy_tolerance is {config.accuracy_tolerance}; pass a share "
            "of accuracy from 0 up to (not including) 1, "
            "such as 0.01."
        )
    for name in ("model_name", "pipeline_name"):
        value = getattr(config, name)
        if value and not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?", value):
            raise ConfigError(
                f"{name} is {value!r}; use lower-case letters, digits and '-' (at most 64, starting and ending "
                "with a letter or digit), such as 'beans'."
            )
    if config.pipeline not in PIPELINES:
        raise ConfigError(f"Unknown pipeline {config.pipeline!r}; use one of: {', '.join(PIPELINES)}.")
    if config.max_concurrent_runs < 1 or config.max_runs < 0:
        raise ConfigError(
            f"max_concurrent_runs is {config.max_concurrent_runs} and max_runs {config.max_runs}; pass at least 1 "
            "concurrent run and 0 (no limit) or more runs."
        )
    if config.retries < 0:
        raise ConfigError(
            f"retries is {config.retries}; pass 0 (no retry) or how many times a failed task runs again, such as 3."
        )
    if config.svm_c <= 0:
        raise ConfigError(f"svm_c is {config.svm_c}; pass a positive number such as 10.")
    if config.svm_max_rows < 0:
        raise ConfigError(f"svm_max_rows is {config.svm_max_rows}; pass 0 (always gradient boosting) or a row count.")
    if config.boosting_learning_rate <= 0:
        raise ConfigError(
            f"boosting_learning_rate is {config.boosting_learning_rate}; pass a positive number such as 0.1."
        )
    if config.boosting_max_iter < 1:
        raise ConfigError(
            f"boosting_max_iter is {config.boosting_max_iter}; pass a positive number of rounds such as 100."
        )
