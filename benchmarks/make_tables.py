"""Makes the tables the scale benchmarks run on, from the beans table shipped with kfx.

``python benchmarks/make_tables.py [--out DIR]`` writes, into ``benchmarks/out/tables`` by default:

- ``beans_x10.csv`` (136,110 rows) and ``beans_x100.csv`` (1,361,100 rows): the beans
  table repeated, every numeric value after the first copy multiplied by ``1 + 0.01 * N(0, 1)``
  (1 % multiplicative noise), so no two rows repeat exactly;
- ``beans_messy.csv`` (13,611 rows): beans as a real table arrives: 5 % of ``Area`` and
  ``Perimeter`` empty, a text column ``Origin`` (3 values, 5 % empty) and an ID column
  ``BeanId`` (a distinct value per row).

The seed is fixed, so every run writes the same files. ``--only NAME`` makes one of them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261128
NOISE = 0.01
REPEATS = {"beans_x10": 10, "beans_x100": 100}
MESSY = "beans_messy"


def beans():
    from kfx import data

    return data.read_source("")


def repeated(table, times: int, seed: int = SEED):
    """``table`` repeated ``times`` times; copies after the first get 1 % multiplicative noise."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    numeric = table.select_dtypes("number").columns
    copies = [table]
    for _ in range(times - 1):
        copy = table.copy()
        values = copy[numeric].to_numpy(dtype=float)
        copy[numeric] = values * (1 + NOISE * rng.standard_normal(values.shape))
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def messy(table, seed: int = SEED):
    """Beans with what real tables hold: empty numeric and text cells, a text column and an ID column."""
    import numpy as np

    rng = np.random.default_rng(seed)
    table = table.copy()
    n = len(table)
    for column in ("Area", "Perimeter"):
        table[column] = table[column].astype(float)
        table.loc[rng.random(n) < 0.05, column] = np.nan
    origin = rng.choice(np.array(["farm-a", "farm-b", "farm-c"], dtype=object), n)
    origin[rng.random(n) < 0.05] = None
    table.insert(0, "Origin", origin)
    table.insert(0, "BeanId", [f"bean-{i:06d}" for i in rng.permutation(n)])
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=os.path.join(HERE, "out", "tables"), help="Folder to write (default: %(default)s)."
    )
    parser.add_argument("--only", choices=[*REPEATS, MESSY], help="Make only this table.")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    table = beans()
    wanted = [args.only] if args.only else [*REPEATS, MESSY]
    for name in wanted:
        started = time.perf_counter()
        made = messy(table) if name == MESSY else repeated(table, REPEATS[name])
        path = os.path.join(args.out, f"{name}.csv")
        made.to_csv(path + ".part", index=False)
        os.replace(path + ".part", path)  # a half-written table never looks complete
        print(f"{path}: {len(made):,} rows in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
