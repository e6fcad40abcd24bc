"""Benchmark of the data steps at scale: seconds and peak memory of each step, per table size.

Run ``.venv/bin/python benchmarks/make_tables.py`` first (it writes the tables this reads),
then ``.venv/bin/python benchmarks/bench_data.py``. For the packaged beans table, beans × 10
(136,110 rows) and beans × 100 (1,361,100 rows) it times, each in a fresh child process as a
pipeline task runs it, the functions of kfx.data_steps behind:

- ``import_dataset`` (read the table, sample / split it, write one CSV per split),
- ``generate_statistics`` with the ``memory`` engine (TFDV on DataFrames),
- ``infer_schema`` and ``validate_statistics`` (TFDV's compiled core),
- ``evaluate`` (read the test split and score a model trained once on the beans split),

and, on the × 100 splits, ``generate_statistics`` with the ``beam`` engine on Beam's
DirectRunner in one process and with one worker process per core.

``seconds`` is the step function's own time (with the imports it does lazily, as a task
pays them); ``cpu_s`` the CPU time of the child and its own children (Beam's workers),
which other work on a shared machine does not inflate as it does wall time (``load_before``
is the machine's one-minute load average when the step started); ``rss_mb`` the child's
peak resident memory (``ru_maxrss``); ``workers_rss_mb`` the largest peak of the child's
own child processes. The figures are printed as a table and written to
``benchmarks/out/data.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = os.path.join(HERE, "out", "tables")
SIZES = {"beans": "", "x10": "beans_x10.csv", "x100": "beans_x100.csv"}
STEPS = ("import_dataset", "generate_statistics", "infer_schema", "validate_statistics", "evaluate")
SINGLE = {"direct_running_mode": "in_memory", "direct_num_workers": 1}
MULTI = {"direct_running_mode": "multi_processing", "direct_num_workers": os.cpu_count() or 1}

# Runs one kfx.data_steps or kfx.model_steps function and reports its time and the process's peak
# memory as the last line.
CHILD = """
import json, resource, sys, time
call = json.loads(sys.argv[1])
from kfx import data_steps, model_steps
step = getattr(data_steps, call["step"], None) or getattr(model_steps, call["step"])
started = time.perf_counter()
result = step(*call["args"], **call["kwargs"])
seconds = time.perf_counter() - started
own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rss_kb": own.ru_maxrss, "children_rss_kb": children.ru_maxrss}))
"""


def run_step(step: str, *args, **kwargs) -> dict:
    """Runs the step function ``<step>(*args, **kwargs)`` in a fresh Python and returns its figures."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps({"step": step, "args": args, "kwargs": kwargs})],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "seconds": round(figures["seconds"], 2),
        "process_s": round(wall, 2),
        "cpu_s": round(figures["cpu_s"], 1),
        "load_before": round(load, 2),
        "rss_mb": round(figures["rss_kb"] / 1024),
        "workers_rss_mb": round(figures["children_rss_kb"] / 1024),
    }


def table_path(size: str, tables: str) -> str:
    """The source URI of a table size ("" is the packaged beans table).

    Raises:
        SystemExit: If a made table is missing, saying how to make it.
    """
    name = SIZES[size]
    if not name:
        return ""
    path = os.path.join(tables, name)
    if not os.path.isfile(path):
        raise SystemExit(
            f"Table {path} is missing; make the tables first with `.venv/bin/python benchmarks/make_tables.py`."
        )
    return path


def split_paths(folder: str) -> list[str]:
    return [os.path.join(folder, f"{split}.csv") for split in ("train", "validation", "test")]


def train_reference_model(folder: str) -> str:
    """Trains the pipeline's model once on the beans split (untimed): evaluate needs a model."""
    from kfx.config import Config

    config = Config()
    splits = split_paths(os.path.join(folder, "splits"))
    run_step("import_dataset", "", config.label_column, *splits, list(config.fractions), config.seed, 0)
    model_dir = os.path.join(folder, "model")
    from kfx.contract import TRAINER_PARAMETERS

    run_step("train", *splits, model_dir, **{name: getattr(config, name) for name in TRAINER_PARAMETERS})
    return model_dir


def bench_size(size: str, source: str, folder: str, model_dir: str) -> dict:
    """Runs the data steps one after another on one table, each in its own process."""
    from kfx.config import Config

    config = Config()
    splits = split_paths(os.path.join(folder, "splits"))
    stats, schema = os.path.join(folder, "statistics"), os.path.join(folder, "schema.pbtxt")
    calls = {
        "import_dataset": (source, config.label_column, *splits, list(config.fractions), config.seed, 0),
        "generate_statistics": (*splits, stats, os.path.join(folder, "stats.html"), "memory", {}),
        "infer_schema": (stats, schema),
        "validate_statistics": (
            stats,
            schema,
            os.path.join(folder, "anomalies"),
            os.path.join(folder, "report.md"),
            config.skew_threshold,
            config.drift_threshold,
            False,
        ),
        # No champion to score beside the model, and a passed serving check: the model alone is timed.
        "evaluate": (
            model_dir,
            splits[2],
            os.path.join(folder, "evaluation.html"),
            0.0,
            None,
            config.accuracy_tolerance,
            True,
        ),
    }
    result = {}
    for step in STEPS:
        result[step] = run_step(step, *calls[step])
        print(
            f"{size:6} {step:22} {result[step]['seconds']:7.1f} s  {result[step]['cpu_s']:7.1f} s cpu  "
            f"{result[step]['rss_mb']:6} MB  (load {result[step]['load_before']})",
            flush=True,
        )
    rows = [sum(1 for _ in open(p)) - 1 for p in splits]
    return {"source": source or "packaged beans", "rows": sum(rows), "steps": result}


def bench_beam(folder: str) -> dict:
    """The beam engine on the splits in ``folder``: one process, then one worker process per core."""
    splits = split_paths(os.path.join(folder, "splits"))
    result = {}
    for mode, options in (("single", SINGLE), ("multi", MULTI)):
        out = os.path.join(folder, f"beam-{mode}")
        result[mode] = {
            "options": options,
            **run_step(
                "generate_statistics",
                *splits,
                os.path.join(out, "statistics"),
                os.path.join(out, "stats.html"),
                "beam",
                options,
            ),
        }
        print(
            f"beam   {mode:22} {result[mode]['seconds']:7.1f} s  {result[mode]['cpu_s']:7.1f} s cpu  "
            f"{result[mode]['rss_mb']:6} MB  (workers {result[mode]['workers_rss_mb']} MB, "
            f"load {result[mode]['load_before']})",
            flush=True,
        )
    return result


def print_table(result: dict) -> None:
    sizes = list(result["tables"])
    print()
    print(f"{'step':22}" + "".join(f"{s + ' s':>10}{s + ' MB':>10}" for s in sizes))
    for step in STEPS:
        cells = "".join(
            f"{result['tables'][s]['steps'][step]['seconds']:10.1f}{result['tables'][s]['steps'][step]['rss_mb']:10}"
            for s in sizes
        )
        print(f"{step:22}{cells}")
    total = "".join(f"{sum(v['seconds'] for v in result['tables'][s]['steps'].values()):10.1f}{'':10}" for s in sizes)
    print(f"{'total':22}{total}")
    for mode, figures in result.get("beam", {}).get("runs", {}).items():
        print(
            f"beam {mode:17}{figures['seconds']:10.1f}{figures['rss_mb']:10}  "
            f"cpu {figures['cpu_s']} s, workers {figures['workers_rss_mb']} MB"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=TABLES, help="Folder of the made tables (default: %(default)s).")
    parser.add_argument("--sizes", default=",".join(SIZES), help="Table sizes to run (default: %(default)s).")
    parser.add_argument("--skip-beam", action="store_true", help="Skip the beam engine at the largest size.")
    parser.add_argument(
        "--out", default=os.path.join(HERE, "out", "data.json"), help="Result file (default: %(default)s)."
    )
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"Unknown size(s) {', '.join(unknown)}; use some of: {', '.join(SIZES)}.")
    sources = {size: table_path(size, args.tables) for size in sizes}  # fails before any work

    result: dict = {"cpus": os.cpu_count(), "tables": {}}
    with tempfile.TemporaryDirectory(prefix="kfx-bench-data-") as work:
        model_dir = train_reference_model(os.path.join(work, "reference"))
        for size in sizes:
            folder = os.path.join(work, size)
            result["tables"][size] = bench_size(size, sources[size], folder, model_dir)
        if not args.skip_beam:
            result["beam"] = {"size": sizes[-1], "runs": bench_beam(os.path.join(work, sizes[-1]))}

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print_table(result)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
