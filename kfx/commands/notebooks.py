"""``kfx notebooks``: run the course notebooks with papermill, in order, into an output folder."""

from __future__ import annotations

import argparse
import os
import sys

HELP = "Run the numbered course notebooks with papermill, in order; stop at the first error."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kfx.course.notebooks import EXECUTED_DIR

    parser.add_argument(
        "--folder", default="", help="Folder of the NN_topic.ipynb notebooks (default: the repository's notebooks/)."
    )
    parser.add_argument(
        "--output-dir", "-o", default=EXECUTED_DIR, help=f"Folder for the executed notebooks (default: {EXECUTED_DIR})."
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="Run only notebooks whose name starts with PREFIX (repeatable), e.g. --only 03.",
    )
    parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="Set a parameter of every notebook that declares it, e.g. -p sample_rows 0 -p target vertex.",
    )
    parser.add_argument(
        "--write-setup-cell",
        action="store_true",
        help=(
            "Instead of running them, make each notebook's cell 1 (after the title) "
            "the text of kfx/course/setup_cell.py."
        ),
    )
    parser.add_argument("--kernel", default="", help="Jupyter kernel spec to run in (default: python3, this Python).")


def run(args: argparse.Namespace) -> int:
    from kfx.course import notebooks

    paths = notebooks.course_notebooks(args.folder or notebooks.default_folder(), args.only)
    if args.write_setup_cell:
        changed = notebooks.write_setup_cell(paths)
        print(
            f"The setup cell of {len(paths)} notebooks matches {notebooks.SETUP_CELL}; rewrote {len(changed)}:"
            f" {', '.join(os.path.basename(p) for p in changed) or 'none'}"
        )
        return 0
    parameters = {name: notebooks.parse_value(value) for name, value in args.parameter}
    runs = notebooks.run_notebooks(paths, args.output_dir, parameters, args.kernel or notebooks.KERNEL, out=sys.stdout)
    total = sum(r.seconds for r in runs)
    print(f"{len(runs)} notebooks ran in {total:.1f} s; executed copies in {args.output_dir}")
    return 0
