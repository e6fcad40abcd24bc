"""Running the course notebooks with papermill: in order, parameterized, stopping at the first error.

Each notebook runs in a fresh kernel with its folder as working directory, as
JupyterLab runs it, and the executed copy lands in an output folder. Parameters
go only to the notebooks whose ``parameters`` cell declares them, so one set
(``sample_rows``, ``target``, …) serves the whole course. papermill is imported
inside the functions, so ``kfx --help`` does not load it.
"""

from __future__ import annotations

import copy
import glob
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, TextIO

from kfx.errors import ConfigError, StepFailed

PATTERN = "[0-9][0-9]_*.ipynb"
KERNEL = "python3"
"""The kernel spec to run in. Its command is ``python``, which Jupyter resolves to
the Python running papermill (``.venv/bin/python`` under ``.venv/bin/kfx``)."""
EXECUTED_DIR = os.path.join("notebooks", "out")
"""Where ``kfx notebooks`` writes the executed copies and ``kfx docs`` reads them (relative to the working folder)."""
SETUP_CELL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "setup_cell.py")
"""The first code cell of every course notebook, as a file (``kfx notebooks --write-setup-cell`` copies it in)."""


class NotebookFailed(StepFailed):
    """A notebook raised an error; the message names the notebook, the cell and the error."""


@dataclass
class NotebookRun:
    """One executed notebook.

    Attributes:
        name: The notebook's file name, e.g. ``03_data_validation.ipynb``.
        output: Path of the executed copy.
        seconds: Wall time of the run.
        parameters: The parameters it was given.
    """

    name: str
    output: str
    seconds: float
    parameters: dict[str, Any]


def default_folder() -> str:
    """The ``notebooks`` folder of the kfx repository (next to the ``kfx`` package)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(repo, "notebooks")


def course_notebooks(folder: str, only: Sequence[str] = ()) -> list[str]:
    """The numbered notebooks ``NN_topic.ipynb`` in ``folder``, in course order.

    Args:
        folder: Folder holding the notebooks.
        only: Keep the notebooks whose name starts with one of these (``03``, ``05_pipeline``).

    Raises:
        ConfigError: If the folder holds no numbered notebook, or ``only`` matches none.
    """
    paths = sorted(glob.glob(os.path.join(folder, PATTERN)))
    if not paths:
        raise ConfigError(f"{folder!r} holds no notebook named NN_topic.ipynb; pass the course's notebooks folder.")
    if only:
        paths = [p for p in paths if os.path.basename(p).startswith(tuple(only))]
        if not paths:
            raise ConfigError(f"No notebook in {folder!r} starts with {', '.join(only)}; pass e.g. --only 03.")
    return paths


SETUP_METADATA = {"tags": ["setup"], "jupyter": {"source_hidden": True}}
"""The setup cell's metadata: JupyterLab shows it collapsed (its output, the one line or the
stop, stays visible), and the course pages (``celltag_setup``) show its output under a label."""


def setup_cell_source() -> str:
    """The text of every course notebook's first code cell: ``kfx/course/setup_cell.py``, without its last newline."""
    with open(SETUP_CELL, encoding="utf-8") as file:
        return file.read().rstrip("\n")


def write_setup_cell(paths: Sequence[str]) -> list[str]:
    """Makes cell 1 of each notebook (after the title) the setup cell, as ``kfx/course/setup_cell.py`` reads now.

    An existing setup cell is replaced (its outputs cleared, its metadata ``SETUP_METADATA``); a notebook whose cell 1
    is the ``parameters`` cell or markdown gets the setup cell inserted before it.
    Notebooks whose setup cell already matches are not rewritten.

    Args:
        paths: The notebooks.

    Returns:
        The notebooks that were rewritten.

    Raises:
        ConfigError: If a notebook does not start with its markdown title cell; no notebook is written then.
    """
    import nbformat
    from nbformat.v4 import new_code_cell

    source, changed = setup_cell_source(), []
    books = {path: nbformat.read(path, as_version=4) for path in paths}
    for path, nb in books.items():
        if not nb.cells or nb.cells[0].cell_type != "markdown":
            raise ConfigError(f"{path} does not start with a markdown title cell; add one, then write the setup cell.")
    for path, nb in books.items():
        cell = nb.cells[1] if len(nb.cells) > 1 else None
        if cell is None or cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            nb.cells.insert(1, new_code_cell(source, metadata=copy.deepcopy(SETUP_METADATA)))
        elif cell.source == source and cell.metadata == SETUP_METADATA:
            continue
        else:
            cell.source, cell.outputs, cell.execution_count = source, [], None
            cell.metadata = nbformat.from_dict(copy.deepcopy(SETUP_METADATA))
        nbformat.write(nb, path)
        changed.append(path)
    return changed


def declared_parameters(path: str) -> dict[str, Any]:
    """The names in a notebook's ``parameters`` cell, with their default values as written."""
    import papermill

    return {name: info["default"] for name, info in papermill.inspect_notebook(path).items()}


def parse_value(text: str) -> Any:
    """A ``-p NAME VALUE`` value as papermill's own command line reads it: bool, None, int, float or str."""
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text in ("None", "none"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _cell_name(source: str) -> str:
    lines = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    first = lines[0] if lines else source.strip()[:60]
    return first if len(first) <= 70 else first[:67] + "..."


def _code_cell_number(executed_path: str) -> int:
    """The failed cell's number among the code cells of the notebook as written (papermill's cell left out)."""
    import nbformat

    number = 0
    for cell in nbformat.read(executed_path, as_version=4).cells:
        if cell.cell_type != "code" or "injected-parameters" in cell.metadata.get("tags", []):
            continue
        number += 1
        if any(o.output_type == "error" for o in cell.outputs):
            return number
    return number


def run_notebook(
    path: str,
    output_dir: str,
    parameters: Mapping[str, Any],
    kernel_name: str = KERNEL,
) -> NotebookRun:
    """Executes one notebook with papermill into ``output_dir``.

    Args:
        path: The notebook.
        output_dir: Folder for the executed copy (same file name).
        parameters: Values for its ``parameters`` cell; names it does not declare are left out.
        kernel_name: Kernel spec to run in. Defaults to ``python3``.

    Returns:
        The run.

    Raises:
        NotebookFailed: Naming the notebook, the cell (number and first line) and the error.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    name = os.path.basename(path)
    declared = declared_parameters(path)
    given = {k: v for k, v in parameters.items() if k in declared}
    os.makedirs(output_dir, exist_ok=True)
    output = os.path.join(output_dir, name)
    started = time.time()
    try:
        papermill.execute_notebook(
            path,
            output,
            parameters=given,
            kernel_name=kernel_name,
            cwd=os.path.dirname(os.path.abspath(path)),
            progress_bar=False,
        )
    except PapermillExecutionError as err:
        raise NotebookFailed(
            f"{name} failed in code cell {_code_cell_number(output)} ({_cell_name(err.source)!r}) "
            f"with {err.ename}: "
            f"{str(err.evalue).strip().splitlines()[0] if str(err.evalue).strip() else ''}; "
            f"the executed notebook with the traceback is {output}."
        ) from None
    return NotebookRun(name, output, time.time() - started, given)


def run_notebooks(
    paths: Sequence[str],
    output_dir: str,
    parameters: Optional[Mapping[str, Any]] = None,
    kernel_name: str = KERNEL,
    out: TextIO = sys.stdout,
) -> list[NotebookRun]:
    """Executes notebooks in order and stops at the first that fails.

    Notebooks that declare ``runs_dir`` get ``<output_dir>/runs`` unless it is
    given, so pipeline runs land beside the executed notebooks.

    Args:
        paths: The notebooks, in the order to run them.
        output_dir: Folder for the executed copies.
        parameters: Values for the notebooks' ``parameters`` cells.
        kernel_name: Kernel spec to run in. Defaults to ``python3``.
        out: Where progress lines go. Defaults to stdout.

    Returns:
        Every run, in order.

    Raises:
        ConfigError: If no notebook declares one of ``parameters`` (a typo would otherwise pass unseen).
        NotebookFailed: For the first notebook that fails (the ones after it do not run).
    """
    declared = set().union(*(declared_parameters(p) for p in paths)) if paths else set()
    unknown = sorted(set(parameters or {}) - declared)
    if unknown:
        raise ConfigError(
            f"No notebook declares {', '.join(unknown)}; the notebooks' parameters are: {', '.join(sorted(declared))}."
        )
    output_dir = os.path.abspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    values = {"runs_dir": os.path.join(output_dir, "runs"), **(parameters or {})}
    runs = []
    for index, path in enumerate(paths, 1):
        print(f"[{index}/{len(paths)}] {os.path.basename(path)} ...", file=out, flush=True)
        run = run_notebook(path, output_dir, values, kernel_name)
        print(f"[{index}/{len(paths)}] {run.name} done in {run.seconds:.1f} s", file=out, flush=True)
        runs.append(run)
    return runs


def quiet() -> None:
    """Keeps a notebook's output to what teaches something.

    TensorFlow's C++ start-up lines, Google client libraries' Python-version
    notices and Beam's optional-package warnings say nothing about the lesson;
    they are silenced for this kernel. Call it before the first TFDV import.
    """
    import logging
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*non-Python base image.*")
    logging.getLogger().setLevel(logging.ERROR)
