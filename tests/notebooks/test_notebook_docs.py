"""kfx.course.docs on a small course of two notebooks, executed once with papermill as ``make notebooks`` does.

The tests that use the executed course are marked ``notebooks``, like the runner's tests: they start
Jupyter kernels (a few seconds, once per module), so ``make test-fast`` leaves them out.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time

import pytest

# A 2×2 red PNG, shown both as a notebook output and as a Markdown picture next to the notebook.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)
FACETS = ('<script src="https://cdnjs.cloudflare.com/ajax/libs/webcomponentsjs/1.3.3/webcomponents-lite.js"></script>'
          '<link rel="import" href="https://raw.githubusercontent.com/PAIR-code/facets/1.0.0/facets-dist/facets-jupyter.html">'
          "<facets-overview id=\"x\"></facets-overview>")


def _write(folder: str, name: str, title: str, intro: str, *cells: tuple[str, str]) -> str:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    parameters = new_code_cell('rows = 1\nruns_dir = "runs"', metadata={"tags": ["parameters"]})
    nb.cells = [new_markdown_cell(f"# {title}\n\n{intro}"), parameters]
    nb.cells += [new_markdown_cell(s) if kind == "md" else new_code_cell(s) for kind, s in cells]
    path = os.path.join(folder, name)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A folder ``nb`` with two course notebooks and ``nb/out`` with their executed copies."""
    from kfx.course import notebooks

    root = tmp_path_factory.mktemp("course")
    folder = str(root / "nb")
    os.makedirs(folder)
    with open(os.path.join(folder, "dot.png"), "wb") as f:
        f.write(PNG)
    paths = [
        _write(folder, "01_first.ipynb", "01 · First steps", "Where it starts.",
               ("md", "## 1. Counting rows\n\nA picture next to the notebook:\n\n![a dot](dot.png)"),
               ("code", f"from IPython.display import Image, HTML\nImage(data={PNG!r})"),
               ("md", "## 2. Looking at the data"),
               ("code", f"HTML({FACETS!r})"),
               ("md", "## What next")),
        _write(folder, "02_second.ipynb", "02 · Second steps", "Where it goes on.",
               ("md", "## Only unnumbered"), ("code", "print(rows * 2)")),
    ]
    notebooks.run_notebooks(paths, os.path.join(folder, "out"), {"rows": 3}, out=open(os.devnull, "w"))
    return root


@pytest.fixture
def copy(course, tmp_path):
    """A copy of the course (times kept) that a test may change."""
    target = tmp_path / "course"
    shutil.copytree(course, target)
    return target


def _build(root, output=None):
    from kfx.course import docs

    return docs.build_docs(str(root / "nb"), str(root / "nb" / "out"), str(output or root / "site"))


def _read(path) -> str:
    return open(path, encoding="utf-8").read()


def _links(path, selector: str) -> list[str]:
    from bs4 import BeautifulSoup

    return [a["href"] for a in BeautifulSoup(_read(path), "html.parser").select(selector)]


course_test = pytest.mark.notebooks


@course_test
def test_the_index_lists_the_notebooks_in_order_with_titles_and_sections(copy):
    pages = _build(copy)
    assert [(p.number, p.title, p.filename) for p in pages] == [
        ("01", "First steps", "01_first.html"), ("02", "Second steps", "02_second.html")]
    assert pages[0].sections == ["Counting rows", "Looking at the data"]
    assert pages[1].sections == ["Only unnumbered"]
    assert [p.images for p in pages] == [1, 0]  # the PNG output; the Facets output shows no picture
    index = _read(copy / "site" / "index.html")
    assert re.findall(r'<a class="kfx-page" href="([^"]+)">([^<]+)</a>', index) == [
        ("01_first.html", "First steps"), ("02_second.html", "Second steps")]
    assert "Counting rows · Looking at the data" in index
    assert sorted(os.listdir(copy / "site")) == ["01_first.html", "02_second.html", "index.html", "style.css"]


@course_test
def test_pages_link_previous_index_and_next(copy):
    _build(copy)
    first, second = copy / "site" / "01_first.html", copy / "site" / "02_second.html"
    # each page has its links twice: above and below the notebook
    assert (_links(first, "nav a[rel=prev]"), _links(first, "nav a[rel=next]")) == ([], ["02_second.html"] * 2)
    assert (_links(second, "nav a[rel=prev]"), _links(second, "nav a[rel=next]")) == (["01_first.html"] * 2, [])
    assert _links(first, "nav a[rel=index]") == ["index.html"] * 2
    assert "<title>01 · First steps · the kfx course</title>" in _read(first)


@course_test
def test_pictures_are_embedded_and_nothing_loads_from_the_network(copy):
    from kfx.course import offline

    _build(copy)
    page = _read(copy / "site" / "01_first.html")
    dot = base64.b64encode(PNG).decode()
    assert page.count(f"data:image/png;base64,{dot}") == 2  # the output and the Markdown picture
    assert 'src="dot.png"' not in page
    for name in ("01_first.html", "02_second.html", "index.html", "style.css"):
        text = _read(copy / "site" / name)
        assert not offline.REMOTE_LOAD.search(text) and not offline.REMOTE_CSS.search(text), name
        assert "require.js" not in text and "mathjax" not in text.lower()
    # the Facets output is a note (its code cell still shows the HTML it was given, escaped)
    assert "TFDV's Facets view" in page and "<facets-overview" not in page and "kfx-offline-note" in page


@course_test
def test_pages_share_one_stylesheet_and_carry_no_timings_or_machine_paths(course, tmp_path):
    site = tmp_path / "site"
    _build(course, site)  # where papermill ran them: their paths are this machine's
    page = _read(site / "01_first.html")
    assert _links(site / "01_first.html", "link[rel=stylesheet]") == ["style.css"] and "<style" not in page
    assert os.path.getsize(site / "01_first.html") < 20_000
    assert os.path.getsize(site / "style.css") > 100_000  # JupyterLab's, once
    for name in ("01_first.html", "02_second.html"):
        text = _read(site / name)
        assert "papermill" not in text and "duration" not in text and str(course) not in text
    # papermill's cell says what the pages were run with, labelled, the path relative to the course's folder
    from bs4 import BeautifulSoup

    injected = BeautifulSoup(page, "html.parser").select(".jp-Cell.celltag_injected-parameters")
    assert len(injected) == 1
    assert injected[0].get_text().split() == [
        "In", "[2]:", "#", "Parameters", "runs_dir", "=", '"nb/out/runs"', "rows", "=", "3"]


@course_test
def test_pages_built_from_another_run_of_the_same_notebooks_are_the_same_bytes(course, tmp_path):
    """Papermill gives cells random ids; the pages number them, so a rebuild changes only what the outputs say."""
    from kfx.course import notebooks

    again = tmp_path / "course"
    shutil.copytree(course, again)
    shutil.rmtree(again / "nb" / "out")
    sources = sorted(str(p) for p in (again / "nb").glob("*.ipynb"))
    notebooks.run_notebooks(sources, str(again / "nb" / "out"), {"rows": 3}, out=open(os.devnull, "w"))
    def cell_ids(root):
        return [cell["id"] for cell in json.loads(_read(root / "nb" / "out" / "01_first.ipynb"))["cells"]]

    assert cell_ids(again) != cell_ids(course)  # the two runs really gave the cells different ids
    _build(course, tmp_path / "site-1")
    _build(again, tmp_path / "site-2")
    for name in ("01_first.html", "02_second.html", "index.html", "style.css"):
        assert _read(tmp_path / "site-1" / name) == _read(tmp_path / "site-2" / name), name
    assert 'id="cell-id=1"' in _read(tmp_path / "site-1" / "01_first.html")


@course_test
def test_a_missing_executed_copy_is_refused_and_the_old_pages_stay(copy):
    from kfx.course import docs

    _build(copy)
    before = {n: _read(copy / "site" / n) for n in os.listdir(copy / "site")}
    os.remove(copy / "nb" / "out" / "02_second.ipynb")
    with pytest.raises(docs.DocsError, match=r"has no executed copy of 02_second.ipynb; run `make notebooks` first"):
        _build(copy)
    assert {n: _read(copy / "site" / n) for n in os.listdir(copy / "site")} == before
    assert [n for n in os.listdir(copy) if n.startswith(".site")] == []


@course_test
def test_an_executed_copy_older_than_its_notebook_is_refused(copy):
    from kfx.course import docs

    source = copy / "nb" / "01_first.ipynb"
    later = time.time() + 5
    os.utime(source, (later, later))
    with pytest.raises(docs.DocsError, match=r"01_first.ipynb is older than .*01_first.ipynb; run `make notebooks` again"):
        _build(copy)
    assert not (copy / "site").exists()


@course_test
def test_an_executed_copy_with_an_error_is_refused(copy):
    import nbformat
    from nbformat.v4 import new_output

    from kfx.course import docs

    path = copy / "nb" / "out" / "02_second.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[-1].outputs.append(new_output("error", ename="ValueError", evalue="broken", traceback=["ValueError: broken"]))
    nbformat.write(nb, str(path))
    with pytest.raises(docs.DocsError, match=r"02_second.ipynb shows ValueError in code cell \d+; fix the notebook"):
        _build(copy)


@course_test
def test_a_markdown_picture_at_a_url_is_refused(copy):
    import nbformat

    from kfx.course import docs

    path = copy / "nb" / "out" / "02_second.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("![remote](https://example.org/picture.png)"))
    nbformat.write(nb, str(path))
    with pytest.raises(docs.DocsError, match=r"02_second.ipynb loads something from the network"):
        _build(copy)


def test_kfx_docs_command_refuses_without_executed_copies(make_notebook, tmp_path, kfx_cli):
    folder = str(tmp_path / "nb")
    make_notebook("01_only.ipynb", "rows = 1", "print(rows)", folder=folder)
    result = kfx_cli("docs", "--folder", folder, "--executed-dir", str(tmp_path / "out"), "-o", str(tmp_path / "site"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"kfx: error: {tmp_path / 'out'} has no executed copy of 01_only.ipynb; run `make notebooks` first, then `make docs`."
    )
    assert not (tmp_path / "site").exists()


def test_titles_sections_and_offline_outputs_from_a_notebook_in_memory():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from kfx.course import offline, pages

    cell = new_code_cell("view()", outputs=[
        new_output("display_data", data={"text/html": FACETS, "text/plain": "<view>"}),
        new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "js"}),
        new_output("stream", text="wrote /repo/notebooks/out/runs/a\n"),
    ])
    cell.metadata["papermill"] = {"duration": 1.5}
    nb = new_notebook(cells=[
        new_markdown_cell("# 07 · Operating **kfx**\n\nText."),
        new_markdown_cell("## 1. Schedules\n## 2. `Alerts`\n## What next"), cell])
    nb.metadata["papermill"] = {"input_path": "/repo/notebooks/07_operating.ipynb"}
    assert pages.notebook_title(nb, "07") == "Operating kfx"
    assert pages.notebook_sections(nb) == ["Schedules", "Alerts"]
    offline.make_offline(nb, "/repo")
    view, script, stream = nb.cells[2].outputs
    assert "kfx-offline-note" in view.data["text/html"] and set(view.data) == {"text/html"}
    assert dict(script.data) == {"text/plain": "js"}
    assert stream.text == "wrote notebooks/out/runs/a\n"
    assert "papermill" not in nb.metadata and "papermill" not in nb.cells[2].metadata


@course_test
def test_each_page_names_the_notebook_text_it_was_built_from_and_a_changed_notebook_makes_it_stale(copy):
    from kfx.course import docs

    _build(copy)
    site, first = str(copy / "site"), str(copy / "nb" / "01_first.ipynb")
    assert docs.stale_pages(str(copy / "nb"), site) == []
    assert docs.built_from(str(copy / "site" / "01_first.html")) == docs.source_digest(first)
    assert docs.source_digest(first).startswith("sha256:") and len(docs.source_digest(first)) == 7 + 64
    with open(first, "a", encoding="utf-8") as f:
        f.write("\n")  # any change to the notebook as written
    os.remove(copy / "site" / "02_second.html")
    assert docs.stale_pages(str(copy / "nb"), site) == ["01_first.ipynb", "02_second.ipynb"]


def test_the_committed_course_pages_are_built_from_the_notebooks_as_committed():
    """docs/course is what a reader opens without running anything: it must show the notebooks as they are."""
    from kfx.course import docs

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    stale = docs.stale_pages(os.path.join(repo, "notebooks"), os.path.join(repo, "docs", "course"))
    assert stale == [], (
        f"The course pages of {', '.join(stale)} were built from another text of the notebook: "
        "run `make notebooks docs` and commit docs/course."
    )
