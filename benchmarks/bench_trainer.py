"""Benchmark of the trainer's candidate models on beans, beans x10 and beans x100: fit time, peak memory, accuracy.

``.venv/bin/python benchmarks/bench_trainer.py`` reads the tables ``benchmarks/make_tables.py``
writes (``benchmarks/out/tables``), splits each as the import step does (stratified 0.8 / 0.1 /
0.1, seed 42; kept in ``benchmarks/out/splits``) and measures, each in a fresh child process so
its peak resident memory (``VmHWM``) is its own:

- **models**: each candidate fitted on the training split of beans, on stratified samples of
  beans x10's training split (20,000 to 60,000 rows), on the whole of it (108,888 rows) and on
  beans x100's (1,088,880 rows), then scored on the test split of the table the rows came from:

  - ``svc``: the exact RBF SVC on Yeo-Johnson features (the trainer's model up to ``svm_max_rows``);
  - ``hist_gradient_boosting``: histogram gradient boosting with early stopping (the trainer's
    model above it), with Config's learning rate and rounds;
  - ``nystroem_logistic``: a kernel approximation (Nystroem, 300 components) and a logistic
    regression, the other scalable candidate; not part of the trainer.

  A fit that would clearly not fit the budget is skipped and says why (the SVC above 108,888
  rows: its fit grows about quadratically; Nystroem at a million rows: its features alone
  would take 2.6 GB);
- **trainer**: the whole trainer (``kfx_trainer.task.main``: read the split CSVs, choose the model,
  fit, score validation and test, write the model folder) with Config's defaults, as the
  pipeline's ``train`` step runs it, on beans, beans x10, beans x100 and the messy table.

The machine's load average is recorded at the start and the end: other processes on the cores
slow every figure. Results are printed and written to ``benchmarks/out/trainer.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TABLES = {"beans": "", "beans_x10": "beans_x10.csv", "beans_x100": "beans_x100.csv", "beans_messy": "beans_messy.csv"}
MODELS = ("svc", "hist_gradient_boosting", "nystroem_logistic")
SAMPLES = (20_000, 30_000, 40_000, 60_000)
NYSTROEM_COMPONENTS = 300


def make_splits(table: str, tables_dir: str, out: str) -> dict[str, str]:
    """The table's split CSVs (made once, as the import step makes them): {split: path}."""
    from kfx import data_steps
    from kfx.config import Config

    folder = os.path.join(out, table)
    paths = {split: os.path.join(folder, f"{split}.csv") for split in ("train", "validation", "test")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(tables_dir, TABLES[table]) if TABLES[table] else ""
    if source and not os.path.exists(source):
        raise SystemExit(f"{source} does not exist; run python benchmarks/make_tables.py first.")
    config = Config()
    data_steps.import_dataset(
        source,
        config.label_column,
        paths["train"],
        paths["validation"],
        paths["test"],
        config.fractions,
        config.seed,
        0,
    )
    return paths


def build_candidate(name: str, categorical: list[bool]):
    """The unfitted candidate ``name`` with Config's hyper-parameters."""
    from kfx.config import Config
    from kfx_trainer.model import build_model

    config = Config()
    if name == "nystroem_logistic":
        from sklearn.kernel_approximation import Nystroem
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        # The SVC's column handling (imputers, Yeo-Johnson, one-hot): the kernel needs the same scaling.
        columns = build_model(
            categorical,
            "svc",
            c=config.svm_c,
            gamma=config.svm_gamma,
            learning_rate=config.boosting_learning_rate,
            max_iter=config.boosting_max_iter,
            seed=config.seed,
        )[0]
        return make_pipeline(
            columns,
            Nystroem(n_components=NYSTROEM_COMPONENTS, gamma=1 / len(categorical), random_state=config.seed),
            LogisticRegression(C=config.svm_c, max_iter=1000),
        )
    return build_model(
        categorical,
        name,
        c=config.svm_c,
        gamma=config.svm_gamma,
        learning_rate=config.boosting_learning_rate,
        max_iter=config.boosting_max_iter,
        seed=config.seed,
    )


def measure_fit(point: dict) -> dict:
    """Fits one candidate on ``rows`` training rows (all when 0) and scores it on the test split."""
    from kfx_trainer.model import share_cores

    share_cores()
    import pandas as pd
    from sklearn.model_selection import train_test_split

    from kfx.config import Config
    from kfx_trainer.model import to_matrix

    label = Config.label_column
    train = pd.read_csv(point["splits"]["train"])
    test = pd.read_csv(point["splits"]["test"])
    if point["rows"] and point["rows"] < len(train):
        train, _ = train_test_split(train, train_size=point["rows"], stratify=train[label], random_state=Config.seed)
    features = [c for c in train.columns if c != label]
    model = build_candidate(point["model"], [not pd.api.types.is_numeric_dtype(train[c]) for c in features])
    started = time.perf_counter()
    model.fit(to_matrix(train, features), train[label])
    fit = time.perf_counter() - started
    started = time.perf_counter()
    accuracy = float((model.predict(to_matrix(test, features)) == test[label].to_numpy()).mean())
    predict = time.perf_counter() - started
    result = {
        "train_rows": len(train),
        "fit_s": round(fit, 2),
        "predict_s": round(predict, 2),
        "test_rows": len(test),
        "test_accuracy": round(accuracy, 4),
    }
    if point["model"] == "hist_gradient_boosting":
        result["rounds"] = int(model[-1].n_iter_)
    return result


def measure_trainer(point: dict) -> dict:
    """Runs the whole trainer with Config's defaults, as the pipeline's train step does."""
    import tempfile

    from kfx import contract

    with tempfile.TemporaryDirectory() as model_dir:
        environ = {
            contract.MODEL_DIR_VARIABLE: model_dir,
            contract.DATA_FORMAT_VARIABLE: "csv",
            **{var: point["splits"][split] for split, var in contract.SPLIT_VARIABLES.items()},
        }
        from kfx_trainer import task

        started = time.perf_counter()
        metrics = task.main([], environ=environ)
        seconds = time.perf_counter() - started
        with open(os.path.join(model_dir, contract.METADATA_FILE)) as f:
            metadata = json.load(f)
        size = os.path.getsize(os.path.join(model_dir, contract.MODEL_FILE))
    return {
        "train_rows": metrics["train_rows"],
        "estimator": metadata["model"]["estimator"],
        "seconds": round(seconds, 2),
        "fit_s": metrics["fit_seconds"],
        "test_accuracy": round(metrics["test"]["accuracy"], 4),
        "id_columns": metadata["id_columns"],
        "model_mb": round(size / 2**20, 1),
    }


def peak_rss_mb() -> int:
    """This process's peak resident memory since it started (``VmHWM``).

    Not ``ru_maxrss``: Linux carries that over from the parent through fork and exec, so a
    child of a process that read a large table would report the parent's peak.
    """
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return round(kb / 1024)


def child(point: dict) -> dict:
    """Runs one point in a fresh Python and adds its wall time and peak resident memory."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[2]); import bench_trainer as b; "
        "p = json.loads(sys.argv[1]); r = getattr(b, 'measure_' + p['kind'])(p); "
        "r['peak_rss_mb'] = b.peak_rss_mb(); print(json.dumps(r))"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(point), HERE], capture_output=True, text=True, cwd=REPO
    )
    if proc.returncode != 0:
        raise SystemExit(f"{point} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - started, 2)
    return result


def plan(splits: dict[str, dict[str, str]], skip_slow: bool) -> list[dict]:
    """The points to measure, in order."""
    points = [{"kind": "fit", "table": "beans", "rows": 0, "model": m, "splits": splits["beans"]} for m in MODELS]
    for rows in SAMPLES:
        points += [
            {"kind": "fit", "table": "beans_x10", "rows": rows, "model": m, "splits": splits["beans_x10"]}
            for m in MODELS[:2]
        ]
    for model in MODELS:
        point = {"kind": "fit", "table": "beans_x10", "rows": 0, "model": model, "splits": splits["beans_x10"]}
        points.append({**point, "skipped": "--skip-slow"} if skip_slow and model == "svc" else point)
    points += [
        {
            "kind": "fit",
            "table": "beans_x100",
            "rows": 0,
            "model": "svc",
            "splits": splits["beans_x100"],
            "skipped": "fit grows about quadratically: 10x the rows of beans_x10, about 100x its fit time",
        },
        {
            "kind": "fit",
            "table": "beans_x100",
            "rows": 0,
            "model": "hist_gradient_boosting",
            "splits": splits["beans_x100"],
        },
        {
            "kind": "fit",
            "table": "beans_x100",
            "rows": 0,
            "model": "nystroem_logistic",
            "splits": splits["beans_x100"],
            "skipped": (
                f"{NYSTROEM_COMPONENTS} kernel features of 1,088,880 rows take 2.6 GB before the solver copies them"
            ),
        },
    ]
    points += [
        {"kind": "trainer", "table": t, "splits": splits[t]}
        for t in ("beans", "beans_messy", "beans_x10", "beans_x100")
    ]
    return points


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=os.path.join(HERE, "out", "tables"), help="Folder of the made tables.")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "trainer.json"), help="JSON to write.")
    parser.add_argument("--skip-slow", action="store_true", help="Skip the SVC on all of beans x10 (about 2 minutes).")
    args = parser.parse_args(argv)

    splits = {t: make_splits(t, args.tables, os.path.join(HERE, "out", "splits")) for t in TABLES}
    result = {"load_average_start": load(), "cpus": os.cpu_count(), "models": [], "trainer": []}
    for point in plan(splits, args.skip_slow):
        shown = {k: v for k, v in point.items() if k not in ("splits", "kind")}
        if "skipped" not in point:
            shown.update(child(point))
        result["models" if point["kind"] == "fit" else "trainer"].append(shown)
        print(json.dumps(shown), flush=True)
    result["load_average_end"] = load()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
