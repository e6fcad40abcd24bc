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
        (
            "target",
            "project_id",
            "region",
            "bucket",
            "artifact_repository",
            "pipeline_container_version",
            "image",
            "training_image",
            "service_account",
        ),
        "options",
    )


def run(args: argparse.Namespace) -> int:
    from kfx.vertex.doctor import run_checks

    config = config_from_args(args)
    if config.target != "vertex":
        return _check_local()
    checks = run_checks(config)
    for check in checks:
        print(check.line())
    missing = [c.name for c in checks if not c.ok]
    print(f"{len(missing)} missing: {', '.join(missing)}." if missing else "Everything kfx can check is in place.")
    return 1 if missing else 0


def _check_local() -> int:
    """The local target's one check: the kfp installed has the kfp.local internals kfx uses (:mod:`kfx.kfp_local`)."""
    from kfx import kfp_local

    try:
        kfp_local.check()
    except kfp_local.KfpLocalMismatch as err:
        print(err)
        return 1
    written_for = f"kfp {kfp_local.KFP_VERSION}: the version kfx's local runner was written for."
    print(kfp_local.version_warning() or written_for)
    print("The local target needs no set-up beyond `make setup`; pass --target vertex to check the cloud set-up.")
    return 0
