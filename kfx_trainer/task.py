"""Entry point of the trainer: ``python -m kfx_trainer.task [options]``.

The same ``main`` runs in the Vertex AI custom container, in the local pipeline's
``train`` step, in the notebooks and in the tests. It reads its data from the
environment a Vertex AI custom training job with a managed dataset sets:

- ``AIP_MODEL_DIR``: where to write ``model.joblib`` (local path or ``gs://``);
- ``AIP_DATA_FORMAT``: ``csv`` (URIs are files or wildcards) or ``bigquery``
  (URIs are ``bq://project.dataset.table``);
- ``AIP_TRAINING_DATA_URI``, ``AIP_VALIDATION_DATA_URI``, ``AIP_TEST_DATA_URI``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from kfx.config import Config
from kfx.contract import (
    CONTRACT_VERSION,
    DATA_FORMAT_VARIABLE,
    METADATA_FILE,
    METRICS_FILE,
    MODEL_DIR_VARIABLE,
    MODEL_FILE,
    SPLIT_VARIABLES,
)
from kfx.errors import ConfigError, KfxError
from kfx_trainer.inputs import count_classes, read_split, select_features


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses the trainer's hyper-parameters and options."""
    parser = argparse.ArgumentParser(prog="python -m kfx_trainer.task", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--label-column", default=Config.label_column, help="Column holding the class (default: %(default)s)."
    )
    parser.add_argument(
        "--svm-c", type=float, default=Config.svm_c, help="SVM regularisation C (default: %(default)s)."
    )
    parser.add_argument(
        "--svm-gamma", default=Config.svm_gamma, help='RBF gamma: "scale", "auto" or a number (default: %(default)s).'
    )
    parser.add_argument(
        "--svm-max-rows",
        type=int,
        default=Config.svm_max_rows,
        help="Training rows up to which the model is the exact RBF SVC; above them it is gradient boosting "
        "(default: %(default)s).",
    )
    parser.add_argument(
        "--boosting-learning-rate",
        type=float,
        default=Config.boosting_learning_rate,
        help="Gradient boosting's learning rate (default: %(default)s).",
    )
    parser.add_argument(
        "--boosting-max-iter",
        type=int,
        default=Config.boosting_max_iter,
        help="Gradient boosting's most rounds; early stopping ends sooner (default: %(default)s).",
    )
    parser.add_argument(
        "--seed", type=int, default=Config.seed, help="Random state of the model (default: %(default)s)."
    )
    parser.add_argument(
        "--task",
        default=Config.task,
        help="classification or regression; empty infers it from the training labels (see kfx.tasks).",
    )
    parser.add_argument(
        "--exclude-columns",
        default=Config.exclude_columns,
        help="Columns, separated by commas, that the model does not learn from (default: none).",
    )
    return parser.parse_args(argv)


def _gamma(value: str):
    if value in ("scale", "auto"):
        return value
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"--svm-gamma {value!r} is not valid; pass scale, auto or a positive number.") from None


def read_contract(environ: Mapping[str, str]) -> dict[str, str]:
    """The Vertex AI training contract from the environment.

    Raises:
        ConfigError: Naming the variables that are missing.
    """
    needed = [MODEL_DIR_VARIABLE, *(SPLIT_VARIABLES.values())]
    missing = [name for name in needed if not environ.get(name)]
    if missing:
        raise ConfigError(
            f"The trainer needs the environment variable(s) {', '.join(missing)}; "
            "set them as a Vertex AI custom training job with a managed dataset does."
        )
    return {
        "model_dir": environ[MODEL_DIR_VARIABLE],
        "format": environ.get(DATA_FORMAT_VARIABLE, "csv"),
        **{split: environ[var] for split, var in SPLIT_VARIABLES.items()},
    }


def _check_hyperparameters(args: argparse.Namespace) -> None:
    """Raises ConfigError naming the first hyper-parameter that no model can take."""
    if args.svm_max_rows < 0:
        raise ConfigError(f"--svm-max-rows is {args.svm_max_rows}; pass 0 (always gradient boosting) or a row count.")
    if args.boosting_learning_rate <= 0:
        raise ConfigError(
            f"--boosting-learning-rate is {args.boosting_learning_rate}; pass a positive number such as 0.1."
        )
    if args.boosting_max_iter < 1:
        raise ConfigError(
            f"--boosting-max-iter is {args.boosting_max_iter}; pass a positive number of rounds such as 100."
        )


def train(args: argparse.Namespace, contract: Mapping[str, str]) -> dict:
    """Fits the model on the training split and writes it with its metrics.

    The model is the SVC or gradient boosting, by the training rows (``--svm-max-rows``), a classifier
    or a regressor by the task (``--task``, else inferred from the training labels, see :mod:`kfx.tasks`);
    ``model_metadata.json`` records the task, the choice and the columns left out.

    Returns:
        The metrics written to ``metrics.json``: validation and test accuracy and macro-F1, or for a
        regression RMSE, MAE and R².
    """
    from kfx_trainer.model import (
        ESTIMATORS,
        ID_SHARE,
        REGRESSORS,
        SVC,
        boosting_validation_share,
        build_model,
        choose_estimator,
        share_cores,
        to_matrix,
    )

    _check_hyperparameters(args)
    share_cores()  # before this process first imports scikit-learn
    import joblib

    from kfx import storage, tablecheck, tasks
    from kfx.metrics import headline_metrics

    label = args.label_column
    frames = {split: read_split(contract[split], contract["format"], label) for split in SPLIT_VARIABLES}
    excluded = tasks.excluded_columns(args.exclude_columns, frames["train"].columns, label, contract["train"])
    features, categorical, left_out = select_features(frames["train"].drop(columns=excluded), label)
    source = f"the training data {contract['train']!r}"
    task = tasks.resolve_task(frames["train"][label], args.task, label, source)
    tablecheck.check_classes(frames["train"][label].value_counts(), label, source, task)
    estimator = choose_estimator(len(frames["train"]), args.svm_max_rows)
    model = build_model(
        categorical,
        estimator,
        c=args.svm_c,
        gamma=_gamma(args.svm_gamma),
        learning_rate=args.boosting_learning_rate,
        max_iter=args.boosting_max_iter,
        seed=args.seed,
        task=task,
    )
    if task == tasks.CLASSIFICATION:
        classes = count_classes(frames["train"], label)  # refuses too many before the fit
        if estimator != SVC:
            model[-1].set_params(validation_fraction=boosting_validation_share(classes, len(frames["train"])))
    # Timed from here: building the model imports scikit-learn's modules, which is no part of the fit.
    started = time.perf_counter()
    model.fit(to_matrix(frames["train"], features), frames["train"][label])
    fit_seconds = time.perf_counter() - started

    metrics: dict[str, Any] = {"fit_seconds": round(fit_seconds, 3), "train_rows": len(frames["train"])}
    for split in ("validation", "test"):
        frame = frames[split]
        predicted = model.predict(to_matrix(frame, features))
        metrics[split] = headline_metrics(task, frame[label], predicted)
        metrics[split]["rows"] = len(frame)

    buffer = io.BytesIO()
    with plain_pickling():
        joblib.dump(model, buffer)
    model_dir = contract["model_dir"].rstrip("/")
    choice = {
        "estimator": estimator,
        "class": (REGRESSORS if task == tasks.REGRESSION else ESTIMATORS)[estimator],
        "train_rows": len(frames["train"]),
        "svm_max_rows": args.svm_max_rows,
        "rule": "the exact RBF SVC up to svm_max_rows training rows, histogram gradient boosting above",
    }
    if estimator != SVC:
        choice["boosting_rounds"] = int(model[-1].n_iter_)
    metadata = {
        "label_column": label,
        "features": features,
        "categorical": [f for f, cat in zip(features, categorical, strict=True) if cat],
        "id_columns": left_out,
        "id_rule": f"text columns with distinct values in at least {ID_SHARE:.0%} of their filled cells, and "
        "whole-number columns distinct and rising in every row (row numbers), are left out",
        "task": task,
        **({"classes": [str(c) for c in model.classes_]} if task == tasks.CLASSIFICATION else {}),
        "excluded_columns": excluded,
        "model": choice,
        "hyperparameters": {
            "svm_c": args.svm_c,
            "svm_gamma": args.svm_gamma,
            "svm_max_rows": args.svm_max_rows,
            "boosting_learning_rate": args.boosting_learning_rate,
            "boosting_max_iter": args.boosting_max_iter,
            "seed": args.seed,
        },
        "framework": "scikit-learn",
        # The exact data handed over, so the pipeline evaluates on this run's own test split.
        "data_format": contract["format"],
        "data_uris": {split: contract[split] for split in SPLIT_VARIABLES},
        "contract_version": CONTRACT_VERSION,  # docs/model-contract.md
    }
    # The model file goes last: its presence marks a complete model folder.
    storage.write_text(f"{model_dir}/{METADATA_FILE}", json.dumps(metadata, indent=2))
    storage.write_text(f"{model_dir}/{METRICS_FILE}", json.dumps(metrics, indent=2))
    storage.write_bytes(f"{model_dir}/{MODEL_FILE}", buffer.getvalue())
    return metrics


@contextlib.contextmanager
def plain_pickling():
    """Pickles with Python's own rules while it lasts, even where dill is imported.

    Importing dill (Beam does, so TFDV does) adds its rules to pickle's, and joblib's pickler copies
    pickle's rules when it is imported: a model saved after that names ``dill._dill`` (for ``slice``,
    say) and does not load in Vertex AI's serving image, which has no dill. Notebooks and
    ``run_in_process`` train in the process that computed the statistics.
    """
    import pickle

    from joblib import numpy_pickle

    # dill keeps pickle's own rules for the types it took over.
    stock = getattr(sys.modules.get("dill._dill"), "pickle_dispatch_copy", {})
    picklers = (pickle._Pickler, numpy_pickle.NumpyPickler)
    saved = [p.__dict__.get("dispatch") for p in picklers]
    for pickler in picklers:
        if "dispatch" in pickler.__dict__:
            plain = {}
            for kind, save in pickler.dispatch.items():
                if not getattr(save, "__module__", "").startswith("dill"):
                    plain[kind] = save
                elif kind in stock:
                    plain[kind] = stock[kind]
            pickler.dispatch = plain
    try:
        yield
    finally:
        for pickler, dispatch in zip(picklers, saved, strict=True):
            if dispatch is not None:
                pickler.dispatch = dispatch


def main(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> dict:
    """Trains under the Vertex AI contract.

    Args:
        argv: Command-line arguments; defaults to ``sys.argv[1:]``.
        environ: The environment to read the contract from; defaults to ``os.environ``.

    Returns:
        The metrics written next to the model.
    """
    args = parse_args(argv)
    return train(args, read_contract(os.environ if environ is None else environ))


def cli() -> int:
    """Console entry: errors a user can cause print one sentence and exit non-zero."""
    try:
        metrics = main()
    except KfxError as err:
        print(f"trainer: error: {err}", file=sys.stderr)
        return err.exit_code
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
