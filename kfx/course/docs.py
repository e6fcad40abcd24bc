"""The course as static HTML pages: the executed notebooks rendered with nbconvert, and an index.

``make notebooks`` runs the course into ``notebooks/out``; this module renders those
executed copies (it never runs a notebook) into ``docs/course``: one page per
notebook, linked previous / index / next, an ``index.html`` in course order, and
one shared ``style.css``. The pages work from disk with no server and no network:
pictures are data URIs, no page loads a script, a stylesheet or a picture from
elsewhere, and an output that needs the internet (TFDV's Facets view) is replaced
by a short note. The pages are built in a temporary folder and swapped in whole,
so a refused build leaves the previous pages as they were. nbconvert is imported
inside the functions, so ``kfx --help`` does not load it.
"""

from __future__ import annotations

import functools
import html
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from kfx.course import notebooks
from kfx.errors import ConfigError

STYLESHEET = "style.css"
INDEX = "index.html"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")

# A tag that makes the browser fetch something from another host (links <a href> are not fetched).
REMOTE_LOAD = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*[\"']?(?:https?:)?//",
    re.IGNORECASE,
)
REMOTE_CSS = re.compile(r"(?:@import\s+[\"']?|url\(\s*[\"']?)(?:https?:)?//", re.IGNORECASE)

OFFLINE_NOTE = (
    '<p class="kfx-offline-note">This output is an interactive view that loads its code from the internet '
    "({what}); these offline pages leave it out.{after}</p>"
)
FACETS_AFTER = " The pictures that follow show the same statistics."


class DocsError(ConfigError):
    """The executed notebooks cannot be rendered as they are (missing, stale, failed, or loading from the network)."""


@dataclass
class Page:
    """One notebook of the course, as a page.

    Attributes:
        number: The notebook's number, e.g. ``03``.
        name: The notebook's file name without ``.ipynb``, e.g. ``03_data_validation``.
        title: Its first ``# `` heading without the number, e.g. ``Data validation with TFDV``.
        sections: Its numbered ``## `` headings without their numbers: what it teaches.
        source: Path of the notebook as written.
        executed: Path of the executed copy that is rendered.
        images: How many outputs of the executed copy show as a picture.
    """

    number: str
    name: str
    title: str
    sections: list[str] = field(default_factory=list)
    source: str = ""
    executed: str = ""
    images: int = 0

    @property
    def filename(self) -> str:
        """The page's file name, e.g. ``03_data_validation.html``."""
        return self.name + ".html"

    @property
    def label(self) -> str:
        """Number and title, e.g. ``03 · Data validation with TFDV``."""
        return f"{self.number} · {self.title}"


def _markdown_lines(nb: Any) -> list[str]:
    return [line for cell in nb.cells if cell.cell_type == "markdown" for line in cell.source.splitlines()]


def _plain(text: str) -> str:
    """A heading's text without Markdown emphasis or code marks."""
    return re.sub(r"[*_`]+", "", text).strip()


def notebook_title(nb: Any, number: str) -> str:
    """The notebook's first ``# `` heading, without a leading ``NN ·`` that repeats its number."""
    for line in _markdown_lines(nb):
        if line.startswith("# "):
            title = _plain(line[2:])
            return re.sub(rf"^{re.escape(number)}\s*[·.:\-–—]?\s*", "", title) or title
    return ""


def notebook_sections(nb: Any) -> list[str]:
    """The notebook's numbered ``## `` headings (``## 2. Statistics``) without their numbers; all ``## `` if none is numbered."""
    headings = [line[3:].strip() for line in _markdown_lines(nb) if line.startswith("## ")]
    numbered = [re.sub(r"^\d+[.)]\s*", "", h) for h in headings if re.match(r"^\d+[.)]\s", h)]
    return [_plain(h) for h in (numbered or headings)]


@functools.cache
def _display_priority() -> tuple[str, ...]:
    from nbconvert.exporters import HTMLExporter

    return tuple(HTMLExporter().default_config.NbConvertBase.display_data_priority)


def shown_mime(output: Any) -> Optional[str]:
    """The MIME type nbconvert's HTML exporter shows for a display or result output (its display priority)."""
    data = output.get("data", {})
    return next((mime for mime in _display_priority() if mime in data), None)


def picture_outputs(nb: Any) -> int:
    """How many pictures a notebook's outputs show in its page: image outputs, and ``<img>`` tags of HTML
    or Markdown outputs (kfx's confusion-matrix view is HTML around a PNG)."""
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type not in ("display_data", "execute_result"):
                continue
            mime = shown_mime(output)
            if mime in IMAGE_TYPES:
                count += 1
            elif mime in ("text/html", "text/markdown"):
                text = "".join(output.data[mime])
                count += len(re.findall(r"<img\b", text, re.IGNORECASE))
                count += len(re.findall(r"!\[[^\]]*\]\(", text)) if mime == "text/markdown" else 0
    return count


def read_executed(source: str, executed_dir: str) -> Any:
    """The executed copy of one course notebook, checked: present, not older than the notebook, without an error.

    Raises:
        DocsError: Naming the notebook and the fix (``make notebooks``).
    """
    import nbformat

    name = os.path.basename(source)
    executed = os.path.join(executed_dir, name)
    if not os.path.exists(executed):
        raise DocsError(f"{executed_dir} has no executed copy of {name}; run `make notebooks` first, then `make docs`.")
    if os.path.getmtime(executed) < os.path.getmtime(source):
        raise DocsError(
            f"The executed copy {os.path.relpath(executed)} is older than {os.path.relpath(source)}; "
            "run `make notebooks` again, then `make docs`."
        )
    nb = nbformat.read(executed, as_version=4)
    for number, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), 1):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                raise DocsError(
                    f"The executed copy {executed} shows {output.get('ename', 'an error')} in code cell {number}; "
                    f"fix the notebook and run `make notebooks` again, then `make docs`."
                )
    return nb


def course_pages(folder: str, executed_dir: str) -> list[tuple[Page, Any]]:
    """Every course notebook of ``folder`` with its checked executed copy from ``executed_dir``, in course order.

    Raises:
        ConfigError: If ``folder`` holds no numbered notebook.
        DocsError: For the first notebook whose executed copy is missing, stale or failed.
    """
    pages = []
    for source in notebooks.course_notebooks(folder):
        nb = read_executed(source, executed_dir)
        name = os.path.splitext(os.path.basename(source))[0]
        number = name.split("_", 1)[0]
        page = Page(
            number=number, name=name, title=notebook_title(nb, number) or name, sections=notebook_sections(nb),
            source=source, executed=os.path.join(executed_dir, os.path.basename(source)), images=picture_outputs(nb),
        )
        pages.append((page, nb))
    return pages


def _loads_remotely(text: str) -> bool:
    return bool(REMOTE_LOAD.search(text) or REMOTE_CSS.search(text))


def make_offline(nb: Any, root: str) -> Any:
    """Prepares an executed notebook for a static, offline page (in place; returns it).

    Drops papermill's timings and paths, numbers the cells by position (papermill gives
    them random ids, which would change every page on every run), shows paths under ``root`` relative to it,
    drops JavaScript and widget outputs (a static page runs none), and replaces an
    HTML output that loads code from the internet (TFDV's Facets view) with a note.
    """
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    prefix = root.rstrip(os.sep) + os.sep

    def relative(text: Any) -> Any:
        if isinstance(text, list):
            text = "".join(text)
        return text.replace(prefix, "") if isinstance(text, str) else text

    for number, cell in enumerate(nb.cells, 1):
        if "id" in cell:
            cell.id = str(number)
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        cell.source = relative(cell.source)
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = relative(output.text)
            data = output.get("data")
            if not data:
                continue
            for mime in ("application/javascript", "application/vnd.jupyter.widget-view+json"):
                data.pop(mime, None)
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in data:
                    data[mime] = relative(data[mime])
            page = data.get("text/html", "")
            if page and _loads_remotely(page):
                facets = "facets" in page.lower()
                what = "TFDV's Facets view" if facets else "an interactive view"
                data.clear()
                data["text/html"] = OFFLINE_NOTE.format(what=what, after=FACETS_AFTER if facets else "")
            if not data:
                data["text/plain"] = ""
    return nb


TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block header -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ resources.kfx_title | e }}</title>
<meta name="kfx-source" content="{{ resources.kfx_source }}">
<link rel="stylesheet" href="{{ resources.kfx_stylesheet }}">
</head>
{%- endblock header -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.kfx_nav }}
<main>
{%- endblock body_header -%}
{%- block body_footer -%}
</main>
{{ resources.kfx_nav }}
</body>
{%- endblock body_footer -%}
{%- block footer -%}
</html>
{% endblock footer -%}
"""

EXTRA_CSS = """
/* kfx course pages */
body { margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 0 16px; }
* { -webkit-print-color-adjust: exact; }
a.anchor-link { display: none; }
.jp-InputArea, .jp-InputArea-editor { overflow: hidden; }
.cm-editor.cm-s-jupyter .highlight pre { padding: var(--jp-code-padding) 4px; margin: 0;
  font-family: inherit; font-size: inherit; line-height: inherit; color: inherit; }
.jp-OutputArea-output pre { line-height: inherit; font-family: inherit; }
.jp-RenderedText pre { color: var(--jp-content-font-color1); font-size: var(--jp-code-font-size); }
.jp-Collapser { display: none; }
.kfx-nav { display: flex; justify-content: space-between; gap: 1em; max-width: 1100px; margin: 0 auto;
  padding: 10px 16px; font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; }
.kfx-nav a { text-decoration: none; color: #1a5fb4; }
.kfx-nav span { min-width: 30%; }
.kfx-nav .kfx-next { text-align: right; }
.kfx-nav .kfx-up { text-align: center; }
.jp-Cell.celltag_injected-parameters, .jp-Cell.celltag_parameters { border-left: 4px solid #e5a50a; }
.jp-Cell.celltag_injected-parameters::before, .jp-Cell.celltag_parameters::before {
  display: block; padding: 4px 8px; font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px;
  color: #6b4e00; background: #fdf3d8; }
.jp-Cell.celltag_parameters::before { content: "The notebook's parameters and their defaults"; }
.jp-Cell.celltag_injected-parameters::before {
  content: "The values these pages were run with (make notebooks gave them; they override the defaults above)"; }
.jp-Cell.celltag_setup .jp-Cell-inputWrapper { display: none; }
.jp-Cell.celltag_setup::before { display: block; padding: 4px 8px; font-family: var(--jp-ui-font-family, sans-serif);
  font-size: 13px; color: #555; background: #f2f2f2;
  content: "Setup: the same cell in every notebook (kfx/course/setup_cell.py); what it said:"; }
.kfx-offline-note { padding: 8px 12px; border-left: 4px solid #99c1f1; background: #eef4fc; }
.kfx-index { font-family: var(--jp-ui-font-family, sans-serif); }
.kfx-index table { border-collapse: collapse; width: 100%; }
.kfx-index td, .kfx-index th { padding: 8px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
.kfx-index .kfx-sections { color: #555; font-size: 13px; }
"""


def _nav(pages: Sequence[Page], index: int) -> str:
    def link(rel: str, page: Optional[Page], arrow_before: str = "", arrow_after: str = "") -> str:
        if page is None:
            return f'<span class="kfx-{rel}"></span>'
        return (f'<span class="kfx-{rel}"><a rel="{rel}" href="{page.filename}">'
                f"{arrow_before}{html.escape(page.label)}{arrow_after}</a></span>")

    previous = pages[index - 1] if index > 0 else None
    following = pages[index + 1] if index + 1 < len(pages) else None
    return (
        '<nav class="kfx-nav">'
        + link("prev", previous, "← ")
        + f'<span class="kfx-up"><a rel="index" href="{INDEX}">The kfx course: all notebooks</a></span>'
        + link("next", following, "", " →")
        + "</nav>"
    )


def index_html(pages: Sequence[Page]) -> str:
    """The index page: every notebook in course order with its number, title and sections."""
    rows = "\n".join(
        f'<tr><td>{html.escape(p.number)}</td><td><a class="kfx-page" href="{p.filename}">{html.escape(p.title)}</a>'
        f'<div class="kfx-sections">{html.escape(" · ".join(p.sections))}</div></td></tr>'
        for p in pages
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>The kfx course</title>
<link rel="stylesheet" href="{STYLESHEET}">
</head>
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<main class="kfx-index">
<h1>The kfx course</h1>
<p>{len(pages)} notebooks, in order, as <code>make notebooks</code> ran them (with their outputs and pictures);
<code>make docs</code> renders these pages. Each one opens from disk, with no server and no network.</p>
<table>
<thead><tr><th>#</th><th>Notebook and what it teaches</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</main>
</body>
</html>
"""


def _exporter() -> Any:
    from jinja2 import DictLoader
    from nbconvert.exporters import HTMLExporter

    return HTMLExporter(
        template_name="lab",
        template_file="kfx_course.html.j2",
        extra_loaders=[DictLoader({"kfx_course.html.j2": TEMPLATE})],
        embed_images=True,
        theme="light",
    )


def stylesheet(exporter: Any, resources: dict) -> str:
    """The one stylesheet every page links: JupyterLab's, the code highlighting nbconvert made, and the pages' own."""
    env = exporter.environment
    parts = [env.loader.get_source(env, name)[0] for name in ("static/index.css", "static/theme-light.css")]
    parts += list(resources.get("inlining", {}).get("css", []))
    return "\n".join(parts) + EXTRA_CSS


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
    if _loads_remotely(body):
        found = (REMOTE_LOAD.search(body) or REMOTE_CSS.search(body)).group(0)
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
    exporter = _exporter()
    output_dir = os.path.abspath(output_dir)
    parent = os.path.dirname(output_dir)
    os.makedirs(parent, exist_ok=True)
    building = tempfile.mkdtemp(prefix="." + os.path.basename(output_dir) + "-", dir=parent)
    try:
        css_resources: dict = {}
        for index, (page, nb) in enumerate(pages_nbs):
            body, resources = render_page(
                exporter, make_offline(nb, root), page, _nav(pages, index), os.path.abspath(folder)
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
