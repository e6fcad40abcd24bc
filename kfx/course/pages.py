"""The course notebooks as pages: each executed copy checked (present, not stale, without an error), and
what its page shows (number, title, sections, pictures). nbformat and nbconvert are imported inside the functions.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from kfx.course import notebooks
from kfx.errors import ConfigError

IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


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
    """The notebook's numbered ``## `` headings (``## 2. Statistics``) without their numbers;
    all ``## `` if none is numbered."""
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
            number=number,
            name=name,
            title=notebook_title(nb, number) or name,
            sections=notebook_sections(nb),
            source=source,
            executed=os.path.join(executed_dir, os.path.basename(source)),
            images=picture_outputs(nb),
        )
        pages.append((page, nb))
    return pages
