"""kfx.course.notebooks and ``kfx notebooks``: papermill runs in real kernels, in order, failing on the first error."""

from __future__ import annotations

import os
import sys

import nbformat
import pytest

from kfx.course import notebooks
from kfx.errors import ConfigError


def _outputs(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_course_notebooks_are_found_in_order_and_filtered(course_paths):
    folder = os.path.dirname(course_paths[0])
    assert notebooks.course_notebooks(folder, ["03", "05_pipeline"]) == [course_paths[2], course_paths[4]]
    with pytest.raises(ConfigError, match="No notebook in .* starts with 09"):
        notebooks.course_notebooks(folder, ["09"])


def test_a_folder_without_numbered_notebooks_is_refused(tmp_path):
    (tmp_path / "scratch.ipynb").write_text("{}")
    with pytest.raises(ConfigError, match="holds no notebook named NN_topic.ipynb"):
        notebooks.course_notebooks(str(tmp_path))


def test_parse_value_reads_values_as_papermill_does():
    assert [notebooks.parse_value(v) for v in ("0", "2.5", "True", "false", "None", "vertex", "gs://b")] == [
        0, 2.5, True, False, None, "vertex", "gs://b",
    ]


def test_declared_parameters_of_the_course(course_paths):
    declared = notebooks.declared_parameters(course_paths[5])
    assert {"project_id", "region", "bucket", "recipients", "runs_dir"} <= set(declared)


@pytest.mark.notebooks
def test_run_notebooks_injects_declared_parameters_in_this_python(make_notebook, tmp_path):
    folder = str(tmp_path / "course")
    first = make_notebook(
        "01_first.ipynb", 'rows = 1\nname = "x"',
        "import sys\nprint(sys.executable)\nprint(rows * 2, name)\nimport os\nprint(os.getcwd())", folder=folder,
    )
    second = make_notebook("02_second.ipynb", 'name = "y"', "print(name)", folder=folder)
    runs = notebooks.run_notebooks([first, second], str(tmp_path / "out"), {"rows": 21, "name": "z"}, out=open(os.devnull, "w"))
    assert [r.name for r in runs] == ["01_first.ipynb", "02_second.ipynb"]
    # Each notebook gets only what it declares (runs_dir is declared by neither).
    assert [r.parameters for r in runs] == [{"rows": 21, "name": "z"}, {"name": "z"}]
    assert _outputs(runs[0].output).splitlines() == [sys.executable, "42 z", folder]
    assert _outputs(runs[1].output).strip() == "z"


def test_a_parameter_no_notebook_declares_is_refused_before_anything_runs(make_notebook, tmp_path):
    path = make_notebook("01_first.ipynb", "rows = 1", "print(rows)")
    with pytest.raises(ConfigError, match="No notebook declares row; the notebooks' parameters are: rows"):
        notebooks.run_notebooks([path], str(tmp_path / "out"), {"row": 0}, out=open(os.devnull, "w"))
    assert not (tmp_path / "out").exists()


@pytest.mark.notebooks
def test_run_notebooks_stops_at_the_first_failure_and_names_notebook_and_cell(make_notebook, tmp_path):
    folder = str(tmp_path / "course")
    paths = [
        make_notebook("01_ok.ipynb", "rows = 1", "print(rows)", folder=folder),
        make_notebook("02_bad.ipynb", "rows = 1", "total = rows + 1", "raise ValueError('broken on purpose')", folder=folder),
        make_notebook("03_after.ipynb", "rows = 1", "print('never')", folder=folder),
    ]
    out = tmp_path / "out"
    with pytest.raises(notebooks.NotebookFailed) as failed:
        notebooks.run_notebooks(paths, str(out), {"rows": 3}, out=open(os.devnull, "w"))
    message = str(failed.value)
    assert message.startswith("02_bad.ipynb failed in code cell 3 (\"raise ValueError('broken on purpose')\") with ValueError: broken on purpose")
    assert str(out / "02_bad.ipynb") in message
    assert sorted(os.listdir(out)) == ["01_ok.ipynb", "02_bad.ipynb"]


@pytest.mark.notebooks
def test_kfx_notebooks_command(make_notebook, tmp_path, kfx_cli):
    folder = str(tmp_path / "course")
    make_notebook("01_ok.ipynb", "rows = 1", "print(rows * 10)", folder=folder)
    make_notebook("02_bad.ipynb", "rows = 1", "1 / 0", folder=folder)
    out = str(tmp_path / "out")
    ok = kfx_cli("notebooks", "--folder", folder, "--only", "01", "-o", out, "-p", "rows", "4")
    assert ok.returncode == 0, ok.output
    assert "1 notebooks ran in" in ok.stdout and _outputs(os.path.join(out, "01_ok.ipynb")).strip() == "40"
    bad = kfx_cli("notebooks", "--folder", folder, "-o", out)
    assert bad.returncode == 1
    assert "kfx: error: 02_bad.ipynb failed in code cell 2 ('1 / 0') with ZeroDivisionError: division by zero" in bad.stderr
