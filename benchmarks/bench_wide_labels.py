"""Benchmark of the whole local pipeline on tables with many classes: each step's peak memory and time.

``python benchmarks/bench_wide_labels.py [--classes 7 100 500] [--rows-per-class 12]`` writes, for each
class count, a table of that many classes with ``--rows-per-class`` rows each and four numeric
features (each class a blob around its own centre, so the classes can be learnt), runs the real
``kfx run --source TABLE --label-column species --min-accuracy 0`` on it in a fresh runs folder,
and reports:

- the number of classes, the wall time of the whole command and each step's seconds (``summary.json``);
- the peak resident memory of each step's processes: every process below ``kfx run`` is sampled
  every 0.1 s from ``/proc/<pid>/status`` (``VmHWM``, the kernel's high-water mark), charged to
  the step the console says is running (see ``bench_scale.py``, whose sampler this uses);
- the size of the evaluation page (its HTML and its PNG's pixels).

A run whose processes together pass ``--kill-above-mb`` (default 6,000) is stopped at once, so a
regression cannot take the machine's memory with it. The figures are printed and written to
``benchmarks/out/wide_labels.json``; the last lines check the target: every step process <= 2 GB.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
LABEL = "species"
MEMORY_LIMIT_MB = 2048
NOISE = 4.0
"""Spread of each class around its centre (drawn in a 100-wide cube): wide enough that some classes are confused."""

sys.path.insert(0, HERE)
from bench_scale import Sampler, descendants, follow, memory_kb, print_steps  # noqa: E402


def wide_table(classes: int, rows_per_class: int, seed: int = 7):
    """A table of ``classes`` classes × ``rows_per_class`` rows: four numeric features around a centre per class."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 100, size=(classes, 4))
    rows = np.repeat(np.arange(classes), rows_per_class)
    values = centres[rows] + rng.normal(0, NOISE, size=(len(rows), 4))
    frame = pd.DataFrame(values.round(3), columns=["length", "width", "height", "weight"])
    frame[LABEL] = [f"species_{i:04d}" for i in rows]
    return frame


def _png_size(page: str) -> tuple[int, int]:
    """Width and height of the first PNG embedded in an HTML page (from its IHDR header)."""
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    if not match:
        return 0, 0
    header = base64.b64decode(match[1][:64])
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def run_classes(classes: int, rows_per_class: int, kill_above_mb: float, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, f"wide{classes}.csv")
        wide_table(classes, rows_per_class).to_csv(source, index=False)
        runs = os.path.join(scratch, "runs")
        cmd = [
            os.path.join(BIN, "kfx"),
            "run",
            "--runs-dir",
            runs,
            "--source",
            source,
            "--label-column",
            LABEL,
            "--min-accuracy",
            "0",
            *extra,
        ]
        started = time.perf_counter()
        # A session of its own, so a run over the memory bound is stopped with all it started.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, start_new_session=True
        )
        sampler = Sampler(proc.pid)
        sampler.start()
        killed = []

        def guard() -> None:
            while proc.poll() is None:
                total = sum(memory_kb(p)[1] for p in descendants(proc.pid)) / 1024
                if total > kill_above_mb:
                    killed.append(round(total))
                    os.killpg(proc.pid, signal.SIGKILL)
                    return
                time.sleep(0.2)

        import threading

        threading.Thread(target=guard, daemon=True).start()
        code, seconds, lines = follow(proc, sampler, started)
        if killed:
            return {
                "classes": classes,
                "wall_s": round(seconds, 1),
                "killed": f"over {killed[0]} MB in {sampler.step}",
                "steps": sampler.peaks,
            }
        if code != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{''.join(lines[-30:])}")
        (run,) = [d for d in os.listdir(runs) if os.path.isfile(os.path.join(runs, d, "summary.json"))]
        with open(os.path.join(runs, run, "summary.json")) as f:
            summary = json.load(f)
        view = summary.get("model", {}).get("view") or ""
        page = open(view).read() if os.path.isfile(view) else ""
    steps = {s["name"]: {"seconds": s["seconds"], **sampler.peaks.get(s["name"], {})} for s in summary["steps"]}
    model = summary.get("model", {})
    return {
        "classes": classes,
        "rows": sum(summary["rows"].values()) if isinstance(summary.get("rows"), dict) else None,
        "wall_s": round(seconds, 1),
        "steps": steps,
        "test_accuracy": model.get("test_accuracy"),
        "view_chars": len(page),
        "view_png": _png_size(page),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--classes", nargs="+", type=int, default=[7, 100, 500], help="Class counts to run (default: %(default)s)."
    )
    parser.add_argument("--rows-per-class", type=int, default=12, help="Rows of each class (default: %(default)s).")
    parser.add_argument(
        "--kill-above-mb",
        type=float,
        default=6000,
        help="Stop a run whose processes together hold more (default: %(default)s).",
    )
    parser.add_argument("kfx_args", nargs="*", help="More `kfx run` options, after `--`.")
    args = parser.parse_args(argv)
    results = {}
    for classes in args.classes:
        result = run_classes(classes, args.rows_per_class, args.kill_above_mb, args.kfx_args)
        results[str(classes)] = result
        if "killed" in result:
            print(f"{classes} classes: stopped after {result['wall_s']} s: {result['killed']}", flush=True)
            continue
        width, height = result["view_png"]
        print(
            f"{classes} classes: {result['rows']:,} rows, {result['wall_s']} s, test accuracy "
            f"{result['test_accuracy']}, evaluation page {result['view_chars']:,} characters, "
            f"picture {width}x{height} px",
            flush=True,
        )
        print_steps(result)
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "wide_labels.json"), "w") as f:
        json.dump(results, f, indent=2)
    checks = {}
    for classes, result in results.items():
        peak = max((s.get("peak_process_mb", 0) for s in result["steps"].values()), default=0)
        ok = "killed" not in result and peak <= MEMORY_LIMIT_MB
        checks[f"{classes} classes: finished, every step process <= 2 GB (largest {peak:.0f} MB)"] = ok
    for name, ok in checks.items():
        print(f"{'ok ' if ok else 'NO '} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
