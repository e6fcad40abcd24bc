"""An executed notebook made fit for a static page that works offline: no timings or absolute paths, stable
cell ids, and no output that loads code from the internet (TFDV's Facets view becomes a short note).
"""

from __future__ import annotations

import os
import re
from typing import Any

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


def loads_remotely(text: str) -> bool:
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
            if page and loads_remotely(page):
                facets = "facets" in page.lower()
                what = "TFDV's Facets view" if facets else "an interactive view"
                data.clear()
                data["text/html"] = OFFLINE_NOTE.format(what=what, after=FACETS_AFTER if facets else "")
            if not data:
                data["text/plain"] = ""
    return nb
