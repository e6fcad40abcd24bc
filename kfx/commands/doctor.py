"""``kfx doctor``: check the set-up of a target and name what is missing."""

from __future__ import annotations

import argparse

from kfx.commands.options import add_config_arguments, config_from_args

HELP = (
    "Check the set-up of the vertex target (credentials, project, APIs, bucket, images, BigQuery read sessions) "
    "and name what is missing."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(
        parser,
        ("target", "project_id", "region", "bucket", "artifact_repository", "pipeline_container_version",
         "image", "training_image", "service_account"),
        "options",
    )


def run(args: argparse.Namespace) -> int:
    from kfx.vertex.doctor import run_checks

    config = config_from_args(args)
    if config.target != "vertex":
        print("The local target needs no set-up beyond `make setup`; pass --target vertex to check the cloud set-up.")
        return 0
    checks = run_checks(config)
    for check in checks:
        print(check.line())
    missing = [c.name for c in checks if not c.ok]
    print(f"{len(missing)} missing: {', '.join(missing)}." if missing else "Everything kfx can check is in place.")
    return 1 if missing else 0
