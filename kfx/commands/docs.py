"""``kfx docs``: the executed course notebooks as static HTML pages with an index (it runs no notebook)."""

from __future__ import annotations

import argparse
import time

HELP = "Render the executed course notebooks (make notebooks) as static HTML pages with an index."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kfx.course.notebooks import EXECUTED_DIR

    parser.add_argument(
        "--folder", default="", help="Folder of the NN_topic.ipynb notebooks (default: the repository's notebooks/)."
    )
    parser.add_argument(
        "--executed-dir",
        default=EXECUTED_DIR,
        help=f"Folder of the executed copies that `kfx notebooks` wrote (default: {EXECUTED_DIR}).",
    )
    parser.add_argument(
        "--output-dir",
        "-o",
        default="docs/course",
        help="Folder for the pages; replaced whole, only when every page is made (default: docs/course).",
    )


def run(args: argparse.Namespace) -> int:
    import os

    from kfx.course import docs, notebooks

    started = time.time()
    pages = docs.build_docs(args.folder or notebooks.default_folder(), args.executed_dir, args.output_dir)
    for page in pages:
        size = os.path.getsize(os.path.join(args.output_dir, page.filename))
        print(
            f"  {page.filename:<34} {size / 1000:>6.0f} KB  {page.images} "
            f"picture{'' if page.images == 1 else 's'}  {page.label}"
        )
    size = docs.folder_size(args.output_dir)
    print(
        f"{len(pages)} pages in {args.output_dir} ({size / 1e6:.1f} MB with the stylesheet) in "
        f"{time.time() - started:.1f} s; "
        f"open {os.path.join(args.output_dir, docs.INDEX)}"
    )
    return 0
