"""``kfx build``: build and push the kfx base image and the trainer image to Artifact Registry."""

from __future__ import annotations

import argparse

from kfx.commands.options import add_config_arguments, config_from_args

HELP = "Build and push the kfx and trainer images to Artifact Registry (Cloud Build, or local docker)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(
        parser,
        (
            "project_id",
            "region",
            "bucket",
            "artifact_repository",
            "pipeline_container_version",
            "image",
            "training_image",
        ),
        "image options",
    )
    parser.add_argument(
        "--local-docker",
        action="store_true",
        help="Build and push with the docker CLI on this machine instead of Cloud Build.",
    )


def run(args: argparse.Namespace) -> int:
    from kfx.vertex.build import build_images

    config = config_from_args(args).replace(target="vertex")
    for uri in build_images(config, local_docker=args.local_docker):
        print(uri)
    return 0
