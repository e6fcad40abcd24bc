"""``kfx predict``: score a table with a registry model on this machine, through kfp.local like ``kfx run``."""

from __future__ import annotations

import argparse
import sys

from kfx.commands.options import add_config_arguments, config_from_args
from kfx.config import Config

HELP = "Score a table with a model of the local registry (batch prediction through KFP's local executor)."

PREDICT_OPTIONS = (
    "source",
    "drift_threshold",
    "fail_on_anomalies",
    "runs_dir",
    "registry_dir",
    "record_lineage",
    "metadata_path",
    "enable_caching",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        metavar="NAME[@VERSION]",
        help="The registry model: NAME (its newest version), NAME@3 or NAME@latest.",
    )
    parser.add_argument(
        "--output",
        default="",
        metavar="PATH",
        help="Also copy the predictions CSV to PATH (it is always in the run folder).",
    )
    parser.add_argument("--force", action="store_true", help="Replace --output when it exists.")
    add_config_arguments(
        parser,
        PREDICT_OPTIONS,
        "prediction options",
        helps={
            "source": "Table to score: a local .csv/.parquet path, gs://… or bq://project.dataset.table; the label "
            "column may be absent.",
            "drift_threshold": "Jensen-Shannon divergence (numeric) / L-infinity distance (categorical) between the "
            f"table and the model version's training statistics above which a feature has drifted. "
            f"Defaults to {Config.drift_threshold}.",
            "fail_on_anomalies": "Stop before predicting when TFDV reports anomalies or drift. Defaults to True.",
        },
    )
    parser.add_argument(
        "--verbose", action="store_true", help="Also stream kfp's own log (it always goes to pipeline.log)."
    )
    parser.add_argument("--json", action="store_true", help="Print the summary as JSON instead of text.")


def run(args: argparse.Namespace) -> int:
    from kfx.batch_prediction import run_predict
    from kfx.commands.run import finish

    config = config_from_args(args)
    return finish(
        lambda: run_predict(
            config, args.model, output=args.output, force=args.force, out=sys.stdout, verbose=args.verbose
        ),
        args.json,
    )
