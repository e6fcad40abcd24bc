"""Benchmark of ``kfx predict``: seconds to score the beans table with a registry model, cold.

Run with ``.venv/bin/python benchmarks/bench_predict.py``. It trains once (``kfx run`` on the
full beans table, pushing beans v1), then times, ``--rounds`` times each, a fresh ``kfx predict``
process scoring all 13,611 rows with ``--no-cache`` (every step runs: cold), with the label column
and without it. It prints the wall time of the command, the seconds of each step from the run's
``summary.json``, and the accuracy on the labelled table next to the version's test accuracy.

The figures are printed and written to ``benchmarks/out/predict.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
KFX = os.path.join(os.path.dirname(sys.executable), "kfx")


def kfx(*args: str) -> tuple[float, dict]:
    """Runs ``kfx ARGS --json`` in a fresh process: its wall seconds and the run's summary."""
    started = time.perf_counter()
    proc = subprocess.run([KFX, *args, "--json"], capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"kfx {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    # The step lines come first; the summary is the JSON that follows them.
    return seconds, json.loads(proc.stdout[proc.stdout.index("\n{") + 1 :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="Timed runs of each table (default: 2).")
    args = parser.parse_args()

    import pandas as pd

    from kfx import data

    with tempfile.TemporaryDirectory(prefix="kfx-bench-predict-") as tmp:
        runs = os.path.join(tmp, "runs")
        trained_seconds, trained = kfx("run", "--runs-dir", runs)
        evaluation = trained["model"]
        unlabelled = os.path.join(tmp, "beans_unlabelled.csv")
        pd.read_csv(data.beans_path()).drop(columns=["Class"]).to_csv(unlabelled, index=False)
        tables = {"labelled": data.beans_path(), "unlabelled": unlabelled}
        result: dict = {
            "rows": 13611,
            "train_seconds": round(trained_seconds, 2),
            "test_accuracy": evaluation["test_accuracy"],
            "tables": {},
        }
        for _ in range(args.rounds):
            for name, source in tables.items():
                seconds, summary = kfx(
                    "predict", "--model", "beans@latest", "--source", source, "--runs-dir", runs, "--no-cache"
                )
                entry = result["tables"].setdefault(name, {"seconds": [], "steps": {}})
                entry["seconds"].append(round(seconds, 2))
                for step in summary["steps"]:
                    entry["steps"].setdefault(step["name"], []).append(step["seconds"])
                entry["accuracy"] = summary["predictions"].get("accuracy")
                entry["max_drift"] = summary["scoring_anomalies"]["max_drift"]
    print(
        f"kfx predict on beans ({result['rows']} rows, model trained on the full table in "
        f"{result['train_seconds']:.1f} s, test accuracy {result['test_accuracy']:.4f}), --no-cache, "
        f"{args.rounds} round(s):"
    )
    for name, entry in result["tables"].items():
        entry["median_seconds"] = statistics.median(entry["seconds"])
        accuracy = f", accuracy {entry['accuracy']:.4f}" if entry["accuracy"] is not None else ""
        print(
            f"  {name:<10}  {entry['median_seconds']:5.1f} s median of {entry['seconds']}{accuracy}, "
            f"largest drift {entry['max_drift']:.4f}"
        )
        for step, seconds in entry["steps"].items():
            print(f"              {step:<28} {statistics.median(seconds):5.2f} s")
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "predict.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
