"""The package's shape: modules short enough to read in one sitting, and no import circles.

Reads the source only (nothing is imported), so it runs in well under a second.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("kfx", "trainer")
MAX_LINES = 300

STILL_LONG: set = set()
"""Modules still over MAX_LINES while other work splits them; one that is short now must leave this set."""


def _lines(path: pathlib.Path) -> int:
    """Lines as ``wc -l`` counts them."""
    return path.read_bytes().count(b"\n")


def _sources(root: pathlib.Path = ROOT, packages=PACKAGES) -> dict[str, pathlib.Path]:
    """Dotted module name to file, for every module of the packages."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            dotted = ".".join(path.relative_to(root).with_suffix("").parts)
            found[dotted.removesuffix(".__init__")] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, in_functions: bool):
    """The import statements that run when the module is imported: not under ``if TYPE_CHECKING:``
    and, unless ``in_functions``, not inside a function (which runs them only when it is called)."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
        elif in_functions or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def import_graph(modules: dict[str, pathlib.Path], in_functions: bool = False) -> dict[str, set[str]]:
    """Module to the modules of ``modules`` it imports: ``import a.b``, ``from a import b`` (the module
    ``a.b`` if there is one, else the package ``a``), ``from a.b import name`` and relative imports."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")), in_functions):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    anchor = ".".join(parts[: len(parts) - node.level + 1])
                    base = f"{anchor}.{base}" if base else anchor
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of two or more modules that reach each other (strongly connected components), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def test_no_module_is_over_300_lines():
    sizes = {str(path.relative_to(ROOT)): _lines(path) for path in _sources().values()}
    long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES and name not in STILL_LONG}
    assert long == {}, (
        f"{', '.join(f'{n} ({lines} lines)' for n, lines in sorted(long.items()))} over {MAX_LINES} lines: "
        "split it into modules of one job each."
    )


def test_the_list_of_long_modules_holds_only_long_modules():
    short = sorted(name for name in STILL_LONG if not (ROOT / name).is_file() or _lines(ROOT / name) <= MAX_LINES)
    assert short == [], f"{', '.join(short)} no longer over {MAX_LINES} lines (or gone): take it off STILL_LONG."


def test_no_import_circles_among_module_level_imports():
    circles = import_circles(import_graph(_sources()))
    assert circles == [], "Import circles: " + "; ".join(" <-> ".join(c) for c in circles)


@pytest.fixture
def package(tmp_path):
    """A package ``pkg`` whose modules ``a`` and ``b`` import each other at module level (``b`` relatively),
    ``c`` imports ``a`` only for a type checker, and ``d`` imports ``a`` inside a function."""
    files = {
        "__init__.py": "",
        "a.py": "import pkg.b\nimport pkg.c\nimport pkg.d\nimport os\n",
        "b.py": "from . import a\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import thing\n",
        "d.py": "def late():\n    from pkg import a\n    return a\n",
        "sub/__init__.py": "",
        "sub/e.py": "from ..c import x\n",
    }
    for name, text in files.items():
        (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / name).write_text(text)
    return _sources(tmp_path, ("pkg",))


def test_the_circle_finder_reads_relative_imports_and_leaves_out_type_checking_and_function_imports(package):
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.b", "pkg.c", "pkg.d"}
    assert graph["pkg.b"] == {"pkg.a"} and graph["pkg.sub.e"] == {"pkg.c"}
    assert graph["pkg.c"] == set() and graph["pkg.d"] == set()
    assert import_circles(graph) == [["pkg.a", "pkg.b"]]
    assert import_circles(import_graph(package, in_functions=True)) == [["pkg.a", "pkg.b", "pkg.d"]]
