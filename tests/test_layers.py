"""The package's layering: no two modules reach each other through imports.

A circle makes a module impossible to understand (or test) without the other, and
it is how a lower layer ends up depending on a higher one.
"""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _structure():
    spec = importlib.util.spec_from_file_location("structure", ROOT / "tools" / "structure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_circles():
    structure = _structure()
    graph = structure.import_graph(structure.modules(str(ROOT)))
    assert structure.import_circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    structure = _structure()
    assert structure.import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_trainer_and_the_core_do_not_import_vertex_or_the_pipeline():
    """The trainer runs in its own image, and the topic modules under every target."""
    structure = _structure()
    graph = structure.import_graph(structure.modules(str(ROOT)))
    low = [
        "kfx_trainer.task",
        "kfx_trainer.model",
        "kfx.model_inputs",
        "kfx.contract",
        "kfx.metrics",
        "kfx.data",
        "kfx.storage",
        "kfx.evaluation",
        "kfx.registry",
        "kfx.config",
        "kfx.fragments",
    ]
    reached = {
        name: sorted(t for t in graph.get(name, ()) if t.startswith(("kfx.vertex", "kfx.pipeline", "kfx.local")))
        for name in low
    }
    assert reached == {name: [] for name in low}


def test_only_the_course_commands_import_the_course_helpers():
    """kfx.course serves the notebooks and their pages; the library a team imports does not depend on it."""
    structure = _structure()
    graph = structure.import_graph(structure.modules(str(ROOT)))
    importers = sorted(
        name
        for name, targets in graph.items()
        if not name.startswith("kfx.course") and any(t.startswith("kfx.course") for t in targets)
    )
    assert importers == ["kfx.commands.docs", "kfx.commands.notebooks"]
