"""The course as static HTML pages: the executed notebooks rendered with nbconvert, and an index.

``make notebooks`` runs the course into ``notebooks/out``; this module renders those
executed copies (it never runs a notebook) into ``docs/course``: one page per
notebook, linked previous / index / next, an ``index.html`` in course order, and
one shared ``style.css`` (:mod:`kfx.course.layout`), from the checked executed
copies (:mod:`kfx.course.pages`) made offline (:mod:`kfx.course.offline`). The
pages work from disk with no server and no network: pictures are data URIs, no
page loads a script, a stylesheet or a picture from elsewhere, and an output that
needs the internet (TFDV's Facets view) is replaced by a short note. The pages are
built in a temporary folder and swapped in whole, so a refused build leaves the
previous pages as they were. nbconvert is imported inside the functions, so
``kfx --help`` does not load it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import Any

from kfx.course import layout, notebooks
from kfx.course.layout import INDEX, STYLESHEET, index_html, nav_html, stylesheet
from kfx.course.offline import REMOTE_CSS, REMOTE_LOAD, loads_remotely, make_offline
from kfx.course.pages import DocsError, Page, course_pages


def render_page(exporter: Any, nb: Any, page: Page, nav: str, source_folder: str) -> tuple[str, dict]:
    """One notebook's page (HTML) and nbconvert's resources (which hold the code-highlighting CSS).

    Raises:
        DocsError: If the page would still load something from the network (a Markdown picture at a URL).
    """
    resources = {
        "metadata": {"name": page.name, "path": source_folder},
        "kfx_title": f"{page.label} · the kfx course",
        "kfx_nav": nav,
        "kfx_stylesheet": STYLESHEET,
        "kfx_source": source_digest(page.source),
    }
    body, resources = exporter.from_notebook_node(nb, resources=resources)
    if loads_remotely(body):
        match = REMOTE_LOAD.search(body) or REMOTE_CSS.search(body)
        found = match.group(0) if match else body
        raise DocsError(
            f"{page.name}.ipynb loads something from the network ({found[:80]}...); the pages must work offline: "
            f"put the picture in the repository and link it by relative path."
        )
    return body, resources


def source_digest(path: str) -> str:
    """``sha256:<hex>`` of a notebook as written: the page built from it carries it (``<meta name="kfx-source">``)."""
    import hashlib

    with open(path, "rb") as file:
        return "sha256:" + hashlib.sha256(file.read()).hexdigest()


# nbconvert writes the page's attributes in its own order (content before name).
SOURCE_META = re.compile(r'<meta\b(?=[^>]*\bname="kfx-source")[^>]*\bcontent="([^"]*)"')


def built_from(page: str) -> str:
    """The ``source_digest`` a built page names, or "" when it names none (or is missing)."""
    if not os.path.isfile(page):
        return ""
    with open(page, encoding="utf-8") as file:
        found = SOURCE_META.search(file.read(8192))
    return found.group(1) if found else ""


def stale_pages(folder: str, output_dir: str) -> list[str]:
    """The course notebooks whose page in ``output_dir`` is missing or was built from another text of them.

    The committed pages are what a reader sees without running anything, so a notebook
    changed without ``make notebooks docs`` leaves its page stale.
    """
    stale = []
    for source in notebooks.course_notebooks(folder):
        page = os.path.join(output_dir, os.path.basename(source)[: -len(".ipynb")] + ".html")
        if built_from(page) != source_digest(source):
            stale.append(os.path.basename(source))
    return stale


def build_docs(folder: str, executed_dir: str, output_dir: str) -> list[Page]:
    """Renders the executed course notebooks into static pages, then swaps them in whole.

    Args:
        folder: The course notebooks as written (``notebooks/``): their list and order, and the
            folder that Markdown pictures are relative to.
        executed_dir: The executed copies (``notebooks/out``), rendered as they are.
        output_dir: The pages' folder (``docs/course``); replaced only when every page is made.

    Returns:
        The pages, in course order.

    Raises:
        DocsError: If an executed copy is missing, older than its notebook, shows an error, or a
            page would load from the network; ``output_dir`` is then left as it was.
    """
    pages_nbs = course_pages(folder, executed_dir)
    pages = [p for p, _ in pages_nbs]
    root = os.path.dirname(os.path.abspath(folder))
    exporter = layout.exporter()
    output_dir = os.path.abspath(output_dir)
    parent = os.path.dirname(output_dir)
    os.makedirs(parent, exist_ok=True)
    building = tempfile.mkdtemp(prefix="." + os.path.basename(output_dir) + "-", dir=parent)
    try:
        css_resources: dict = {}
        for index, (page, nb) in enumerate(pages_nbs):
            body, resources = render_page(
                exporter, make_offline(nb, root), page, nav_html(pages, index), os.path.abspath(folder)
            )
            css_resources = css_resources or resources
            with open(os.path.join(building, page.filename), "w", encoding="utf-8") as f:
                f.write(body)
        with open(os.path.join(building, INDEX), "w", encoding="utf-8") as f:
            f.write(index_html(pages))
        with open(os.path.join(building, STYLESHEET), "w", encoding="utf-8") as f:
            f.write(stylesheet(exporter, css_resources))
        os.chmod(building, 0o755)
        _swap(building, output_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return pages


def _swap(built: str, output_dir: str) -> None:
    """Puts the folder ``built`` in the place of ``output_dir`` (two renames; the old one is removed after)."""
    old = None
    if os.path.exists(output_dir):
        old = built + "-old"
        os.rename(output_dir, old)
    os.rename(built, output_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def folder_size(folder: str) -> int:
    """Bytes of the files directly in ``folder``."""
    return sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
