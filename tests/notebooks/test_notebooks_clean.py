"""The course notebooks as committed: stripped outputs, the parameters cell, the setup cell, the shape."""

from __future__ import annotations

import ast
import os
import re

import nbformat
import pytest

CHECK = "# NBVAL_CHECK_OUTPUT"
TITLES = {
    "01": "01_components.ipynb",
    "02": "02_component_library.ipynb",
    "03": "03_data_validation.ipynb",
    "04": "04_training.ipynb",
    "05": "05_pipeline.ipynb",
    "06": "06_vertex_ai.ipynb",
    "07": "07_operating.ipynb",
}
# A function defined in a notebook may be this long at most; longer ones belong in kfx.
MAX_FUNCTION_LINES = 8


def _read(path):
    return nbformat.read(path, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _python(source: str) -> str:
    """Cell source with IPython magics turned into comments, so ast can parse it."""
    return "\n".join(f"# {line}" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def test_the_numbered_notebooks_exist_in_order(course_paths):
    assert [os.path.basename(p) for p in course_paths] == list(TITLES.values())


def test_committed_notebooks_carry_no_outputs_except_nbval_references(course_paths):
    offenders = []
    for path in course_paths:
        for index, cell in enumerate(_code(_read(path))):
            checked = cell.source.startswith(CHECK)
            if not checked and (cell.outputs or cell.execution_count is not None):
                offenders.append(f"{os.path.basename(path)} code cell {index}")
    assert offenders == [], (
        "Outputs are committed in: " + ", ".join(offenders)
        + ". Clear them (jupyter nbconvert --clear-output --inplace), then restore the NBVAL_CHECK_OUTPUT references."
    )


def test_nbval_reference_outputs_are_text_only_and_present(course_paths):
    checked = 0
    for path in course_paths:
        for cell in _code(_read(path)):
            if not cell.source.startswith(CHECK):
                continue
            checked += 1
            assert cell.outputs, f"{os.path.basename(path)}: a checked cell lost its reference output: {cell.source[:80]!r}"
            for output in cell.outputs:
                assert output.output_type in ("stream", "execute_result"), output.output_type
                if output.output_type == "execute_result":
                    assert set(output.data) == {"text/plain"}, set(output.data)
    assert checked >= 10


def test_no_papermill_or_execution_metadata_is_committed(course_paths):
    for path in course_paths:
        nb = _read(path)
        assert "papermill" not in nb.metadata
        for cell in nb.cells:
            assert "papermill" not in cell.metadata and "execution" not in cell.metadata


@pytest.mark.parametrize("number", sorted(TITLES))
def test_notebook_shape(course_paths, number):
    path = next(p for p in course_paths if os.path.basename(p).startswith(number))
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert re.match(rf"^# {number} · \S", first.source), first.source.splitlines()[0]
    assert "**What you will learn**" in first.source
    code = _code(nb)
    assert nb.cells[1] is code[0]
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[1]
    assert all(isinstance(node, ast.Assign) for node in ast.parse(tagged[0].source).body)
    assert nb.metadata.kernelspec.name == "python3"
    assert any(re.match(r"^## 1\. ", c.source) for c in nb.cells if c.cell_type == "markdown")


def test_every_notebooks_setup_cell_is_the_text_of_setup_cell_py(course_paths):
    from kfx.course import notebooks

    expected = notebooks.setup_cell_source()
    stale = [
        os.path.basename(p) for p in course_paths
        if (cell := _read(p).cells[1]).source != expected or cell.metadata != notebooks.SETUP_METADATA
    ]
    assert stale == [], (
        f"Cell 1 of {', '.join(stale)} is not the text of kfx/course/setup_cell.py, collapsed and tagged setup; "
        "write it in with `.venv/bin/kfx notebooks --write-setup-cell`."
    )


def test_parameter_defaults_are_ci_safe(course_paths):
    from kfx.course import notebooks

    declared = {os.path.basename(p)[:2]: notebooks.declared_parameters(p) for p in course_paths}
    rows = {n: p["sample_rows"] for n, p in declared.items() if "sample_rows" in p}
    assert set(rows) == {"01", "02", "03", "04", "05", "07"} and all(v == "600" for v in rows.values())
    assert all(declared[n]["project_id"] == '""' for n in ("02", "06", "07"))
    assert all(p["runs_dir"] == '"../runs/notebooks"' for p in declared.values())


def test_notebooks_define_no_long_functions(course_paths):
    for path in course_paths:
        for cell in _code(_read(path)):
            for node in ast.walk(ast.parse(_python(cell.source))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = node.end_lineno - node.lineno + 1
                    assert length <= MAX_FUNCTION_LINES, f"{os.path.basename(path)}: {node.name} has {length} lines"
