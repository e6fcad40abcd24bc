"""The ``kfx`` command line: ``kfx run`` runs the beans pipeline locally, and more.

Each command lives in ``kfx/commands/<name>.py`` with ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; those modules import only the standard library and
``kfx.config`` at the top, so ``kfx --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Optional

from kfx import __version__

COMMANDS = {
    "run": "kfx.commands.run",
    "predict": "kfx.commands.predict",
    "compile": "kfx.commands.compile",
    "lineage": "kfx.commands.lineage",
    "submit": "kfx.commands.submit",
    "schedule": "kfx.commands.schedule",
    "build": "kfx.commands.build",
    "doctor": "kfx.commands.doctor",
    "notebooks": "kfx.commands.notebooks",
    "docs": "kfx.commands.docs",
}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every command included."""
    parser = argparse.ArgumentParser(
        prog="kfx",
        description="Reusable Kubeflow Pipelines components for Vertex AI, and the beans pipeline built from them.",
    )
    parser.add_argument("--version", action="version", version=f"kfx {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs a kfx command; errors a user can cause print one sentence and exit non-zero."""
    from kfx.errors import KfxError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return args._run(args)
    except KfxError as err:
        print(f"kfx: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as stop:
        print(f"kfx: interrupted: {stop}" if str(stop) else "kfx: interrupted", file=sys.stderr)
        return getattr(stop, "exit_code", 130)


if __name__ == "__main__":
    sys.exit(main())
