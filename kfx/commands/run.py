"""``kfx run``: run the beans pipeline, or any KFP pipeline (``--pipeline``), on this machine through kfp.local."""

from __future__ import annotations

import argparse
import sys

from kfx.commands.options import add_config_arguments, config_from_args

HELP = "Run the pipeline locally through KFP's local executor (no cloud account, no Docker)."

RUN_OPTIONS = (
    "source",
    "label_column",
    "train_fraction",
    "validation_fraction",
    "test_fraction",
    "seed",
    "sample_rows",
    "task",
    "exclude_columns",
    "stats_engine",
    "schema_file",
    "skew_threshold",
    "fail_on_anomalies",
    "svm_c",
    "svm_gamma",
    "svm_max_rows",
    "boosting_learning_rate",
    "boosting_max_iter",
    "trainer_module",
    "trainer_args",
    "metric",
    "min_accuracy",
    "min_r2",
    "accuracy_tolerance",
    "drift_threshold",
    "serving_env",
    "runs_dir",
    "registry_dir",
    "model_name",
    "pipeline_name",
    "record_lineage",
    "metadata_path",
    "enable_caching",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, RUN_OPTIONS, "pipeline options")
    parser.add_argument(
        "--pipeline",
        dest="pipeline_file",
        default="",
        metavar="FILE.py:FUNCTION",
        help="Run this KFP pipeline instead of beans, with kfx's caching, clean stops, lineage and summary: a Python "
        "file and its @dsl.pipeline function, or a compiled .yaml. The options above that name one of its "
        "parameters (--source…) and each --param are its arguments.",
    )
    parser.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="An argument of the --pipeline pipeline, typed as it declares (repeatable).",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="Also stream kfp's own log (it always goes to pipeline.log)."
    )
    parser.add_argument("--json", action="store_true", help="Print the summary as JSON instead of text.")


def run(args: argparse.Namespace) -> int:
    from kfx import registry
    from kfx.kfp_import import import_kfp_lean
    from kfx.local import run_local

    import_kfp_lean()  # a local run never talks to a cluster: kfp without its client starts faster

    config = config_from_args(args)
    if args.pipeline_file or args.params:
        from kfx.errors import ConfigError
        from kfx.pipelines.loading import load_pipeline, pipeline_arguments

        if not args.pipeline_file:
            raise ConfigError(
                "--param sets an argument of a --pipeline pipeline; pass --pipeline FILE.py:FUNCTION too."
            )
        pipeline = load_pipeline(args.pipeline_file)
        arguments = pipeline_arguments(pipeline, vars(args), args.params)
        config = config.replace(pipeline_name=config.pipeline_name or pipeline.name)
        return finish(
            lambda: run_local(config, out=sys.stdout, verbose=args.verbose, pipeline=pipeline, arguments=arguments),
            args.json,
        )
    registry.check_champion(config.resolved_registry_dir, config.resolved_model_name)  # before any run folder
    arguments = trainer_arguments(config)
    return finish(lambda: run_local(config, out=sys.stdout, verbose=args.verbose, arguments=arguments), args.json)


def trainer_arguments(config) -> dict:
    """Checks ``--trainer`` and ``--trainer-arg`` before anything runs, and returns the digest of a team
    trainer's source as the pipeline's ``trainer_code`` (empty for the bundled trainer).

    Raises:
        ConfigError: For a module name ``python -m`` cannot take, or an option that is not KEY=VALUE.
        TrainerError: If the module's package is not found from the current folder or PYTHONPATH.
    """
    from kfx import contract

    contract.extra_args(config.trainer_args)
    if contract.check_trainer_module(config.trainer_module) == contract.BUNDLED_TRAINER:
        return {}
    from kfx.team_trainer import code_digest

    return {"trainer_code": code_digest(config.trainer_module)}


def finish(start, as_json: bool) -> int:
    """Runs ``start`` (a local pipeline run), prints its summary (as JSON with ``as_json``) and returns the exit code;
    shared by ``kfx run`` and ``kfx predict``."""
    import contextlib
    import json

    from kfx.stops import Interrupted
    from kfx.summary import format_summary

    try:
        result = start()
    except Interrupted as stop:
        # Ctrl-C, SIGTERM or SIGHUP: the run is cleaned up and recorded; say so once, exit as the signal would.
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
            if stop.result is not None:
                summary = stop.result.summary
                print(json.dumps(summary, indent=2, default=str) if as_json else format_summary(summary), flush=True)
            print(f"kfx: interrupted: {stop}", file=sys.stderr, flush=True)
        return stop.exit_code
    print(json.dumps(result.summary, indent=2, default=str) if as_json else format_summary(result.summary))
    error = result.error()
    if error is not None:
        print(f"kfx: error: {error}", file=sys.stderr)
        return error.exit_code
    return 0
