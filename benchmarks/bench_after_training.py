"""Benchmark: what the champion evaluation, the serving check and the drift check add to a beans run,
and what ``kfx predict`` costs on beans.

Run with ``.venv/bin/python benchmarks/bench_after_training.py``. Each round, in a fresh runs folder:

- a warm-up ``kfx run --no-cache`` on the packaged beans table that pushes v1 (not measured);
- run B: ``kfx run --no-cache`` again: v1 is the champion, so ``validate-statistics`` also compares
  the training statistics with v1's (drift) and ``evaluate`` also scores v1 on the test rows;
- run A: the same with an empty registry folder (``--registry-dir``): no champion, so no drift
  check and no champion evaluation. A and B alternate which goes first;
- ``kfx predict --model beans --source <beans>``: the batch-prediction pipeline on the whole table.

What each addition costs is read from the steps' own times in ``summary.json``: drift is
validate B - validate A, the champion evaluation is evaluate B - evaluate A, plus the find-model
step; the serving check is its whole step (in both runs). The serving environment is made before the rounds
(its one-off creation time is reported on its own). Figures go to ``benchmarks/out/after_training.json``.
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


def run(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([KFX, *args], capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"kfx {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc


def kfx_run(runs_dir: str, serving_env: str, *options: str) -> tuple[float, dict]:
    seconds, proc = run("run", "--runs-dir", runs_dir, "--serving-env", serving_env, "--no-cache", "--json", *options)
    return seconds, json.loads(proc.stdout[proc.stdout.index("\n{") + 1 :])


def step_seconds(summary: dict) -> dict[str, float]:
    return {s["name"]: s["seconds"] for s in summary["steps"]}


def one_round(index: int, serving_env: str) -> dict:
    from kfx.data import beans_path

    with tempfile.TemporaryDirectory() as runs, tempfile.TemporaryDirectory() as empty:
        kfx_run(runs, serving_env)
        if index % 2:
            total_a, a = kfx_run(runs, serving_env, "--registry-dir", empty)
            total_b, b = kfx_run(runs, serving_env)
        else:
            total_b, b = kfx_run(runs, serving_env)
            total_a, a = kfx_run(runs, serving_env, "--registry-dir", empty)
        assert a["champion"]["found"] is False and b["champion"]["found"] is True, (a["champion"], b["champion"])
        assert b["model"]["champion_version"] == 1
        predict_s, proc = run("predict", "--runs-dir", runs, "--model", "beans", "--source", beans_path())
    sa, sb = step_seconds(a), step_seconds(b)
    figures = {
        "run_a_s": round(total_a, 2),
        "run_b_s": round(total_b, 2),
        "run_b_steps_s": sb,
        "find_model_s": sb["find-model"],
        "drift_s": round(sb["validate-statistics"] - sa["validate-statistics"], 2),
        "champion_evaluation_s": round(sb["evaluate"] - sa["evaluate"], 2),
        "serving_check_s": sb["check-serving"],
        "predict_s": round(predict_s, 2),
    }
    figures["added_s"] = round(
        figures["find_model_s"] + figures["drift_s"] + figures["champion_evaluation_s"] + figures["serving_check_s"], 2
    )
    figures["added_pct_of_run_b"] = round(100 * figures["added_s"] / total_b, 1)
    print(
        f"round {index + 1}: run A {total_a:.1f} s, run B {total_b:.1f} s; find-model {figures['find_model_s']:.2f} s, "
        f"drift {figures['drift_s']:+.2f} s, champion evaluation {figures['champion_evaluation_s']:+.2f} s, "
        f"serving check {figures['serving_check_s']:.2f} s: {figures['added_s']:.2f} s "
        f"({figures['added_pct_of_run_b']} % of run B); kfx predict {predict_s:.1f} s",
        flush=True,
    )
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="Rounds (default: 5).")
    args = parser.parse_args(argv)
    from kfx import serving
    from kfx.config import Config

    serving_env = os.path.join(REPO, Config().resolved_serving_env)
    started = time.perf_counter()
    made = not os.path.isdir(serving_env)
    serving.ensure_env(serving_env)
    env_s = time.perf_counter() - started
    rounds = [one_round(i, serving_env) for i in range(args.rounds)]

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 2)

    result = {
        "serving_env_s": round(env_s, 1),
        "serving_env_made_now": made,
        "rounds": rounds,
        **{
            f"{k}_median": median(k)
            for k in (
                "run_a_s",
                "run_b_s",
                "find_model_s",
                "drift_s",
                "champion_evaluation_s",
                "serving_check_s",
                "added_s",
                "added_pct_of_run_b",
                "predict_s",
            )
        },
    }
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "after_training.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
