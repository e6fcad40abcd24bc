"""Benchmark of step caching on the local target: what a re-run costs when little or nothing changed.

Run with ``.venv/bin/python benchmarks/bench_cache.py``. Each round, in a fresh runs folder:

- a cold ``kfx run`` on the packaged beans table (every step runs, the store is empty); it
  pushes v1;
- a re-run after that push: v1 is now the champion, so validation (drift from v1),
  evaluate (v1 scored too) and push run again, and the rest is reused (reported, not a target);
- an identical re-run: nothing changed since, so every step but find-model (which always
  looks at the registry) is reused;
- a re-run with another ``--svm-c`` (import, statistics, schema and validation are reused;
  train, the serving check, evaluate and push run);
- the baseline of that re-run: one fresh Python process that calls ``kfx.model_steps.train``,
  ``kfx.model_steps.check_serving`` and ``kfx.model_steps.evaluate`` (scoring the champion too) with the
  same ``svm_c`` on the cold run's splits, paying its own imports; it alternates with the
  ``--svm-c`` re-run, so neither always has the warmer disk.

With ``--large-rows N`` it also times a cached ``import-dataset`` of an N-row table (the
beans rows repeated; ``--large-rows 1000000`` writes about 260 MB of splits): the import
alone, run cold, then reused three times (median), so what placing the earlier outputs
costs (copying them, then checking their digest) is known at a size where it shows.
``--rounds 0`` skips the four measurements above.

The targets (issue "Local runs that scale, reuse unchanged steps, and stop cleanly"): an
identical re-run takes at most 15 % of the cold run, and the ``--svm-c`` re-run at most
1.3 x the in-process train + evaluate. Figures go to ``benchmarks/out/cache.json``.

Every kfp.local task is a new Python process, so start-up counts: the figures also say
whether the environment's packages have compiled bytecode (without it, and with
``PYTHONDONTWRITEBYTECODE`` set, every process compiles scikit-learn, pandas and kfp
from source again).
"""

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
OTHER_SVM_C = 5.0

IN_PROCESS = """
import json, sys
from kfx import contract, model_steps
from kfx.config import Config

splits, out, svm_c, champion = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
config = Config()
hyperparameters = {name: getattr(config, name) for name in contract.TRAINER_PARAMETERS}
trained = model_steps.train(splits["train"], splits["validation"], splits["test"], out + "/model",
                      **{**hyperparameters, "svm_c": svm_c})
serving = model_steps.check_serving(out + "/model", splits["test"], out + "/request.json", out + "/serving.json", "")
result = model_steps.evaluate(out + "/model", splits["test"], out + "/evaluation.html", config.min_accuracy, champion,
                        config.accuracy_tolerance, serving["ok"])
print(json.dumps({"accuracy": result["accuracy"]}))
"""


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc


def kfx_run(runs_dir: str, *options: str) -> tuple[float, dict]:
    seconds, proc = timed([KFX, "run", "--runs-dir", runs_dir, "--json", *options])
    return seconds, json.loads(proc.stdout[proc.stdout.index("\n{") + 1 :])


def in_process(splits: dict[str, str], out: str, svm_c: float, champion: dict) -> tuple[float, dict]:
    seconds, proc = timed([sys.executable, "-c", IN_PROCESS, json.dumps(splits), out, str(svm_c), json.dumps(champion)])
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def states(summary: dict) -> dict[str, str]:
    return {s["name"]: s["state"] for s in summary["steps"]}


def one_round(index: int) -> dict:
    with tempfile.TemporaryDirectory() as runs, tempfile.TemporaryDirectory() as scratch:
        cold, first = kfx_run(runs)
        after_push, settled = kfx_run(runs)
        assert settled["champion"]["version"] == "1", settled["champion"]
        identical, again = kfx_run(runs)
        rerun = {name for name, state in states(again).items() if state != "cached"}
        assert rerun == {"find-model"}, states(again)  # it always looks at the registry
        splits = {s: first["artifacts"][f"import-dataset/{s}_data"] for s in ("train", "validation", "test")}
        champion = {"found": True, "model_name": "beans", "version": "1", "uri": settled["champion"]["uri"]}
        # Alternate which goes first, so neither always gets the warmer disk cache.
        if index % 2:
            base, base_out = in_process(splits, scratch, OTHER_SVM_C, champion)
            changed, other = kfx_run(runs, "--svm-c", str(OTHER_SVM_C))
        else:
            changed, other = kfx_run(runs, "--svm-c", str(OTHER_SVM_C))
            base, base_out = in_process(splits, scratch, OTHER_SVM_C, champion)
        assert [states(other)[n] for n in ("train", "check-serving", "evaluate")] == ["complete"] * 3, states(other)
        assert abs(base_out["accuracy"] - other["model"]["test_accuracy"]) < 1e-12, "both must train the same model"
    figures = {
        "cold_s": round(cold, 2),
        "after_push_s": round(after_push, 2),
        "identical_s": round(identical, 2),
        "identical_pct": round(100 * identical / cold, 1),
        "svm_c_s": round(changed, 2),
        "in_process_train_evaluate_s": round(base, 2),
        "svm_c_ratio": round(changed / base, 3),
        "svm_c_steps_s": {s["name"]: s["seconds"] for s in other["steps"]},
        "svm_c_run_s": other["seconds"],
    }
    print(
        f"round {index + 1}: cold {cold:.1f} s, after its push {after_push:.1f} s, "
        f"identical {identical:.1f} s ({figures['identical_pct']} %), "
        f"--svm-c {changed:.1f} s vs in-process train+evaluate {base:.1f} s (x{figures['svm_c_ratio']})",
        flush=True,
    )
    return figures


def large_import(rows: int) -> dict:
    """A cold import of a ``rows``-row table, then three runs that reuse it, in this process."""
    import gzip
    import io

    from kfp import dsl

    from kfx.components import import_dataset
    from kfx.config import Config
    from kfx.data import beans_path
    from kfx.digests import content_digest
    from kfx.disk import place_copy
    from kfx.local import run_local
    from kfx.pipelines import arguments, local_values

    # The beans pipeline's first task alone. kfp reads the parameters' types from the annotations,
    # which is why this module does not turn them into strings (no `from __future__ import annotations`).
    @dsl.pipeline(name="kfx-large-import", description="The beans pipeline's import alone, on a large table.")
    def import_only(
        source: str,
        label_column: str,
        train_fraction: float,
        validation_fraction: float,
        test_fraction: float,
        seed: int,
        sample_rows: int,
    ):
        import_dataset(
            source=source,
            label_column=label_column,
            train_fraction=train_fraction,
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
            seed=seed,
            sample_rows=sample_rows,
        )

    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as folder:
        with gzip.open(beans_path(), "rt") as f:
            header, *body = f.read().splitlines(keepends=True)
        source = os.path.join(folder, "large.csv")
        with open(source, "w") as f:
            f.write(header)
            for start in range(0, rows, len(body)):
                f.writelines(body[: rows - start])
        config = Config(source=source, runs_dir=os.path.join(folder, "runs"), label_column="Class")
        runs = []
        for _ in range(4):
            started = time.perf_counter()
            result = run_local(
                config, out=io.StringIO(), pipeline=import_only, arguments=arguments(import_only, local_values(config))
            )
            runs.append((time.perf_counter() - started, result))
        cold, reused = runs[0], runs[1:]
        assert [r.events[0].state for _, r in runs] == ["complete", "cached", "cached", "cached"]
        outputs = [os.path.getsize(p) for p in cold[1].summary["artifacts"].values()]
        place, digest = [], []  # the two parts of a reuse that grow with the outputs, apart
        for index in range(3):
            started = time.perf_counter()
            for name, path in cold[1].summary["artifacts"].items():
                place_copy(path, os.path.join(folder, f"placed-{index}", name))
            place.append(time.perf_counter() - started)
            started = time.perf_counter()
            for name in cold[1].summary["artifacts"]:
                content_digest(os.path.join(folder, f"placed-{index}", name))
            digest.append(time.perf_counter() - started)
        figures = {
            "rows": rows,
            "source_mb": round(os.path.getsize(source) / 1e6, 1),
            "outputs_mb": round(sum(outputs) / 1e6, 1),
            "cold_s": round(cold[0], 2),
            "cold_step_s": round(cold[1].events[0].seconds, 2),
            "reused_s": [round(s, 2) for s, _ in reused],
            "reused_step_s": [round(r.events[0].seconds, 2) for _, r in reused],
            "reused_s_median": round(statistics.median(s for s, _ in reused), 2),
            "reused_step_s_median": round(statistics.median(r.events[0].seconds for _, r in reused), 2),
            "place_s_median": round(statistics.median(place), 3),
            "digest_s_median": round(statistics.median(digest), 3),
        }
    print(
        f"large import, {rows:,} rows ({figures['outputs_mb']} MB of splits): cold {figures['cold_s']} s "
        f"(step {figures['cold_step_s']} s), reused {figures['reused_s_median']} s "
        f"(step {figures['reused_step_s_median']} s, median of 3); placing the splits {figures['place_s_median']} s, "
        f"their digest {figures['digest_s_median']} s",
        flush=True,
    )
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of the four measurements (default: 3).")
    parser.add_argument(
        "--large-rows",
        type=int,
        default=0,
        help="Also time a cached import of a table of this many rows (default: 0, none).",
    )
    args = parser.parse_args(argv)
    large = large_import(args.large_rows) if args.large_rows else None
    rounds = [one_round(i) for i in range(args.rounds)]
    if not rounds:
        print(json.dumps(large, indent=2))
        return 0

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    import sklearn

    result = {
        "bytecode_compiled": os.path.isdir(os.path.join(os.path.dirname(sklearn.__file__), "__pycache__")),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
        "rounds": rounds,
        "cold_s_median": median("cold_s"),
        "after_push_s_median": median("after_push_s"),
        "identical_s_median": median("identical_s"),
        "identical_pct_median": median("identical_pct"),
        "svm_c_s_median": median("svm_c_s"),
        "in_process_train_evaluate_s_median": median("in_process_train_evaluate_s"),
        "svm_c_ratio_median": median("svm_c_ratio"),
        "svm_c_ratio_max": max(r["svm_c_ratio"] for r in rounds),
        "large_import": large,
    }
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "cache.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))
    checks = {
        "identical re-run <= 15 % of the cold run": result["identical_pct_median"] <= 15,
        "--svm-c re-run <= 1.3 x in-process train + evaluate": result["svm_c_ratio_median"] <= 1.3,
    }
    for name, ok in checks.items():
        print(f"{'ok ' if ok else 'NO '} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
