"""``kfx lineage``: the runs, what a model was made from, and what changed between two runs."""

from __future__ import annotations

import argparse

from kfx.commands.options import add_config_arguments, config_from_args

HELP = "Ask the lineage store: the runs, what a model or artifact was made from, what changed between runs."

STORE_OPTIONS = ("runs_dir", "metadata_path", "target", "project_id", "region")


def _store_options(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, STORE_OPTIONS, "where the lineage is")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of text.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="lineage_command", metavar="QUESTION", required=True)
    runs = sub.add_parser(
        "runs",
        help="The runs, newest first, with status and key metric.",
        description="The runs, newest first, with status, time and test accuracy.",
    )
    runs.add_argument(
        "--limit", type=int, default=20, metavar="N", help="Show at most N runs (0 for all). Defaults to 20."
    )
    _store_options(runs)
    show = sub.add_parser(
        "show",
        help="Everything upstream of a model or artifact.",
        description="What a model or artifact was made from: source, splits, statistics, schema, anomalies, "
        "the trainer's parameters.",
    )
    show.add_argument(
        "ref",
        metavar="MODEL_OR_ARTIFACT",
        help="A run id (its model), 'latest', an artifact id, RUN/STEP/OUTPUT, or an artifact URI.",
    )
    _store_options(show)
    diff = sub.add_parser(
        "diff",
        help="What changed between two runs: parameters, data counts, metrics.",
        description="What changed from RUN_A to RUN_B: parameters, data counts, metrics.",
    )
    diff.add_argument("run_a", metavar="RUN_A", help="The first run id.")
    diff.add_argument("run_b", metavar="RUN_B", help="The second run id.")
    _store_options(diff)
    graph = sub.add_parser(
        "graph",
        help="Draw a run's lineage graph (PNG or SVG).",
        description="Draw a run's lineage graph: artifacts and executions as nodes.",
    )
    graph.add_argument("run_id", metavar="RUN", help="The run id.")
    graph.add_argument(
        "-o",
        "--output",
        default="",
        metavar="PATH",
        help="Picture file, .png (an .svg is written beside it) or .svg. Defaults to lineage.png.",
    )
    _store_options(graph)


def run(args: argparse.Namespace) -> int:
    import json

    from kfx import lineage
    from kfx.lineage.text import format_diff, format_runs, format_upstream

    config = config_from_args(args)
    store = lineage.open_lineage(config)
    command = args.lineage_command
    if command == "runs":
        found = store.runs(args.limit or None)
        if args.json:
            print(json.dumps([r.__dict__ for r in found], indent=2, default=str))
        else:
            print(format_runs(found))
    elif command == "show":
        up = store.show(args.ref)
        print(json.dumps(up.to_dict(), indent=2, default=str) if args.json else format_upstream(up))
    elif command == "diff":
        d = store.diff(args.run_a, args.run_b)
        print(json.dumps(d.to_dict(), indent=2, default=str) if args.json else format_diff(d))
    else:
        import os

        written = store.draw(args.run_id, args.output or os.path.abspath("lineage.png"))
        print(json.dumps(written) if args.json else "\n".join(written))
    return 0
