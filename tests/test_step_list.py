"""The step declarations are the one place a step lives: docs come from them, and a new step
is one module and one line in the step list."""


import os
import subprocess
import sys
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from kfx.config import Config
from kfx.events import TaskEvent
from kfx.step import DATA, Figure, Step, component, of
from kfx.summary import build_summary, format_summary, run_figures

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@component
def count_rows(train_data: Input[Dataset], description: Output[Artifact], label_column: str) -> NamedTuple(
    "CountOutputs", [("rows", int)]
):
    """Counts the training rows and the classes (a step a team might add)."""
    import pandas as pd

    table = pd.read_csv(train_data.path)
    with open(description.path, "w") as f:
        f.write(f"{len(table)} rows, {table[label_column].nunique()} classes\n")
    description.metadata.update(rows=len(table), classes=int(table[label_column].nunique()))
    return (len(table),)


COUNT = Step(
    count_rows,
    types={"description": "TableDescription"},
    section="description",
    figures=(Figure("classes", "description.classes", name="classes", kind=DATA, cast=int), Figure("uri", "description")),
    describe=lambda d: [f"described {d['classes']} classes: {d['uri']}"],
)


def test_the_readme_table_of_components_is_the_generated_one():
    generated = subprocess.run([sys.executable, os.path.join(REPO, "tools", "component_table.py")],
                               capture_output=True, text=True, check=True).stdout.strip()
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert generated in readme, "README.md's component table is stale: run python tools/component_table.py --write"
    assert generated.count("\n| `") == 13  # one row per component module


def test_a_new_step_is_one_module_and_one_line_in_the_step_list(beans_sample, tmp_path):
    from kfx.components import import_dataset
    from kfx.pipeline import STEPS
    from kfx.wiring import pipeline_function, plan, run_in_process

    source = tmp_path / "beans.csv"
    beans_sample.to_csv(source, index=False)
    steps = (of(import_dataset), COUNT)  # the one line: the new step after the one whose output it reads
    config = Config(source=str(source))
    wired = plan(steps, config)
    assert [(w.input, w.kind, w.source, w.producer) for w in wired.wires["count-rows"]] == [
        ("train_data", "output", "train_data", "import-dataset"), ("label_column", "parameter", "label_column", "")]
    # It compiles into the pipeline, wired to import-dataset's output.
    pipeline = pipeline_function(wired, "with-count", "test", lambda step, task, is_kfx: task)
    task = pipeline.pipeline_spec.root.dag.tasks["count-rows"]
    assert task.inputs.artifacts["train_data"].task_output_artifact.producer_task == "import-dataset"
    # It runs, and its figures reach the summary, the console and the run's figures.
    out = run_in_process(wired, str(tmp_path / "run"))
    assert out["count-rows"]["rows"] == 479 and out["count-rows"]["description"].metadata["classes"] == 7
    events = [TaskEvent(name, "complete", 0.0, ended=1.0, outputs=outputs) for name, outputs in out.items()]
    summary = build_summary(config, "r", str(tmp_path), events, 1.0, steps)
    assert summary["description"] == {"classes": 7, "uri": str(tmp_path / "run" / "count-rows" / "description")}
    assert f"  described 7 classes: {summary['description']['uri']}" in format_summary(summary).splitlines()
    assert run_figures(events)["classes"] == 7
    assert COUNT not in STEPS  # the library's own list is untouched
