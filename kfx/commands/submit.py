"""``kfx submit``: compile the pipeline for Vertex AI and submit it as a PipelineJob."""

from __future__ import annotations

import argparse

from kfx.commands.options import add_config_arguments, config_from_args

HELP = (
    "Compile the pipeline (train, or predict: batch prediction) for Vertex AI Pipelines, submit it, "
    "and print the job's console link."
)

# Options that shape the compiled vertex pipeline (kfx compile --target vertex takes them too).
VERTEX_PIPELINE_OPTIONS = (
    "project_id",
    "region",
    "bucket",
    "bq_source",
    "bq_dest",
    "recipients",
    "service_account",
    "network",
    "subnetwork",
    "peering_network",
    "beam_runner",
    "training_image",
    "trainer_args",
    "serving_image",
    "machine_type",
    "retries",
    "enable_caching",
    "artifact_repository",
    "pipeline_container_version",
)
# Options of the submission itself.
SUBMIT_OPTIONS = ("pipeline", "pipeline_root", "job_id", "build_pipeline_container")
# The pipeline's own options that mean the same on Vertex AI as locally.
PIPELINE_OPTIONS = (
    "pipeline_name",
    "label_column",
    "train_fraction",
    "validation_fraction",
    "test_fraction",
    "seed",
    "task",
    "exclude_columns",
    "schema_file",
    "skew_threshold",
    "fail_on_anomalies",
    "svm_c",
    "svm_gamma",
    "svm_max_rows",
    "boosting_learning_rate",
    "boosting_max_iter",
    "metric",
    "min_accuracy",
    "min_r2",
    "model_name",
    "accuracy_tolerance",
    "drift_threshold",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, (*VERTEX_PIPELINE_OPTIONS, *SUBMIT_OPTIONS, "experiment", "image"), "vertex options")
    add_config_arguments(parser, PIPELINE_OPTIONS, "pipeline options")
    parser.add_argument(
        "--output", "-o", default="", help="Also keep the compiled YAML here (default: a temporary file)."
    )
    parser.add_argument("--wait", action="store_true", help="Wait for the job to finish and fail when it fails.")


def run(args: argparse.Namespace) -> int:
    from kfx.vertex.submit import console_url, submit

    config = config_from_args(args).replace(target="vertex")
    job = submit(config, package_path=args.output or None, wait=args.wait)
    print(console_url(job))
    return 0
