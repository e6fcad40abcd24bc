"""``kfx compile``: write the pipeline as KFP IR YAML."""

from __future__ import annotations

import argparse

from kfx.commands.options import add_config_arguments, config_from_args
from kfx.commands.run import RUN_OPTIONS
from kfx.commands.submit import VERTEX_PIPELINE_OPTIONS

HELP = "Compile the pipeline to KFP IR YAML for the local or the vertex target."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", "-o", default="", help="YAML file to write (default: <pipeline-name>-<target>.yaml)."
    )
    add_config_arguments(parser, ("target", "image", *RUN_OPTIONS), "pipeline options")
    # enable_caching means the same on both targets: it is a pipeline option here.
    vertex_only = tuple(name for name in VERTEX_PIPELINE_OPTIONS if name not in RUN_OPTIONS)
    add_config_arguments(parser, (*vertex_only, "pipeline"), "vertex options (--target vertex)")


def run(args: argparse.Namespace) -> int:
    from kfx.pipelines import compile_pipeline

    config = config_from_args(args)
    name = config.resolved_pipeline_name
    if config.target == "vertex":
        from kfx.vertex.submit import display_name

        name = display_name(config)  # the predict pipeline's YAML does not overwrite the train pipeline's
    path = args.output or f"{name}-{config.target}.yaml"
    compile_pipeline(config, path)
    print(path)
    return 0
