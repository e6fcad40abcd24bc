"""The look of the course pages: nbconvert's template and exporter, the shared stylesheet, the
previous / index / next links, and the index page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from kfx.course.pages import Page

STYLESHEET = "style.css"
INDEX = "index.html"

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
.kfx-index td, .kfx-index th {
  padding: 8px 10px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top;
}
.kfx-index .kfx-sections { color: #555; font-size: 13px; }
"""


def nav_html(pages: Sequence[Page], index: int) -> str:
    def link(rel: str, page: Optional[Page], arrow_before: str = "", arrow_after: str = "") -> str:
        if page is None:
            return f'<span class="kfx-{rel}"></span>'
        return (
            f'<span class="kfx-{rel}"><a rel="{rel}" href="{page.filename}">'
            f"{arrow_before}{html.escape(page.label)}{arrow_after}</a></span>"
        )

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


def exporter() -> Any:
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
