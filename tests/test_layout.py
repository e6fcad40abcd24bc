"""The package's shape: modules short enough to read in one sitting (import circles: test_layers).

Reads the source only (nothing is imported), so it runs in well under a second.
"""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("kfx", "kfx_trainer")
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
