"""CONTRIBUTING's "Adding a component to kfx", done as a contributor would, in a copy of the repository:
the files it says, no more; the new task is in the pipeline, reported, and in the README's table."""

import os
import re
import shutil
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PLAIN_FUNCTION = '''

def describe_table(train_path: str, validation_path: str, test_path: str, description_path: str,
                   label_column: str) -> dict:
    """Counts the missing values of each split."""
    import pandas as pd

    missing = {name: int(pd.read_csv(path).isna().sum().sum())
               for name, path in (("train", train_path), ("validation", validation_path), ("test", test_path))}
    with open(description_path, "w") as f:
        f.write(f"{missing}\\n")
    return {"missing": sum(missing.values()), **{f"{k}_missing": v for k, v in missing.items()}}
'''

TEST_MODULE = """
from kfx import data_steps


def test_describe_table_counts_missing_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,Class\\n1,x\\n,y\\n")
    out = data_steps.describe_table(str(path), str(path), str(path), str(tmp_path / "d"), "Class")
    assert out["missing"] == 3
"""


def _blocks(text: str, heading: str) -> list[str]:
    """The code blocks of a CONTRIBUTING section, dedented."""
    section = text.split(f"## {heading}", 1)[1].split("\\n## ", 1)[0]
    return [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", section, re.S)]


def test_adding_a_component_to_kfx_touches_the_five_files_contributing_names(tmp_path):
    copy = tmp_path / "kfx-repo"
    shutil.copytree(
        REPO,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", ".cache", "runs", "mutants", "notebooks", "docs", "images", "__pycache__", "*.egg-info"
        ),
    )
    git = ["git", "-C", str(copy), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "before"], check=True)

    guide = open(os.path.join(REPO, "CONTRIBUTING.md"), encoding="utf-8").read()
    module, call = _blocks(guide, "Adding a component to kfx")
    # 1. the plain function; 2. the component and its report, as CONTRIBUTING writes them.
    with open(copy / "kfx" / "data_steps.py", "a") as f:
        f.write(PLAIN_FUNCTION)
    (copy / "kfx" / "components" / "describe_table.py").write_text(module)
    # 3. one call in the pipeline function, after the import.
    pipeline = (copy / "kfx" / "pipelines" / "local_train.py").read_text()
    anchor = '    splits = {name: data.outputs[name] for name in ("train_data", "validation_data", "test_data")}\n'
    assert anchor in pipeline
    imports = "".join(f"{line}\n" for line in call.splitlines() if line.startswith("from "))
    call = "".join(
        f"    {line}\n"
        for line in call.splitlines()
        if line.strip() and not line.startswith(("from ", "data =", "..."))
    )
    pipeline = pipeline.replace("from kfx.config import Config\n", f"from kfx.config import Config\n{imports}")
    (copy / "kfx" / "pipelines" / "local_train.py").write_text(pipeline.replace(anchor, anchor + call))
    # 4. its test module; 5. the README's table, regenerated.
    (copy / "tests" / "components" / "test_describe_table.py").write_text(TEST_MODULE)
    env = {**os.environ, "PYTHONPATH": str(copy)}  # the copy's kfx, not the one installed
    subprocess.run([sys.executable, "tools/component_table.py", "--write"], cwd=copy, env=env, check=True)

    changed = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True, check=True).stdout
    assert sorted(line[3:] for line in changed.splitlines()) == [
        "README.md",
        "kfx/components/describe_table.py",
        "kfx/data_steps.py",
        "kfx/pipelines/local_train.py",
        "tests/components/test_describe_table.py",
    ]

    check = textwrap.dedent("""
        from kfx.pipeline_tasks import tasks_of
        from kfx.pipelines.local_train import beans
        tasks = tasks_of(beans)
        print(tasks.names.index("describe-table"), tasks.reports["describe-table"].section, len(tasks.names))
    """)
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=copy, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "description", "10"]
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/components/test_describe_table.py",
            "tests/test_component_table.py",
        ],
        capture_output=True,
        text=True,
        cwd=copy,
        env=env,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
