"""The built course pages (``make notebooks docs``) in headless Chromium, as a reader opens them from disk.

Every page and the index: every picture loads, the page shows as many pictures as
its executed notebook has, no cell shows an error, the links go in course order,
and nothing is requested from anywhere but the page's own folder. A screenshot of
each page's first screen lands in ``runs/docs-screenshots``. Run with ``make test-docs``.
"""

from __future__ import annotations

import glob
import os
import pathlib
import re

import pytest

pytestmark = pytest.mark.docs

REPO = pathlib.Path(__file__).resolve().parents[2]
PAGES = REPO / "docs" / "course"
EXECUTED = REPO / "notebooks" / "out"
SCREENSHOTS = REPO / "runs" / "docs-screenshots"
NAMES = [
    os.path.basename(p)[: -len(".ipynb")] for p in sorted(glob.glob(str(REPO / "notebooks" / "[0-9][0-9]_*.ipynb")))
]
IMAGE_TYPES = {"image/png", "image/jpeg", "image/svg+xml", "image/gif"}

PAGE_STATE = """(() => {
  const imgs = [...document.querySelectorAll('img')].map(i => ({
    loaded: i.complete && i.naturalWidth > 0, output: !!i.closest('.jp-OutputArea-output'),
    src: i.getAttribute('src').slice(0, 40)}));
  const stderr = [
    ...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
  ].map(e => e.innerText);
  return {
    imgs, stderr,
    errorClasses: document.querySelectorAll('.output_error, .jp-OutputArea-output.jp-mod-error').length,
    cells: document.querySelectorAll('.jp-Cell').length,
    styled: getComputedStyle(document.body).getPropertyValue('--jp-ui-font-family').trim().length > 0,
    prev: document.querySelector('nav a[rel=prev]')?.getAttribute('href') ?? null,
    next: document.querySelector('nav a[rel=next]')?.getAttribute('href') ?? null,
    index: document.querySelector('nav a[rel=index]')?.getAttribute('href') ?? null,
    injected: document.querySelectorAll('.celltag_injected-parameters').length,
    label: (() => { const c = document.querySelector('.celltag_injected-parameters');
                    return c ? getComputedStyle(c, '::before').content : ''; })(),
  };
})()"""


def picture_outputs(path: pathlib.Path) -> int:
    """Pictures among an executed notebook's outputs: image outputs shown as such, and ``<img>`` tags
    of HTML outputs (the confusion-matrix view); an HTML output that loads from the network shows none."""
    import nbformat

    count = 0
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            if output.output_type not in ("display_data", "execute_result"):
                continue
            if "text/html" in data:
                html = "".join(data["text/html"])
                count += 0 if re.search(r"(src|href)=[\"']?https?://", html) else len(re.findall(r"<img\b", html))
            elif "text/markdown" not in data and IMAGE_TYPES & set(data):
                count += 1
    return count


@pytest.fixture(scope="module")
def built() -> pathlib.Path:
    if not (PAGES / "index.html").exists():
        pytest.fail(f"{PAGES} holds no pages; run `make notebooks docs` first.")
    return PAGES


def _no_network(browser) -> None:
    remote = [url for url in browser.requests() if not url.startswith(("file://", "data:"))]
    assert remote == [], "the page requested from the network"
    assert browser.failed_requests() == []
    assert browser.exceptions() == []


def test_the_index_links_every_page_in_course_order(browser, built):
    browser.open((built / "index.html").as_uri())
    links = browser.evaluate(
        "[...document.querySelectorAll('a.kfx-page')].map(a => [a.getAttribute('href'), a.innerText])"
    )
    assert [href for href, _ in links] == [f"{name}.html" for name in NAMES]
    assert all(text.strip() for _, text in links)
    assert browser.evaluate("getComputedStyle(document.body).getPropertyValue('--jp-ui-font-family').trim().length") > 0
    _no_network(browser)
    browser.screenshot(str(SCREENSHOTS / "index.png"))


@pytest.mark.parametrize("name", NAMES)
def test_a_page_shows_its_notebook_offline(browser, built, name):
    position = NAMES.index(name)
    browser.open((built / f"{name}.html").as_uri())
    state = browser.evaluate(PAGE_STATE)
    browser.screenshot(str(SCREENSHOTS / f"{name}.png"))

    assert state["cells"] > 0 and state["styled"]
    assert [i["src"] for i in state["imgs"] if not i["loaded"]] == []
    assert sum(1 for i in state["imgs"] if i["output"]) == picture_outputs(EXECUTED / f"{name}.ipynb")
    assert [text for text in state["stderr"] if "Traceback" in text] == []
    assert state["errorClasses"] == 0
    assert state["index"] == "index.html"
    assert state["prev"] == (f"{NAMES[position - 1]}.html" if position > 0 else None)
    assert state["next"] == (f"{NAMES[position + 1]}.html" if position + 1 < len(NAMES) else None)
    assert state["injected"] == 1 and "run with" in state["label"]
    _no_network(browser)
