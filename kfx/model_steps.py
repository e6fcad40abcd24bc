"""The steps of the pipeline from training on (train, the serving check, evaluate, push) as plain
functions over paths and values; the data steps before them are in :mod:`kfx.data_steps`.

Like those, each returns a small dict of plain values, takes no defaults (they live in
:class:`~kfx.config.Config`), and raises a ``KfxError`` for an error the user caused.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, Optional

from kfx.contract import BUNDLED_TRAINER


def train(
    train_path: str,
    validation_path: str,
    test_path: str,
    model_dir: str,
    task: str = "",
    exclude_columns: str = "",
    **hyperparameters: Any,
) -> dict[str, Any]:
    """Runs the bundled trainer exactly as a Vertex AI custom training job would: AIP_* variables and ``main``.

    Args:
        task: The trainer's ``--task`` (empty: it infers the task from the training labels).
        exclude_columns: The trainer's ``--exclude-columns``.
        hyperparameters: One value for each of :data:`kfx.contract.TRAINER_PARAMETERS`.

    Returns:
        See :func:`run_trainer`.
    """
    return run_trainer(
        train_path,
        validation_path,
        test_path,
        model_dir,
        BUNDLED_TRAINER,
        (),
        task=task,
        exclude_columns=exclude_columns,
        **hyperparameters,
    )


def run_trainer(
    train_path: str,
    validation_path: str,
    test_path: str,
    model_dir: str,
    trainer_module: str,
    trainer_args: Sequence[str],
    task: str = "",
    exclude_columns: str = "",
    **hyperparameters: Any,
) -> dict[str, Any]:
    """Runs a trainer exactly as a Vertex AI custom training job would: AIP_* variables and its arguments.

    The bundled trainer (:data:`kfx.contract.BUNDLED_TRAINER`) runs in this process with its own
    options; a team's module runs as ``python -m MODULE --label-column LABEL [--KEY VALUE ...]``
    in a process of its own, found from the current folder and ``PYTHONPATH``, and its model
    folder is then held to the model contract.

    Args:
        trainer_module: The trainer's module (``PACKAGE.MODULE``).
        trainer_args: ``KEY=VALUE`` options handed on as ``--KEY VALUE`` (:func:`kfx.contract.extra_args`).
        task: The bundled trainer's ``--task`` (empty: it infers the task from the training labels).
        exclude_columns: The bundled trainer's ``--exclude-columns``.
        hyperparameters: For the bundled trainer one value for each of :data:`kfx.contract.TRAINER_PARAMETERS`;
            a team's trainer gets only ``label_column``.

    Returns:
        The trainer's metrics (validation and test accuracy, and for the bundled trainer macro-F1 and
        fit time), with ``model`` (the estimator and, for the bundled trainer, why) and ``id_columns``
        (the columns the trainer left out) from the model's metadata.

    Raises:
        TrainerError: If a team's module cannot be found, fails, or writes no model.
        SourceError: If its model folder breaks the model contract (:func:`kfx.contract.check_model_dir`).
    """
    import json

    from kfx import contract, storage

    environ = {
        **os.environ,
        contract.MODEL_DIR_VARIABLE: model_dir,
        contract.DATA_FORMAT_VARIABLE: "csv",
        **dict(zip(contract.SPLIT_VARIABLES.values(), (train_path, validation_path, test_path), strict=True)),
    }
    extra = contract.extra_args(trainer_args)
    if contract.check_trainer_module(trainer_module) == BUNDLED_TRAINER:
        from kfx_trainer import task as bundled

        options = contract.trainer_args(**hyperparameters) + ["--task", task, "--exclude-columns", exclude_columns]
        metrics = bundled.main(options + extra, environ=environ)
        metadata = json.loads(storage.read_text(f"{model_dir.rstrip('/')}/{contract.METADATA_FILE}"))
        return {**metrics, "model": metadata["model"], "id_columns": metadata["id_columns"], "task": metadata["task"]}
    from kfx import team_trainer

    label = ["--label-column", str(hyperparameters["label_column"])] if "label_column" in hyperparameters else []
    team_trainer.run(trainer_module, label + extra, environ)
    return team_trainer.result(trainer_module, model_dir)


def evaluate(
    model_dir: str,
    test_path: str,
    html_path: str,
    min_accuracy: float,
    champion: Optional[dict[str, Any]],
    accuracy_tolerance: float,
    serving_ok: bool,
    numbers_path: str = "",
    metric: str = "",
    min_r2: float = 0.0,
) -> dict[str, Any]:
    """Scores the model, and the champion when there is one (None: no champion), on the test split,
    writes the evaluation page and decides the blessing.

    Args:
        numbers_path: Where to write the whole result as JSON (every class's figures and the full
            confusion matrix, which the page shows only in part for many classes); empty writes none.
        metric: The metric that decides the blessing; empty: the task's default (:mod:`kfx.tasks`).
        min_r2: A regression's threshold (``min_accuracy`` is a classification's).

    Returns:
        See :func:`kfx.evaluation.evaluate_model`.
    """
    import json

    from kfx import evaluation, evaluation_page, storage

    result = evaluation.evaluate_model(
        model_dir, test_path, min_accuracy, champion, accuracy_tolerance, serving_ok, metric=metric, min_r2=min_r2
    )
    if numbers_path:
        storage.write_text(numbers_path, json.dumps(result))
    storage.write_text(html_path, evaluation_page.evaluation_html(result, numbers=numbers_path))
    return result


def push_model(
    model_dir: str,
    registry_dir: str,
    model_name: str,
    evaluation_result: dict[str, Any],
    schema_path: str = "",
    statistics_dir: str = "",
    champion: Optional[dict[str, Any]] = None,
    test_path: str = "",
) -> dict[str, Any]:
    """Pushes a blessed model, with its schema and training statistics, into the local registry, or records why not.

    ``champion`` is the version the model was evaluated against and ``test_path`` the test split: a version
    pushed since then must not beat the model on it.

    Returns:
        See :func:`kfx.registry.push_model`.
    """
    from kfx import contract, registry

    contract.check_model_dir(model_dir)  # one sentence for a folder that breaks the contract
    return registry.push_model(
        model_dir,
        registry_dir,
        model_name,
        evaluation_result,
        schema_path or None,
        statistics_dir or None,
        champion,
        test_path,
    )


def prepare_serving_check(model_dir: str, test_path: str, request_path: str, expected_path: str) -> dict[str, Any]:
    """Writes a Vertex AI prediction request of the test rows and the predictions the model makes here.

    The request holds the model's features in its order (``model_metadata.json``), at most
    :data:`kfx.serving.REQUEST_ROWS` rows, each value as JSON carries it (a missing one as null).

    Returns:
        ``rows`` (in the request), ``test_rows`` and ``features`` (count).
    """
    import json

    from kfx import evaluation, serving, storage
    from kfx.model_inputs import read_split, share_cores, to_matrix

    share_cores()
    model, metadata = evaluation.load_model(model_dir)
    frame = read_split(test_path, "csv")
    matrix = to_matrix(frame.iloc[: serving.REQUEST_ROWS], metadata["features"])
    expected = [serving.json_value(p) for p in model.predict(matrix).tolist()]
    storage.write_text(request_path, json.dumps(serving.request_body(matrix)))
    storage.write_text(expected_path, json.dumps(expected))
    return {"rows": len(matrix), "test_rows": len(frame), "features": len(metadata["features"])}


def check_serving(
    model_dir: str, test_path: str, request_path: str, result_path: str, serving_env: str
) -> dict[str, Any]:
    """Checks that the model loads and predicts the same where only the serving image's packages are.

    Writes the request (see :func:`prepare_serving_check`), runs :mod:`kfx.serving_check` in the
    serving-only environment (made first when missing, see :func:`kfx.serving.ensure_env`) and
    writes its result, with the environment's folder and the test rows, to ``result_path``.

    Args:
        serving_env: Folder of the serving-only environment; empty means Config's default.

    Returns:
        The result: ``ok``, ``reason``, ``rows``, ``agreed``, ``mismatches``, ``sklearn_version``,
        ``python_version``, ``test_rows`` and ``serving_env``.

    Raises:
        ServingError: If the environment cannot be made or the check cannot run in it.
    """
    import json
    import tempfile

    from kfx import contract, serving, storage
    from kfx.config import Config

    contract.check_model_dir(model_dir)  # before the serving environment is made for it
    folder = os.path.abspath(Config(serving_env=serving_env).resolved_serving_env)
    if not serving.is_ready(folder):
        print(
            f"Making the serving environment {folder} (once; pip installs {len(serving.pins())} packages) ...",
            flush=True,
        )
    python = serving.ensure_env(folder)
    os.makedirs(os.path.dirname(os.path.abspath(result_path)), exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        expected_path = os.path.join(scratch, "expected.json")
        prepared = prepare_serving_check(model_dir, test_path, request_path, expected_path)
        result = serving.run_check(python, model_dir, request_path, expected_path, result_path)
    result.update(test_rows=prepared["test_rows"], serving_env=folder)
    storage.write_text(result_path, json.dumps(result, indent=2))
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit("Use `kfx run`; kfx.model_steps holds the functions the pipeline's components call.")
