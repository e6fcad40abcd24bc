"""Calibration of the size-aware skew and drift thresholds (kfx.thresholds) on clean and shifted data.

``.venv/bin/python benchmarks/bench_thresholds.py`` (about four minutes on 2 busy cores) splits each table
as kfx's ``kfx.splitting`` does, 0.8 / 0.1 / 0.1 (stratified on the class for a class table, at
random for diabetes, a regression table: one class), for 20 seeds (the seed also drawing the 600-row
sample), computes TFDV statistics of every split (``kfx.statistics``), infers the schema from train and
validates with Config's defaults (``kfx.validation.validate``). The tables:

- scikit-learn's five bundled tables, label ``target``: iris (150 rows), wine (178), breast_cancer
  (569) and digits (1,797; 64 pixel counts 0..16, most of them 0) with the class name, diabetes (442,
  a number);
- beans 600 (``--sample-rows 600`` of the packaged table) and beans (all 13,611 rows).

Every table gets one added categorical column, ``bin5`` (the quintile of its first feature, as
a letter), so that the L-infinity rule is measured too: the label, the only other categorical
column, is stratified and so the same in every split.

It prints, per table and feature, the largest distance measured over the seeds, the smallest
threshold used and the largest share of its threshold a distance reached (``of thr``: below 1 means
no false alarm; 1.00 only where a threshold capped at 1 meets TFDV's largest divergence) and of
the noise term alone (``of noise``); then per table the anomalies on the clean splits with the
defaults (must be 0) and the drift anomalies between clean training splits of different seeds
(must be 0); then the drift cases, each against the clean training statistics of the same seed
(42): beans with ``Perimeter`` multiplied by 10 in half its rows (all rows and 600) and each of
scikit-learn's tables with one feature moved by three standard deviations in half its rows (each
must be flagged). Results are also written to ``benchmarks/out/thresholds.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKLEARN = ("iris", "wine", "breast_cancer", "digits", "diabetes")
REGRESSION = ("diabetes",)
SHIFTED = "Perimeter"
MOVED = {
    "iris": "petal length (cm)",
    "wine": "alcohol",
    "breast_cancer": "mean radius",
    "digits": "pixel_3_3",
    "diabetes": "bmi",
}
"""The feature of each of scikit-learn's tables moved by three standard deviations in half its rows."""
DRIFT_SEED = 42


def sklearn_frame(name: str):
    """One of scikit-learn's bundled tables, label ``target``: the class name, or the number of a regression."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    if name not in REGRESSION:
        frame["target"] = [str(bunch.target_names[i]) for i in bunch.target]
    return frame


def with_bin5(frame, label: str):
    """A copy of a table with ``bin5``: the quintile of its first feature, as a letter."""
    import pandas as pd

    first = next(c for c in frame.columns if c != label)
    return frame.assign(bin5=pd.qcut(frame[first].rank(method="first"), 5, labels=list("abcde")).astype(str))


def shifted(frame, feature: str, times: float = 0.0):
    """``frame`` with ``feature`` multiplied by ``times`` (or, without it, moved by three standard
    deviations) in half its rows, drawn with seed 0."""
    import numpy as np

    frame = frame.copy()
    rows = np.random.default_rng(0).permutation(len(frame))[: len(frame) // 2]
    column = frame[feature].astype(float)
    column.iloc[rows] = column.iloc[rows] * times if times else column.iloc[rows] + 3 * column.std()
    frame[feature] = column.to_numpy() if times or frame[feature].dtype.kind == "f" else column.round().to_numpy()
    return frame


def split_statistics(frame, label: str, seed: int, sample_rows: int, regression: bool) -> dict:
    """The statistics of each split of ``frame``, sampled and split as kfx.splitting does."""
    import pandas as pd

    from kfx import splitting, statistics
    from kfx.config import Config

    fractions = Config().fractions
    if regression:
        # A regression table is split at random: kfx.splitting's split with every row in one class.
        positions = splitting.split_positions(pd.Series(["all"] * len(frame)), fractions, seed)
        frames = {name: frame.iloc[rows].reset_index(drop=True) for name, rows in positions.items()}
    else:
        frame = splitting.stratified_sample(frame, label, sample_rows, seed)
        frames = splitting.stratified_split(frame, label, fractions, seed)
    return statistics.compute_statistics(frames)


def calibrate(tables: dict, seeds: int) -> dict:
    """Per table: the largest distance per feature over the seeds, thresholds and anomaly counts."""
    from kfx import schema as schemas
    from kfx import validation
    from kfx.config import Config

    config = Config()
    result = {}
    for table, (frame, label, sample_rows) in tables.items():
        started = time.perf_counter()
        features: dict[str, dict] = {}
        anomalies, drift_anomalies, trains = 0, 0, {}
        for seed in range(seeds):
            stats = split_statistics(frame, label, seed, sample_rows, table in REGRESSION)
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
                        "of_threshold": 0.0,
                        "above": 0,
                    },
                )
                f["measured"] = max(f["measured"], c.measured or 0.0)
                f["min_threshold"] = min(f["min_threshold"], c.threshold)
                f["of_noise"] = max(f["of_noise"], noise_share)
                f["of_threshold"] = max(f["of_threshold"], (c.measured or 0.0) / c.threshold)
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


def drift_case(name: str, clean, moved, label: str, feature: str, sample_rows: int, how: str) -> dict:
    """The drift of ``moved``'s training split against ``clean``'s (both split with seed 42)."""
    from kfx import schema as schemas
    from kfx import thresholds, validation
    from kfx.config import Config

    config = Config()
    regression = name in REGRESSION
    before = split_statistics(clean, label, DRIFT_SEED, sample_rows, regression)
    after = split_statistics(moved, label, DRIFT_SEED, sample_rows, regression)
    schema = schemas.infer_schema(after["train"])
    checked = validation.validate(
        {"train": after["train"]},
        schema,
        config.skew_threshold,
        previous=before["train"],
        drift_threshold=config.drift_threshold,
    )
    found = validation.findings(checked.anomalies)
    drift = next(c for c in checked.comparisons if c.check == thresholds.DRIFT and c.feature == feature)
    return {
        "table": name,
        "feature": feature,
        "how": how,
        "measured": drift.measured,
        "threshold": drift.threshold,
        "why": drift.why(),
        # TFDV names a feature whose name holds a space or a bracket in quotes ('petal length (cm)').
        "drift_findings": [(f.split, f.feature.strip("'")) for f in found if f.check == thresholds.DRIFT],
        "other_findings": [(f.split, f.feature, f.check) for f in found if f.check != thresholds.DRIFT],
    }


def drift_cases(frames: dict, beans, only=None) -> list[dict]:
    """Every drift case: beans' Perimeter x10 (all rows and 600), one feature of each bundled table moved."""
    cases = [
        drift_case(name, beans, shifted(beans, SHIFTED, 10), "Class", SHIFTED, rows, "x10 in half the rows")
        for name, rows in (("beans", 0), ("beans_600", 600))
        if not only or name in only
    ]
    for name, feature in MOVED.items() if not only else [(n, f) for n, f in MOVED.items() if n in only]:
        frame = frames[name]
        cases.append(drift_case(name, frame, shifted(frame, feature), "target", feature, 0, "+3 std in half the rows"))
    return cases


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
        for name, f in sorted(figures["features"].items(), key=lambda kv: -kv[1]["of_threshold"]):
            rows = f"{f['rows'][0]}/{f['rows'][1]}"
            print(
                f"{table:14}{name[:21]:22}{short[f['distance']]:>6}{rows:>13}{f['measured']:9.4f}"
                f"{f['min_threshold']:10.4f}{f['of_threshold']:8.2f}{f['of_noise']:9.2f}"
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
        of_threshold = max(f["of_threshold"] for f in figures["features"].values())
        print(
            f"{table:14}{of_threshold:8.2f}{worst[thresholds.JS]:12.2f}{worst[thresholds.LINF]:15.2f}"
            f"{figures['anomalies']:10}{figures['drift_anomalies']:7}{figures['seconds']:9.1f}"
        )
    print(f"\n{'drift case':44}{'measured':>9}{'threshold':>10}  flagged  why")
    for case in result["drift"]:
        caught = ("train", case["feature"]) in case["drift_findings"]
        name = f"{case['table']} {case['feature']} {case['how']}"
        print(
            f"{name[:43]:44}{case['measured']:9.4f}{case['threshold']:10.4f}  {'yes' if caught else 'NO':7}  "
            f"{case['why']}; other findings {case['other_findings']}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="Random splits per table (default 20).")
    parser.add_argument("--tables", nargs="*", help="Only these tables (default all), e.g. digits beans_600.")
    parser.add_argument("--out", default=os.path.join(HERE, "out", "thresholds.json"), help="JSON results file.")
    args = parser.parse_args(argv)

    from kfx import data, statistics

    statistics.import_tfdv()
    frames = {name: sklearn_frame(name) for name in SKLEARN}
    beans = data.read_source("")
    sources = {name: (with_bin5(frame, "target"), "target", 0) for name, frame in frames.items()}
    sources.update(beans_600=(with_bin5(beans, "Class"), "Class", 600), beans=(with_bin5(beans, "Class"), "Class", 0))
    sources = {name: source for name, source in sources.items() if not args.tables or name in args.tables}
    started = time.perf_counter()
    result = {
        "seeds": args.seeds,
        "tables": calibrate(sources, args.seeds),
        "drift": drift_cases(frames, beans, args.tables),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print_table(result, args.seeds)
    print(f"\n{result['seconds']} s in all; written to {args.out}")
    failed = sum(t["anomalies"] + t["drift_anomalies"] for t in result["tables"].values())
    missed = [c for c in result["drift"] if ("train", c["feature"]) not in c["drift_findings"]]
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
