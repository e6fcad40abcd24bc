"""Benchmark of the local beans pipeline: model quality and speed, side by side.

Run with ``.venv/bin/python benchmarks/bench_pipeline.py`` (``make bench`` runs
``benchmarks/bench_issue.py``). It measures:

- the test accuracy and macro-F1 of the pipeline's model on the full beans table
  with the default seed, next to the best published accuracy (Koklu & Ozkan 2020,
  SVM, 10-fold cross-validation: 93.13 %), and the 10-fold CV accuracy of the same
  trainer model on the whole table;
- the wall time of ``kfx run`` (the full local pipeline through kfp.local, one
  process per step, lineage recorded) against the wall time of one Python process
  that calls the same step functions (``kfx.pipelines.in_process.beans_in_process``), each started
  fresh so both pay their own imports; the two alternate, ``--rounds`` times;
- the wall time of ``python -c "import kfx"`` and ``kfx --help``.

The figures are printed and written to ``benchmarks/out/pipeline.json``.
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
BIN = os.path.dirname(sys.executable)
PUBLISHED_ACCURACY = 0.9313

IN_PROCESS = """
import json, sys
from kfx.config import Config
from kfx.pipelines.in_process import beans_in_process
out = beans_in_process(Config(runs_dir=sys.argv[1]), sys.argv[1] + "/run")
print(json.dumps({"accuracy": out["evaluate"]["accuracy"]}))
"""


def timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, **kwargs)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds, proc


def pipeline_run(runs_dir: str) -> tuple[float, dict]:
    seconds, _ = timed([os.path.join(BIN, "kfx"), "run", "--runs-dir", runs_dir, "--json"])
    (run,) = [d for d in os.listdir(runs_dir) if d.startswith("kfx-beans-")]
    with open(os.path.join(runs_dir, run, "summary.json")) as f:
        return seconds, json.load(f)


def in_process_run(runs_dir: str) -> tuple[float, dict]:
    seconds, proc = timed([sys.executable, "-c", IN_PROCESS, runs_dir])
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def cross_validation(folds: int = 10) -> float:
    """10-fold stratified CV accuracy of the trainer's model (default parameters) on the whole beans table."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from kfx import data
    from kfx.config import Config
    from kfx_trainer.model import build_model, choose_estimator, to_matrix

    config = Config()
    table = data.read_source("")
    features = [c for c in table.columns if c != config.label_column]
    # Each fold trains on nine tenths of the table: the estimator the trainer chooses for that many rows.
    estimator = choose_estimator(len(table) * (folds - 1) // folds, config.svm_max_rows)
    model = build_model(
        [False] * len(features),
        estimator,
        c=config.svm_c,
        gamma=config.svm_gamma,
        learning_rate=config.boosting_learning_rate,
        max_iter=config.boosting_max_iter,
        seed=config.seed,
    )
    cv = StratifiedKFold(folds, shuffle=True, random_state=config.seed)
    scores = cross_val_score(model, to_matrix(table, features), table[config.label_column], cv=cv)
    return float(scores.mean())


def startup(repeats: int = 5) -> dict[str, float]:
    imports = [timed([sys.executable, "-c", "import kfx"])[0] for _ in range(repeats)]
    helps = [timed([os.path.join(BIN, "kfx"), "--help"])[0] for _ in range(repeats)]
    return {"import_kfx_s": statistics.median(imports), "kfx_help_s": statistics.median(helps)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="Pipeline / in-process pairs to time (default: 2).")
    parser.add_argument("--skip-cv", action="store_true", help="Skip the 10-fold cross-validation.")
    args = parser.parse_args(argv)

    pairs = []
    accuracy = None
    summary = None
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            # Alternate which goes first so neither always gets the warmer disk cache.
            if i % 2:
                base, base_out = in_process_run(b)
                pipe, summary = pipeline_run(a)
            else:
                pipe, summary = pipeline_run(a)
                base, base_out = in_process_run(b)
        accuracy = summary["model"]["test_accuracy"]
        assert abs(base_out["accuracy"] - accuracy) < 1e-12, "both ways must train the same model"
        pairs.append({"pipeline_s": round(pipe, 2), "in_process_s": round(base, 2), "ratio": round(pipe / base, 3)})
        print(f"round {i + 1}: pipeline {pipe:.1f} s, in-process {base:.1f} s, ratio {pipe / base:.2f}", flush=True)

    result = {
        "rounds": pairs,
        "pipeline_s_median": statistics.median(p["pipeline_s"] for p in pairs),
        "in_process_s_median": statistics.median(p["in_process_s"] for p in pairs),
        "ratio_median": statistics.median(p["ratio"] for p in pairs),
        "ratio_max": max(p["ratio"] for p in pairs),
        "steps_s": {s["name"]: s["seconds"] for s in summary["steps"]},
        "test_accuracy": accuracy,
        "macro_f1": summary["model"]["macro_f1"],
        "published_accuracy": PUBLISHED_ACCURACY,
        **startup(),
    }
    if not args.skip_cv:
        result["cv10_accuracy"] = round(cross_validation(), 4)

    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "pipeline.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))
    checks = {
        "test accuracy >= 93.13 %": accuracy >= PUBLISHED_ACCURACY,
        "pipeline <= 60 s": result["pipeline_s_median"] <= 60,
        "pipeline <= 1.5 x in-process": result["ratio_median"] <= 1.5,
        "import kfx < 1 s": result["import_kfx_s"] < 1,
        "kfx --help < 1 s": result["kfx_help_s"] < 1,
    }
    for name, ok in checks.items():
        print(f"{'ok ' if ok else 'NO '} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
