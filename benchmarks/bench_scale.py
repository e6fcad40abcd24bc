"""Benchmark of the whole local pipeline on large tables: wall time and each step's peak memory.

Run ``python benchmarks/make_tables.py`` first, then ``python benchmarks/bench_scale.py``
(``--tables beans_x10 beans_x100`` by default; ``beans`` is the packaged table). For each
table it runs ``kfx run --source TABLE`` in a fresh runs folder, as a user would, and reports:

- the wall time of the whole command and each step's seconds (from ``summary.json``);
- the peak resident memory of every step's processes: while the run goes, every
  process below ``kfx run`` is sampled every 0.1 s from ``/proc/<pid>/status``
  (``VmHWM``, the kernel's high-water mark of the process's resident set), and each
  process is charged to the step the console says is running. ``peak_process_mb``
  is the largest single process of the step; ``peak_total_mb`` is the largest sum
  over the step's processes alive at one moment (Beam's worker processes);
- the model the trainer chose and its test accuracy.

The figures are printed and written to ``benchmarks/out/scale.json``. Pass/fail lines
check the issue's targets: beans x10 <= 90 s, beans x100 <= 300 s, every step process <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
TABLES = os.path.join(HERE, "out", "tables")
TARGET_S = {"beans_x10": 90, "beans_x100": 300}
MEMORY_LIMIT_MB = 4096
_STEP_LINE = re.compile(r"^\[\d+/\d+\] ([\w-]+) \.\.\.$")


def descendants(root: int) -> list[int]:
    """Every process below ``root``, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                # The command name is in parentheses and may hold spaces: split after it.
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """``(VmHWM, VmRSS)`` of a process in kB; zeros once it is gone."""
    peak = rss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return peak, rss


class Sampler(threading.Thread):
    """Samples the memory of every process below ``pid``, charged to the step running at the time."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.step = "(start)"
        self.peaks: dict[str, dict[str, float]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            step = self.step
            total = 0
            entry = self.peaks.setdefault(step, {"peak_process_mb": 0.0, "peak_total_mb": 0.0, "processes": 0})
            seen = descendants(self.pid)
            entry["processes"] = max(entry["processes"], len(seen))
            for pid in seen:
                peak, rss = memory_kb(pid)
                entry["peak_process_mb"] = max(entry["peak_process_mb"], round(peak / 1024, 1))
                total += rss
            entry["peak_total_mb"] = max(entry["peak_total_mb"], round(total / 1024, 1))
            time.sleep(0.1)


def follow(proc: subprocess.Popen, sampler: Sampler, started: float) -> tuple[int, float, list[str]]:
    """Reads a running ``kfx run``'s output to its end, telling ``sampler`` which step is running.

    Returns:
        Its exit code, its wall time from ``started`` (a ``time.perf_counter()``), and its output lines.
    """
    lines = []
    for line in proc.stdout:
        lines.append(line)
        match = _STEP_LINE.match(line.strip())
        if match:
            sampler.step = match[1]
    code = proc.wait()
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    return code, seconds, lines


def print_steps(result: dict) -> None:
    """Prints each step's time and peak memory, one line a step, from a run's ``steps`` figures."""
    for step, figures in result["steps"].items():
        print(
            f"  {step:20} {figures['seconds']:7.1f} s  peak process {figures.get('peak_process_mb', 0):7.0f} MB"
            f"  peak total {figures.get('peak_total_mb', 0):7.0f} MB",
            flush=True,
        )


def run_table(name: str, extra: list[str]) -> dict:
    source = "" if name == "beans" else os.path.join(TABLES, f"{name}.csv")
    if source and not os.path.isfile(source):
        raise SystemExit(f"{source} does not exist; run `python benchmarks/make_tables.py` first.")
    with tempfile.TemporaryDirectory() as runs:
        cmd = [os.path.join(BIN, "kfx"), "run", "--runs-dir", runs, *(["--source", source] if source else []), *extra]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
        sampler = Sampler(proc.pid)
        sampler.start()
        code, seconds, lines = follow(proc, sampler, started)
        if code != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{''.join(lines[-30:])}")
        (run,) = [d for d in os.listdir(runs) if os.path.isfile(os.path.join(runs, d, "summary.json"))]
        with open(os.path.join(runs, run, "summary.json")) as f:
            summary = json.load(f)
    steps = {s["name"]: {"seconds": s["seconds"], **sampler.peaks.get(s["name"], {})} for s in summary["steps"]}
    model = summary.get("model", {})
    return {
        "rows": sum(summary["rows"].values()) if isinstance(summary.get("rows"), dict) else None,
        "wall_s": round(seconds, 1),
        "steps": steps,
        "test_accuracy": model.get("test_accuracy"),
        "model": {k: v for k, v in model.items() if k not in ("uri", "view")},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tables",
        nargs="+",
        default=["beans_x10", "beans_x100"],
        help="Tables to run: beans (packaged), beans_x10, beans_x100 (default: %(default)s).",
    )
    parser.add_argument("kfx_args", nargs="*", help="More `kfx run` options, after `--`.")
    args = parser.parse_args(argv)
    results = {}
    for name in args.tables:
        result = run_table(name, args.kfx_args)
        results[name] = result
        print(
            f"{name}: {result['rows']:,} rows, {result['wall_s']} s, test accuracy {result['test_accuracy']}",
            flush=True,
        )
        print_steps(result)
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "scale.json"), "w") as f:
        json.dump(results, f, indent=2)
    checks = {}
    for name, result in results.items():
        if name in TARGET_S:
            checks[f"{name}: whole pipeline <= {TARGET_S[name]} s"] = result["wall_s"] <= TARGET_S[name]
        peak = max(s.get("peak_process_mb", 0) for s in result["steps"].values())
        checks[f"{name}: every step process <= 4 GB (largest {peak:.0f} MB)"] = peak <= MEMORY_LIMIT_MB
    for name, ok in checks.items():
        print(f"{'ok ' if ok else 'NO '} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
