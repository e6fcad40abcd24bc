"""``kfx schedule``: compile the pipeline for Vertex AI and run it on a cron schedule."""

from __future__ import annotations

import argparse

from kfx.commands.options import add_config_arguments, config_from_args
from kfx.commands.submit import PIPELINE_OPTIONS, SUBMIT_OPTIONS, VERTEX_PIPELINE_OPTIONS

HELP = "Compile the pipeline (train or predict) for Vertex AI Pipelines and create a schedule that runs it by cron."

SCHEDULE_OPTIONS = ("cron", "max_concurrent_runs", "max_runs", "start_time", "end_time")
# A schedule's runs are created by Vertex AI, each with its own id.
_NOT_FOR_SCHEDULES = ("job_id",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, SCHEDULE_OPTIONS, "schedule options")
    vertex = tuple(name for name in (*VERTEX_PIPELINE_OPTIONS, *SUBMIT_OPTIONS) if name not in _NOT_FOR_SCHEDULES)
    add_config_arguments(parser, (*vertex, "image"), "vertex options")
    add_config_arguments(parser, PIPELINE_OPTIONS, "pipeline options")
    parser.add_argument(
        "--output", "-o", default="", help="Also keep the compiled YAML here (default: a temporary file)."
    )


def run(args: argparse.Namespace) -> int:
    from kfx.vertex.schedule import create_schedule, parse_cron, schedule_console_url

    config = config_from_args(args).replace(target="vertex")
    schedule = create_schedule(config, package_path=args.output or None)  # checks the cron first
    cron = parse_cron(config.cron)
    print(f"schedule {schedule.resource_name} ({schedule.display_name}): {cron.expression}")
    print("next runs " + ", ".join(t.strftime("%Y-%m-%d %H:%M %Z") for t in cron.next_runs(3)))
    print(schedule_console_url(schedule))
    return 0
