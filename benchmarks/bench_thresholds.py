"""Calibration of the size-aware skew and drift thresholds (kfx.thresholds) on clean and shifted data.

``.venv/bin/python benchmarks/bench_thresholds.py`` (about a minute) splits each table the way the
pipeline does (``kfx.data_steps.import_dataset``: stratified 0.8 / 0.1 / 0.1, the seed also drawing the
600-row sample), for 20 seeds, computes TFDV statistics of every split, infers the schema from
train and validates with Config's defaults (``kfx.validation.validate``). The tables:

- iris (150 rows), wine (178) and breast_cancer (569), scikit-learn's bundled tables written as
  CSV with the class name as label ``target``;
- beans 600 (``--sample-rows 600`` of the packaged table) and beans (all 13,611 rows).

Every table gets one added categorical column, ``bin5`` (the quintile of its first feature, as
a letter), so that the L-infinity rule is measured too: the label, the only other categorical
column, is stratified and so the same in every split.

It prints, per table and feature, the largest distance measured over the seeds against the
threshold used, as a share of that threshold (``of thr``, below 1 means no false alarm) and of
the noise term alone (``of noise``: the calibration figure; below 1 where the noise term alone
covers chance, which it must on the smallest tables, where chance dominates); then per table the
anomalies on the clean splits with the defaults (must be 0) and the drift anomalies between
clean training splits of different seeds (must be 0); and the drift of beans with ``Perimeter``
multiplied by 10 in half its rows against clean beans' training statistics, on all rows and on
600 (must be flagged). Results are also written to ``benchmarks/out/thresholds.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = ("iris", "wine", "breast_cancer", "beans_600", "beans")
SHIFTED = "Perimeter"
DRIFT_SEED = 42


def sklearn_csv(name: str, folder: str) -> str:
    """Writes one of scikit-learn's bundled tables as CSV, label ``target`` holding class names."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    frame["target"] = [str(bunch.target_names[i]) for i in bunch.target]
    path = os.path.join(folder, f"{name}.csv")
    frame.to_csv(path, index=False)
    return path


def with_bin5(path: str, label: str, folder: str) -> str:
    """A copy of a table with ``bin5``: the quintile of its first feature, as a letter."""
    import pandas as pd

    from kfx import data

    frame = data.read_source(path)
    first = next(c for c in frame.columns if c != label)
    frame["bin5"] = pd.qcut(frame[first].rank(method="first"), 5, labels=list("abcde")).astype(str)
    out = os.path.join(folder, f"{os.path.basename(path).split('.')[0] or 'beans'}_bin5.csv")
    frame.to_csv(out, index=False)
    return out


def shifted_beans(folder: str) -> str:
    """Beans with ``Perimeter`` multiplied by 10 in half its rows (drawn with seed 0)."""
    import numpy as np

    from kfx import data

    frame = data.read_source("")
    rows = np.random.default_rng(0).permutation(len(frame))[: len(frame) // 2]
    frame.loc[rows, SHIFTED] = frame.loc[rows, SHIFTED] * 10
    path = os.path.join(folder, "beans_shifted.csv")
    frame.to_csv(path, index=False)
    return path


def split_statistics(source: str, label: str, seed: int, sample_rows: int, folder: str) -> dict:
    """The statistics of each split of ``source``, split as the pipeline's import step splits it."""
    import pandas as pd

    from kfx import data_steps, statistics
    from kfx.config import Config

    paths = {s: os.path.join(folder, f"{s}.csv") for s in ("train", "validation", "test")}
    data_steps.import_dataset(
        source, label, paths["train"], paths["validation"], paths["test"], Config().fractions, seed, sample_rows
    )
    return statistics.compute_statistics({s: pd.read_csv(p) for s, p in paths.items()})


def calibrate(tables: dict[str, tuple[str, str, int]], seeds: int, folder: str) -> dict:
    """Per table: the largest distance per feature over the seeds, thresholds and anomaly counts."""
    from kfx import schema as schemas
    from kfx import validation
    from kfx.config import Config

    config = Config()
    result = {}
    for table, (source, label, sample_rows) in tables.items():
        started = time.perf_counter()
        features: dict[str, dict] = {}
        anomalies, drift_anomalies, trains = 0, 0, {}
        for seed in range(seeds):
            stats = split_statistics(source, label, seed, sample_rows, folder)
            schema = schemas.infer_schema(stats["train"])
            checked = validation.validate(stats, schema, config.skew_threshold)
            anomalies += len(validation.findings(checked.anomalies))
            for c in checked.comparisons:
                noise_share = c.measured / c.noise if c.measured is not None and c.noise else 0.0
                f = features.setdefault(
                    c.feature,
                    {
                        "distance": c.distance,
                        "rows": c.rows,
                        "measured": 0.0,
                        "threshold": c.threshold,
                        "min_threshold": c.threshold,
                        "of_noise": 0.0,
                        "above": 0,
                    },
                )
                f["measured"] = max(f["measured"], c.measured or 0.0)
                f["min_threshold"] = min(f["min_threshold"], c.threshold)
                f["of_noise"] = max(f["of_noise"], noise_share)
                f["above"] += int(c.exceeded)
            trains[seed] = stats["train"]
        # Drift on clean data: each seed's training split against the first seed's.
        for seed in range(1, seeds):
            stats = {"train": trains[seed]}
            schema = schemas.infer_schema(trains[seed])
            checked = validation.validate(
                stats, schema, config.skew_threshold, previous=trains[0], drift_threshold=config.drift_threshold
            )
            drift_anomalies += len(validation.findings(checked.anomalies))
        result[table] = {
            "features": features,
            "anomalies": anomalies,
            "drift_anomalies": drift_anomalies,
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(f"{table}: {seeds} seeds in {result[table]['seconds']} s", file=sys.stderr)
    return result


def shifted_drift(folder: str, sample_rows: int) -> dict:
    """The drift of shifted beans' training split against clean beans' (both split with seed 42)."""
    from kfx import schema as schemas
    from kfx import thresholds, validation
    from kfx.config import Config

    config = Config()
    clean = split_statistics("", "Class", DRIFT_SEED, sample_rows, folder)
    shifted = split_statistics(shifted_beans(folder), "Class", DRIFT_SEED, sample_rows, folder)
    schema = schemas.infer_schema(shifted["train"])
    checked = validation.validate(
        shifted, schema, config.skew_threshold, previous=clean["train"], drift_threshold=config.drift_threshold
    )
    found = validation.findings(checked.anomalies)
    drift = next(c for c in checked.comparisons if c.check == thresholds.DRIFT and c.feature == SHIFTED)
    return {
        "feature": SHIFTED,
        "sample_rows": sample_rows,
        "measured": drift.measured,
        "threshold": drift.threshold,
        "why": drift.why(),
        "drift_findings": [(f.split, f.feature) for f in found if f.check == thresholds.DRIFT],
        "other_findings": [(f.split, f.feature, f.check) for f in found if f.check != thresholds.DRIFT],
    }


def print_table(result: dict, seeds: int) -> None:
    """The calibration as plain text."""
    from kfx import thresholds

    short = {thresholds.JS: "JS", thresholds.LINF: "L-inf"}
    print(f"\nLargest distance over {seeds} clean splits per feature vs. the threshold with the defaults")
    print(
        f"{'table':14}{'feature':22}{'dist':>6}{'rows n/m':>13}{'largest':>9}{'threshold':>10}"
        f"{'of thr':>8}{'of noise':>9}"
    )
    for table, figures in result["tables"].items():
        for name, f in sorted(figures["features"].items(), key=lambda kv: -kv[1]["measured"] / kv[1]["min_threshold"]):
            rows = f"{f['rows'][0]}/{f['rows'][1]}"
            print(
                f"{table:14}{name[:21]:22}{short[f['distance']]:>6}{rows:>13}{f['measured']:9.4f}"
                f"{f['min_threshold']:10.4f}{f['measured'] / f['min_threshold']:8.2f}{f['of_noise']:9.2f}"
            )
    print(
        f"\n{'table':14}{'of thr':>8}{'JS of noise':>12}{'L-inf of noise':>15}{'anomalies':>10}{'drift':>7}"
        f"{'seconds':>9}"
    )
    for table, figures in result["tables"].items():
        worst = {
            d: max((f["of_noise"] for f in figures["features"].values() if f["distance"] == d), default=0.0)
            for d in short
        }
        of_threshold = max(f["measured"] / f["min_threshold"] for f in figures["features"].values())
        print(
            f"{table:14}{of_threshold:8.2f}{worst[thresholds.JS]:12.2f}{worst[thresholds.LINF]:15.2f}"
            f"{figures['anomalies']:10}{figures['drift_anomalies']:7}{figures['seconds']:9.1f}"
        )
    for shift in result["shifted"]:
        rows = f"{shift['sample_rows']} rows" if shift["sample_rows"] else "all rows"
        print(
            f"\nshifted beans ({shift['feature']} x10 in half the rows; {rows}) vs. clean beans' training "
            f"statistics: drift {shift['measured']:.4f}, threshold {shift['threshold']:.4f} ({shift['why']}); "
            f"drift findings {shift['drift_findings']}, other findings {shift['other_findings']}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="Random splits per table (default 20).")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "thresholds.json"), help="JSON results file.")
    args = parser.parse_args(argv)

    from kfx import statistics

    statistics.import_tfdv()
    with tempfile.TemporaryDirectory() as folder:
        sources = {
            name: (with_bin5(sklearn_csv(name, folder), "target", folder), "target", 0)
            for name in ("iris", "wine", "breast_cancer")
        }
        beans = with_bin5("", "Class", folder)
        sources.update(beans_600=(beans, "Class", 600), beans=(beans, "Class", 0))
        result = {
            "seeds": args.seeds,
            "tables": calibrate(sources, args.seeds, folder),
            "shifted": [shifted_drift(folder, rows) for rows in (0, 600)],
        }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print_table(result, args.seeds)
    print(f"\nwritten to {args.out}")
    failed = sum(t["anomalies"] + t["drift_anomalies"] for t in result["tables"].values())
    missed = [s for s in result["shifted"] if ("train", s["feature"]) not in s["drift_findings"]]
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
