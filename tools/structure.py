"""Structure figures of kfx: import circles, the largest modules, and how often each default is written.

    python tools/structure.py [ROOT]

Reads the source only (nothing is imported). An import circle is a group of
modules that reach each other through imports, at module top or inside functions
(imports under ``if TYPE_CHECKING:`` run nothing and are left out).
"""

from __future__ import annotations

import ast
import collections
import os
import re
import sys

PACKAGES = ("kfx", "kfx_trainer")
# A default written as a literal: what it looks like in a signature, a dataclass or argparse.
DEFAULTS = {
    'label "Class"': r'"Class"',
    "seed 42": r"\bseed(: int)? ?= ?(_option\()?42\b|--seed.*default=42",
    "svm_c 10": r"\b(svm_c|c)(: float)? ?= ?(_option\()?10(\.0)?\b|--svm-c.*default=10",
    "min_accuracy 0.9": r"min_accuracy(: float)? ?= ?(_option\()?0\.9\b",
    "skew_threshold 0.15": r"skew_threshold(: float)? ?= ?(_option\()?0\.15\b",
}


def modules(root: str) -> dict[str, str]:
    """Dotted module name to file path, for every module of the packages."""
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(root, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                    found[dotted.removesuffix(".__init__")] = path
    return found


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:``, which only a type checker reads."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def import_graph(mods: dict[str, str]) -> dict[str, set[str]]:
    """Module to the package modules it imports."""
    graph: dict[str, set[str]] = collections.defaultdict(set)
    for name, path in mods.items():
        for node in _runtime_nodes(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from pkg import sub` imports the submodule; `from pkg import name`, the package.
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in mods and t != name)
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of two or more modules that import each other (strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def main(root: str = ".") -> int:
    mods = modules(root)
    circles = import_circles(import_graph(mods))
    print(f"import circles: {len(circles)}")
    for group in circles:
        print("  " + " <-> ".join(group))
    sizes = sorted(((sum(1 for _ in open(p, encoding="utf-8")), n) for n, p in mods.items()), reverse=True)
    print("largest modules: " + ", ".join(f"{n} {s}" for s, n in sizes[:6]))
    for label, pattern in DEFAULTS.items():
        places = [n for n, p in mods.items() if re.search(pattern, open(p, encoding="utf-8").read())]
        print(f"{label}: written in {len(places)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
