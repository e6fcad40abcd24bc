"""The README's table of components is generated from the components themselves."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_readme_table_of_components_is_the_generated_one():
    generated = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "component_table.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.strip()
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert generated in readme, "README.md's component table is stale: run python tools/component_table.py --write"
    import kfx.components

    # One row per component module (counted, so a new component changes only its own module).
    assert generated.count("\n| `") == len(kfx.components.__all__) >= 11
