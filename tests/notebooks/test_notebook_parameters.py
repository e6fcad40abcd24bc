"""The course's parameters agree across notebooks, so one `kfx notebooks -p NAME VALUE` means one thing everywhere."""

from __future__ import annotations

import os
import re

import nbformat

# Code that reads or samples the beans table (kfx's reader, its sampler, the packaged file, a pipeline run).
READS_BEANS = re.compile(r"\b(read_source|stratified_sample|beans_path|run_local|import_dataset)\b")


def _declared(course_paths) -> dict[str, dict[str, str]]:
    from kfx.course import notebooks

    return {os.path.basename(p): notebooks.declared_parameters(p) for p in course_paths}


def _code_after_parameters(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    return "\n".join(c.source for c in cells[2:])


def test_a_parameter_declared_in_several_notebooks_has_one_default(course_paths):
    defaults: dict[str, dict[str, str]] = {}
    for name, parameters in _declared(course_paths).items():
        for parameter, default in parameters.items():
            defaults.setdefault(parameter, {})[name] = default
    disagreements = {p: by_notebook for p, by_notebook in defaults.items() if len(set(by_notebook.values())) > 1}
    assert disagreements == {}, (
        "These parameters have different defaults in different notebooks, so -p NAME VALUE changes "
        f"different things: {disagreements}; give each the same default (and meaning) everywhere."
    )
    # The shared ones the course relies on, with their CI-safe defaults.
    assert set(defaults["sample_rows"].values()) == {"600"} and set(defaults["seed"].values()) == {"42"}
    assert len(defaults["runs_dir"]) == len(course_paths)


def test_every_notebook_that_samples_the_beans_table_declares_and_uses_sample_rows(course_paths):
    declared = _declared(course_paths)
    readers = [p for p in course_paths if READS_BEANS.search(_code_after_parameters(p))]
    assert {"01_components.ipynb", "03_data_validation.ipynb", "05_pipeline.ipynb"} <= {os.path.basename(p) for p in readers}
    for path in readers:
        name = os.path.basename(path)
        assert "sample_rows" in declared[name], f"{name} reads the beans table but declares no sample_rows parameter."
        assert "sample_rows" in _code_after_parameters(path), f"{name} declares sample_rows but never uses it."
        assert "seed" in declared[name] or "seed" not in _code_after_parameters(path), f"{name} uses seed without declaring it."
