"""Fixtures of the notebook tests: the course notebooks, TFDV statistics of a beans sample, small notebooks."""

from __future__ import annotations

import os
from typing import Callable, Sequence

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOKS = os.path.join(REPO, "notebooks")


@pytest.fixture(scope="session")
def course_paths() -> list[str]:
    """The course notebooks, in order."""
    from kfx.course import notebooks

    return notebooks.course_notebooks(NOTEBOOKS)


@pytest.fixture(scope="session")
def sample_frames(beans_sample):
    """The 600-row beans sample split as the pipeline splits it: {split: DataFrame}."""
    from kfx import splitting

    return splitting.stratified_split(beans_sample, "Class", (0.8, 0.1, 0.1), 42)


@pytest.fixture(scope="session")
def sample_stats(sample_frames):
    """TFDV statistics of each split of the sample: {split: DatasetFeatureStatisticsList}."""
    from kfx import statistics

    return statistics.compute_statistics(sample_frames)


@pytest.fixture
def make_notebook(tmp_path) -> Callable[..., str]:
    """Writes a small notebook: ``make_notebook(name, parameters_source, *code_sources)`` -> its path."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    def make(name: str, parameters: str, *sources: Sequence[str], folder: str = "") -> str:
        cells = [new_code_cell(parameters, metadata={"tags": ["parameters"]})]
        cells += [new_code_cell(source) for source in sources]
        nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        target = os.path.join(folder or str(tmp_path / "nb"), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        nbformat.write(nb, target)
        return target

    return make
