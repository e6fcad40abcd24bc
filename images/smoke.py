"""Host-side helpers of images/build.sh's smoke runs (run with the repository's .venv).

    smoke.py data WORK                  stratified splits of a small sample of the beans table
    smoke.py component-command WORK MNT the compiled command of generate_statistics, placeholders filled
    smoke.py check-statistics WORK      the statistics artifact exists, parses and has the right row counts
    smoke.py serving-series             the scikit-learn series of Vertex AI's serving image, e.g. 1.5

WORK is the host folder that build.sh mounts at MNT inside the containers; every path
written into a container command is under MNT.
"""

from __future__ import annotations

import json
import os
import sys

LABEL = "Class"
SAMPLE_ROWS = 600  # a few hundred rows: enough for every class in every split, seconds to train
SPLITS = ("train", "validation", "test")
TASK = "generate-statistics"  # the task folder of the component run, under WORK


def fail(message: str) -> None:
    print(f"smoke: {message}", file=sys.stderr)
    sys.exit(1)


def split_paths(root: str) -> dict[str, str]:
    return {name: os.path.join(root, "data", f"{name}.csv") for name in SPLITS}


def write_data(work: str) -> None:
    """Writes train / validation / test CSVs of a stratified sample, as import-dataset would."""
    from kfx import data, splitting
    from kfx.config import Config

    config = Config()
    table = splitting.stratified_sample(data.read_source(""), LABEL, SAMPLE_ROWS, config.seed)
    os.makedirs(os.path.join(work, "data"), exist_ok=True)
    counts = {}
    for name, frame in splitting.stratified_split(table, LABEL, config.fractions, config.seed).items():
        frame.to_csv(split_paths(work)[name], index=False)
        counts[name] = len(frame)
    json.dump(counts, open(os.path.join(work, "data", "rows.json"), "w"))
    print(f"data: {sum(counts.values())} rows of the beans table, {counts}, label {LABEL!r}")


def component_command(work: str, mount: str) -> None:
    """Writes the container command kfp compiles for generate_statistics, with every placeholder filled.

    The same steps as kfp.local's task dispatcher (kfp 2.13): executor input from the
    component spec, then placeholder replacement; only the paths are the container's.
    The command goes to WORK/command (NUL-separated: the program text has newlines).
    """
    from kfp import dsl
    from kfp.local import executor_input_utils, placeholder_utils, utils

    from kfx.components.generate_statistics import generate_statistics

    spec = generate_statistics.pipeline_spec
    ((component_name, component_spec),) = spec.components.items()
    executor = spec.deployment_spec["executors"][component_spec.executor_label]
    container = utils.struct_to_executor_spec(executor).container
    arguments = {
        f"{name}_data": dsl.Dataset(name=f"{name}_data", uri=path, metadata={})
        for name, path in split_paths(mount).items()
    }
    task_root = os.path.join(mount, TASK)
    executor_input = executor_input_utils.construct_executor_input(
        component_spec=component_spec, arguments=arguments, task_root=task_root, block_input_artifact=False
    )
    command = placeholder_utils.replace_placeholders(
        full_command=[*container.command, *container.args],
        executor_input_dict=executor_input_utils.executor_input_to_dict(executor_input, component_spec),
        pipeline_resource_name="kfx-images-smoke",
        task_resource_name=executor_input_utils.get_local_task_resource_name(component_name),
        pipeline_root=mount,
        unique_pipeline_id=placeholder_utils.make_random_id(),
    )
    os.makedirs(os.path.join(work, TASK), exist_ok=True)
    with open(os.path.join(work, "command"), "wb") as out:
        out.write(b"".join(arg.encode() + b"\0" for arg in command))
    print(f"component: {component_name}, command {command[0]} {command[1]} … ({len(command)} arguments)")


def check_statistics(work: str) -> None:
    """The artifact folder parses with kfx.statistics and counts the rows that went in."""
    from kfx import statistics

    expected = json.load(open(os.path.join(work, "data", "rows.json")))
    task = os.path.join(work, TASK)
    stats = statistics.load_statistics(os.path.join(task, "statistics"))
    if sorted(stats) != sorted(SPLITS):
        fail(f"the statistics artifact holds splits {sorted(stats)}, not {sorted(SPLITS)}")
    summary = statistics.summarize(stats)
    for name, rows in expected.items():
        if summary[name]["rows"] != rows:
            fail(f"split {name} has {summary[name]['rows']} rows in its statistics, {rows} in its CSV")
    with open(os.path.join(task, "statistics_view"), encoding="utf-8") as page:
        if "<html>" not in page.read(4096):
            fail("the statistics_view artifact is not an HTML page")
    output = json.load(open(os.path.join(task, "executor_output.json")))
    features = output["parameterValues"]["features"]
    if features != summary["train"]["features"] or features != 17:
        fail(f"the component returned features={features}; the beans table has 17 columns")
    rows = ", ".join(f"{name} {s['rows']}" for name, s in summary.items())
    print(f"statistics: {rows} rows; {features} features; Facets view and executor output written")


def serving_series() -> None:
    """``1.5``: the scikit-learn series of the serving image kfx uploads models with."""
    from kfx.vertex.images import serving_image
    from kfx.vertex.images import serving_series as series_of

    print(series_of(serving_image()))


def main(argv: list[str]) -> None:
    commands = {
        "data": lambda: write_data(argv[1]),
        "component-command": lambda: component_command(argv[1], argv[2]),
        "check-statistics": lambda: check_statistics(argv[1]),
        "serving-series": serving_series,
    }
    if not argv or argv[0] not in commands:
        fail(f"usage: {__doc__.strip().splitlines()[2].strip()} …; commands: {', '.join(commands)}")
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
