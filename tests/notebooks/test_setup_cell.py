"""The notebooks' setup cell (kfx/course/setup_cell.py) run as a script by real interpreters.

Every run gets its own HOME, Jupyter data folder, kernel home and PATH under tmp_path, so
nothing of the user's is read or touched. The tests that run pip in a new environment are marked install
(the installs of the whole lock take 2.5 to 5 minutes each on a 2-core machine): `make test-install` runs them,
`make test` does not; pip may keep its cache in the repository's .cache/pip, as CI does.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import platform
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = os.path.join(REPO, "kfx", "course", "setup_cell.py")
NOTEBOOKS = os.path.join(REPO, "notebooks")
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"  # a compiler and git for pip; pythons come from pyenv
SWITCH = ('This kernel runs Python {version} and kfx needs 3.11: switch to the kernel "Python 3.11 (kfx)" ({python}) '
          "with Kernel → Change Kernel…, and run the notebook again.")
RESTART = "kfx is installed: restart the kernel (Kernel → Restart Kernel) and run the notebook again."
NO_PYTHON = ("No Python 3.11 here ({where}): make one, e.g. `conda create -n py311 python=3.11` in a Vertex AI Workbench "
             "terminal (KFX_PYTHON, if set, must name it), and run this cell again.")


def pyenv_python(minor: str) -> str:
    """The newest pyenv Python 3.<minor> (ARCHITECTURE.md: these machines have 3.12 and 3.13), or a skip."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", f"3.{minor}.*", "bin", f"python3.{minor}")))
    if not found:
        pytest.skip(f"no Python 3.{minor} under {root}/versions: install one with `pyenv install 3.{minor}`")
    return found[-1]


def version_of(python: str) -> str:
    return subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def isolated_env(tmp_path, path: str = "", **extra: str) -> dict[str, str]:
    """An environment with HOME, Jupyter's data folder, the kernel home and PATH under tmp_path."""
    keep = {k: v for k, v in os.environ.items()
            if (k.startswith("PIP_") and k not in ("PIP_FIND_LINKS", "PIP_NO_CACHE_DIR")) or k.endswith("_PROXY")}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    env = {**keep, "HOME": str(tmp_path / "home"), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
           "KFX_KERNEL_HOME": str(tmp_path / "kernel"), "PYENV_ROOT": str(tmp_path / "pyenv"),
           "PATH": path or str(bin_dir), "LANG": "C.UTF-8", "PIP_CACHE_DIR": os.path.join(REPO, ".cache", "pip")}
    return {**env, **extra}


def run_setup(python: str, env: dict[str, str], cwd: str = NOTEBOOKS, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([python, SETUP], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def stop_message(done: subprocess.CompletedProcess) -> str:
    """The message of the KfxSetupStop a script run ended with (a plain traceback's last line)."""
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1].removeprefix("__main__.")  # Python 3.10 names the module
    assert last.startswith("KfxSetupStop: "), done.stderr
    return last[len("KfxSetupStop: "):]


def write_kernelspec(tmp_path, python: str, data_folder: str = "jupyter") -> None:
    folder = tmp_path / data_folder / "kernels" / "kfx"
    folder.mkdir(parents=True)
    spec = {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3.11 (kfx)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec))


def test_the_tag_is_the_version_and_the_cell_imports_only_the_standard_library():
    import kfx
    from kfx.course import setup_cell

    assert setup_cell.KFX_TAG == "v" + kfx.__version__
    assert setup_cell.KFX_REPOSITORY == "https://github.com/kfx-course/kfx"
    tree = ast.parse(open(SETUP, encoding="utf-8").read())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert imported and imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_ci_kernel_prints_one_ready_line_quickly():
    started = time.monotonic()
    done = subprocess.run([VENV_PYTHON, SETUP], cwd=NOTEBOOKS, capture_output=True, text=True, timeout=30)
    seconds = time.monotonic() - started
    assert (done.returncode, done.stdout, done.stderr) == (0, f"kfx 0.1.0 ready on Python {platform.python_version()}\n", "")
    assert seconds < 2, f"the ready path took {seconds:.1f} s"


@pytest.mark.parametrize("minor", ["12", "13", "10"])
def test_other_python_with_a_kfx_kernel_is_told_to_switch_and_installs_nothing(tmp_path, minor):
    python = pyenv_python(minor)
    write_kernelspec(tmp_path, VENV_PYTHON)
    done = run_setup(python, isolated_env(tmp_path))
    assert stop_message(done) == SWITCH.format(version=version_of(python), python=VENV_PYTHON)
    assert done.stdout == ""
    assert not (tmp_path / "kernel").exists() and not (tmp_path / "home").exists()


def test_the_kfx_kernel_is_found_through_jupyter_paths_when_jupyter_is_on_path(tmp_path):
    python = pyenv_python("12")  # without jupyter_client: the jupyter command on PATH says where kernels are
    write_kernelspec(tmp_path, VENV_PYTHON, data_folder="elsewhere")  # a folder only JUPYTER_PATH names
    env = isolated_env(tmp_path, path=os.path.dirname(VENV_PYTHON), JUPYTER_PATH=str(tmp_path / "elsewhere"))
    done = run_setup(python, env)
    assert stop_message(done) == SWITCH.format(version=version_of(python), python=VENV_PYTHON)


@pytest.mark.parametrize("minor", ["12", "13"])
def test_other_python_without_any_python_311_is_told_how_to_get_one(tmp_path, minor):
    python = pyenv_python(minor)
    write_kernelspec(tmp_path, python)  # a stale kfx kernel on the wrong Python does not count
    done = run_setup(python, isolated_env(tmp_path))
    assert stop_message(done) == NO_PYTHON.format(where="none on PATH, in pyenv or in conda")
    nothing = str(tmp_path / "nothing")
    done = run_setup(python, isolated_env(tmp_path, KFX_PYTHON=nothing))
    assert stop_message(done) == NO_PYTHON.format(where=f"KFX_PYTHON={nothing} is not one")
    assert done.stdout == "" and not (tmp_path / "kernel").exists()


@pytest.mark.parametrize("checkout", [True, False])
def test_install_command_with_and_without_a_checkout(tmp_path, checkout):
    python = pyenv_python("12")
    cwd = NOTEBOOKS if checkout else str(tmp_path)
    code = f"import json, runpy; ns = runpy.run_path({SETUP!r}); print(json.dumps(ns['install_command']('PY', ['ipykernel'])))"
    done = subprocess.run([python, "-c", code], cwd=cwd, env=isolated_env(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    if checkout:
        expected = ["--constraint", os.path.join(REPO, "requirements.txt"), "-e", REPO]
    else:
        expected = ["--constraint", "https://raw.githubusercontent.com/kfx-course/kfx/v0.1.0/requirements.txt",
                    "kfx @ git+https://github.com/kfx-course/kfx@v0.1.0"]
    assert json.loads(done.stdout) == ["PY", "-m", "pip", "install", *expected, "ipykernel"]


def fresh_venv(tmp_path) -> str:
    base = pyenv_python("11")
    subprocess.run([base, "-m", "venv", str(tmp_path / "fresh")], check=True, timeout=120)
    return str(tmp_path / "fresh" / "bin" / "python")


@pytest.mark.install
def test_a_failed_install_raises_with_pips_last_lines(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / "kfx").mkdir(parents=True)
    (checkout / "notebooks").mkdir()
    (checkout / "kfx" / "__init__.py").write_text("")
    (checkout / "setup.py").write_text('from setuptools import setup\nsetup(name="kfx", version="0.1.0", packages=["kfx"])\n')
    (checkout / "requirements.txt").write_text("kfx==9.9.9\n")  # a lock no version of kfx can satisfy
    python = fresh_venv(tmp_path)
    done = run_setup(python, isolated_env(tmp_path, path=SYSTEM_PATH), cwd=str(checkout / "notebooks"), timeout=300)
    assert done.returncode == 1
    message = done.stderr[done.stderr.index("KfxSetupStop: "):].splitlines()
    assert message[0] == (f"KfxSetupStop: pip install of kfx into {python} failed (exit 1); "
                          "the last lines of its output say why:")
    assert 1 < len(message) <= 16 and "ResolutionImpossible" in message[-1]
    assert "The user requested (constraint) kfx==9.9.9" in "\n".join(message)
    assert subprocess.run([python, "-c", "import kfx"], cwd=tmp_path, capture_output=True).returncode == 1


def locked_versions() -> dict[str, str]:
    pins = [line.split("==") for line in open(os.path.join(REPO, "requirements.txt")) if "==" in line]
    return {name.strip().lower().replace("_", "-"): version.strip() for name, version in pins}


def installed_versions(python: str) -> dict[str, str]:
    code = "import json, importlib.metadata as m; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    found = json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)
    return {name.lower().replace("_", "-"): version for name, version in found.items()}


@pytest.mark.install
def test_python_311_without_kfx_installs_the_checkout_with_the_lock_and_asks_for_a_restart(tmp_path):
    python = fresh_venv(tmp_path)
    done = run_setup(python, isolated_env(tmp_path, path=SYSTEM_PATH), timeout=1500)
    assert done.stdout == f"Installing kfx into {python} (pip takes a few minutes)...\n"
    assert stop_message(done) == RESTART
    where = subprocess.run([python, "-c", "import kfx; print(kfx.__file__)"], cwd=tmp_path, capture_output=True, text=True)
    assert where.stdout.strip() == os.path.join(REPO, "kfx", "__init__.py")
    installed, locked = installed_versions(python), locked_versions()
    assert installed["tensorflow-data-validation"] == "1.16.1"
    assert {n: v for n, v in installed.items() if n in locked and locked[n] != v} == {}
    again = run_setup(python, isolated_env(tmp_path, path=SYSTEM_PATH))
    assert (again.returncode, again.stdout) == (0, f"kfx 0.1.0 ready on Python {version_of(python)}\n")


@pytest.mark.install
def test_other_python_makes_a_python_311_kfx_kernel_then_finds_it(tmp_path):
    python, base = pyenv_python("12"), pyenv_python("11")
    env = isolated_env(tmp_path, path=SYSTEM_PATH, KFX_PYTHON=base)
    kernel_python = str(tmp_path / "kernel" / "bin" / "python")
    done = run_setup(python, env, timeout=1500)
    assert done.stdout == f"Installing kfx into {kernel_python} (pip takes a few minutes)...\n"
    assert stop_message(done) == SWITCH.format(version=version_of(python), python=kernel_python)
    spec = json.loads((tmp_path / "jupyter" / "kernels" / "kfx" / "kernel.json").read_text())
    assert spec["argv"][0] == kernel_python and spec["display_name"] == "Python 3.11 (kfx)"
    check = subprocess.run([kernel_python, "-c", "import ipykernel, kfx; print(kfx.__version__)"], cwd=tmp_path, capture_output=True, text=True)
    assert check.stdout.strip() == "0.1.0" and version_of(kernel_python).startswith("3.11.")
    again = run_setup(python, env)
    assert again.stdout == "" and stop_message(again) == SWITCH.format(version=version_of(python), python=kernel_python)


def course_notebook(path, *cells) -> str:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    made = [new_markdown_cell(c[1:]) if c.startswith("#") else new_code_cell(c) for c in cells]
    for cell in made:
        if cell.cell_type == "code" and cell.source.startswith("rows ="):
            cell.metadata["tags"] = ["parameters"]
    nbformat.write(new_notebook(cells=made), str(path))
    return str(path)


def test_write_setup_cell_replaces_or_inserts_cell_1_and_leaves_the_rest(tmp_path):
    import nbformat

    from kfx.course import notebooks

    old = course_notebook(tmp_path / "01_a.ipynb", "## 01 · A", "%pip install kfx", "rows = 1", "print(rows)")
    new = course_notebook(tmp_path / "02_b.ipynb", "## 02 · B", "rows = 2", "print(rows)")
    assert notebooks.write_setup_cell([old, new]) == [old, new]
    for path, title, rows in ((old, "# 01 · A", "rows = 1"), (new, "# 02 · B", "rows = 2")):
        cells = nbformat.read(path, as_version=4).cells
        assert [c.source for c in cells] == [title, notebooks.setup_cell_source(), rows, "print(rows)"]
        assert cells[2].metadata["tags"] == ["parameters"]
    assert notebooks.setup_cell_source() == open(SETUP, encoding="utf-8").read().rstrip("\n")
    assert notebooks.write_setup_cell([old, new]) == []


def test_write_setup_cell_refuses_a_notebook_without_a_title_and_writes_none(tmp_path):
    from kfx.course import notebooks
    from kfx.errors import ConfigError

    good = course_notebook(tmp_path / "01_a.ipynb", "## 01 · A", "rows = 1")
    bad = course_notebook(tmp_path / "02_b.ipynb", "rows = 2")
    before = open(good).read()
    with pytest.raises(ConfigError, match=r"02_b.ipynb does not start with a markdown title cell; add one"):
        notebooks.write_setup_cell([good, bad])
    assert open(good).read() == before


def test_kfx_notebooks_write_setup_cell_command(tmp_path, kfx_cli):
    folder = tmp_path / "course"
    folder.mkdir()
    path = course_notebook(folder / "01_a.ipynb", "## 01 · A", "%pip install kfx", "rows = 1")
    done = kfx_cli("notebooks", "--folder", str(folder), "--write-setup-cell")
    assert done.returncode == 0, done.output
    assert done.stdout == f"The setup cell of 1 notebooks matches {SETUP}; rewrote 1: 01_a.ipynb\n"
    assert "--write-setup-cell" in kfx_cli("notebooks", "--help").stdout


@pytest.mark.install
def test_in_a_jupyter_kernel_on_another_python_the_stop_shows_as_its_message_alone(tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook

    from kfx.course import notebooks

    venv = tmp_path / "py312"
    subprocess.run([pyenv_python("12"), "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "ipykernel"],
                         env=isolated_env(tmp_path, path=SYSTEM_PATH), capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    spec_dir = tmp_path / "specs" / "kernels" / "py312"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3.12", "language": "python", "env": isolated_env(tmp_path)}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "specs"))
    write_kernelspec(tmp_path, VENV_PYTHON)
    nb = new_notebook(cells=[new_code_cell(notebooks.setup_cell_source()), new_code_cell("print('after')")])
    client = NotebookClient(nb, kernel_name="py312", resources={"metadata": {"path": NOTEBOOKS}}, timeout=120)
    with pytest.raises(CellExecutionError):  # Run All stops at the setup cell
        client.execute()
    (error,) = nb.cells[0].outputs
    version = version_of(str(venv / "bin" / "python"))
    assert (error.output_type, error.ename) == ("error", "KfxSetupStop")
    assert error.traceback == [SWITCH.format(version=version, python=VENV_PYTHON)]
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
