"""Benchmark: what recording lineage adds to a local pipeline run.

Run with ``.venv/bin/python benchmarks/bench_lineage.py`` (``--pairs 3 --sample-rows 600``
by default). After one warm-up run that is not counted (the first run on a machine pays for cold
file caches, about 10 s here), each pair runs the local pipeline twice in fresh processes, once with
lineage recorded and once without (``record_lineage``), alternating which goes
first so drift on a shared machine hits both arms alike. Every run gets its own
runs folder, so the "on" arm also pays for creating the store.

Reported: the median wall time of each arm and the overhead of the medians, the
median of the per-pair overheads, the same for the CPU time of each run's whole
process tree (less moved by other people's load than wall time), and the time
spent inside the recorder's own calls (opening the store, writing each step, drawing the graph), which is the
cost itself without the run-to-run noise of ~30 s pipeline runs. The figures are
printed and written to ``benchmarks/out/lineage.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# One arm: a local run in a fresh process, timing the recorder's calls from the outside.
ARM = r"""
import io, json, sys, time
from kfx.config import Config
from kfx.lineage import recorder as rec
from kfx.local import run_local

spent = []

def timed(method):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)
    return wrapper

for name in ("__init__", "task_started", "task_finished", "run_finished"):
    setattr(rec.LineageRecorder, name, timed(getattr(rec.LineageRecorder, name)))

runs_dir, sample_rows, record = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "on"
config = Config(runs_dir=runs_dir, sample_rows=sample_rows, fail_on_anomalies=False, record_lineage=record)
started = time.perf_counter()
result = run_local(config, out=io.StringIO())
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "recorder_seconds": sum(spent), "status": result.status,
                  "lineage_graph": result.summary.get("lineage_graph"),
                  "lineage_error": result.summary.get("lineage_error")}))
"""


def run_arm(record: bool, sample_rows: int) -> dict:
    """One local run in a fresh process; returns its timing."""
    runs_dir = tempfile.mkdtemp(prefix=f"bench-lineage-{'on' if record else 'off'}-")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-c", ARM, runs_dir, str(sample_rows), "on" if record else "off"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{proc.stdout}\n{proc.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # CPU time of the run's whole process tree: less moved by other load on a shared machine than wall time.
    result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result["status"] != "complete" or result["lineage_error"]:
        raise SystemExit(f"benchmark run did not complete cleanly: {result}")
    if record and not result["lineage_graph"]:
        raise SystemExit("the recording run drew no lineage graph")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="Pairs of runs (on, off). Defaults to 3.")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="Runs made and thrown away first (cold file caches slow the first run). Defaults to 1.",
    )
    parser.add_argument(
        "--sample-rows", type=int, default=600, help="Rows of beans per run (0 for all 13,611). Defaults to 600."
    )
    args = parser.parse_args(argv)
    for i in range(args.warmup):
        print(f"warm-up {i + 1}: {run_arm(False, args.sample_rows)['seconds']:.2f} s wall (not counted)", flush=True)
    on, off = [], []
    for pair in range(args.pairs):
        order = (True, False) if pair % 2 == 0 else (False, True)
        for record in order:
            result = run_arm(record, args.sample_rows)
            (on if record else off).append(result)
            print(
                f"pair {pair + 1}: lineage {'on ' if record else 'off'} {result['seconds']:.2f} s wall, "
                f"{result['cpu_seconds']:.2f} s CPU"
                + (f" (recorder {result['recorder_seconds']:.3f} s)" if record else ""),
                flush=True,
            )
    median_on = statistics.median(r["seconds"] for r in on)
    median_off = statistics.median(r["seconds"] for r in off)
    recorder = statistics.median(r["recorder_seconds"] for r in on)
    cpu_on = statistics.median(r["cpu_seconds"] for r in on)
    cpu_off = statistics.median(r["cpu_seconds"] for r in off)
    figures = {
        "pairs": args.pairs,
        "warmup": args.warmup,
        "sample_rows": args.sample_rows,
        "seconds_on": [round(r["seconds"], 2) for r in on],
        "seconds_off": [round(r["seconds"], 2) for r in off],
        "median_on": round(median_on, 2),
        "median_off": round(median_off, 2),
        "overhead_percent": round(100 * (median_on - median_off) / median_off, 2),
        "median_pair_overhead_percent": round(
            100 * statistics.median((a["seconds"] - b["seconds"]) / b["seconds"] for a, b in zip(on, off, strict=True)),
            2,
        ),
        "cpu_on": [round(r["cpu_seconds"], 2) for r in on],
        "cpu_off": [round(r["cpu_seconds"], 2) for r in off],
        "cpu_overhead_percent": round(100 * (cpu_on - cpu_off) / cpu_off, 2),
        "recorder_seconds_median": round(recorder, 3),
        "recorder_percent_of_off": round(100 * recorder / median_off, 2),
    }
    print(
        f"lineage on  median {figures['median_on']:.2f} s  {figures['seconds_on']}\n"
        f"lineage off median {figures['median_off']:.2f} s  {figures['seconds_off']}\n"
        f"overhead    {figures['overhead_percent']:+.2f} % of the medians, "
        f"{figures['median_pair_overhead_percent']:+.2f} % median per pair\n"
        f"CPU         {figures['cpu_overhead_percent']:+.2f} % of the medians (on "
        f"{figures['cpu_on']}, off {figures['cpu_off']})\n"
        f"recorder    {figures['recorder_seconds_median']:.3f} s in its own calls "
        f"= {figures['recorder_percent_of_off']:.2f} % of a run without it"
    )
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "lineage.json"), "w") as f:
        json.dump(figures, f, indent=2)
    return figures


if __name__ == "__main__":
    main()
