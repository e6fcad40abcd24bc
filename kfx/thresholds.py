"""Size-aware thresholds of the skew and drift checks, and the comparison of one feature held to one.

Skew compares the training split with the validation split; drift compares this
run's training statistics with a previous model's (the champion's). Both use
TFDV's comparators: Jensen-Shannon divergence (in bits) of the histograms of a
numeric feature, L-infinity distance of the value shares of a categorical one.
Two samples of one distribution differ by chance, the more the fewer rows they
have, so a single threshold either flags every feature of a small table or
misses real changes in a large one. Each feature's threshold is therefore a
base (``Config.skew_threshold`` / ``Config.drift_threshold``: the change worth
flagging) plus a noise term from the rows with a value on each side, ``n`` and
``m`` (see :func:`js_noise` and :func:`linf_noise`).

For a numeric feature the noise term is the larger of two bounds of the
divergence two samples of one distribution reach by chance:

- a closed form (:func:`js_noise`): the divergence of two histograms of ``n`` and
  ``m`` values is about chi-square over ``8 ln 2 (1/n + 1/m)``, so it grows as
  buckets / rows. It is right for smooth features, and on the smallest tables
  (iris and wine: 15 and 18 validation rows) it alone covers chance.
- the 99th percentile of TFDV's own statistic, simulated
  (:func:`kfx.js_sampling.null_quantile`): 200 pairs of samples of ``n`` and
  ``m`` values drawn from the two sides pooled, each compared the way TFDV
  compares them. TFDV does not measure the divergence of the values but of two
  10-bucket histograms, each between its side's own minimum and maximum, spread
  evenly within each bucket, and a side whose values are all equal gets a
  zero-width bucket of its own. Where values pile up on a few numbers that
  approximation, not the data, makes most of the divergence, and it does not
  shrink with more rows: digits' pixel counts (mostly 0, a sparse tail up to 16)
  measure up to 1 bit, TFDV's largest, between a clean 179-row validation split
  and its training split (the split's pixel is 0 in every row: a point bucket
  the training side lacks), and diabetes' ``s4`` (three values hold 68% of the
  rows) 0.36 bits on 44 rows, above the closed form's 0.32 threshold. Only a
  simulation of TFDV's own computation sees that; where it says chance reaches
  1 bit, the feature cannot be checked at this size, and its threshold is 1.

On larger tables TFDV's histograms add a part that does not shrink with more rows
even for smooth features (each side's long tail moves its edges; up to 0.08 on all
of beans): the simulation covers some of it (0.02 on beans), the base the rest.
``benchmarks/bench_thresholds.py`` measures all of this on 20 clean random splits
each of scikit-learn's five bundled tables (iris, wine, breast cancer, digits,
diabetes) and beans (600 rows and all 13,611): no skew or drift anomaly with the
defaults, the largest distance at most 0.81 of its threshold but where both are
1 bit, while beans with one feature ten times larger in half its rows drifts by
0.58 against a threshold of 0.17, and one feature of each bundled table moved by
three standard deviations in half its rows drifts above its threshold.

The simulated term rebuilds the pooled distribution from 10-bucket statistics, which
are smoother than the data: for ``s4`` it gives 0.37 where resampling the values
themselves gives 0.47. The base covers that difference on the tables measured; a
table whose values sit on a lattice of a few numbers more finely than its quantile
buckets show may still need a curated comparator (``--schema-file``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

SKEW, DRIFT = "skew", "drift"
"""The checks that compare two statistics: train vs. eval skew, and drift from the previous statistics."""

JS, LINF = "jensen_shannon_divergence", "infinity_norm"
"""The comparator distances, named as in the schema proto's ``FeatureComparator``."""

JS_NOISE_FACTOR = 2.0
"""The JS noise term is this many times the divergence expected between two samples of one distribution.

On 20 clean random splits each of iris and wine the largest divergence is 0.85 and 0.88 times
the term (``of noise`` in ``benchmarks/bench_thresholds.py``).
"""

JS_QUANTILE = 0.99
"""The simulated JS noise term is this quantile of TFDV's divergence between samples of one distribution.

Each feature is compared with its own quantile, and the base comes on top of it, so a clean split of a
table of hundreds of features is still unlikely to pass it anywhere (``benchmarks/bench_thresholds.py``).
"""

LINF_NOISE_Z = 3.5
"""The L-infinity noise term is this many standard deviations of the most common value's share.

On the calibration splits (each table with a five-value column added) the largest distance is
at most 0.87 times the term.
"""

ROUNDING = 1e-9
"""How far above 1 TFDV's sum for a divergence of 1 bit (its largest) can come out, in floating point.

A threshold capped at 1 is written into the schema this much higher: chance reaching 1 bit means the
feature cannot be checked with these rows, not that 1.0000000000000004 bits is an anomaly.
"""

STANDARD_BUCKETS = 10
"""Buckets of TFDV's standard histogram, used when the statistics carry none."""


@dataclass(frozen=True)
class Comparison:
    """One feature compared between two statistics, and the threshold it was held to.

    Attributes:
        feature: The feature (column) name.
        check: "skew" or "drift".
        distance: ``jensen_shannon_divergence`` (numeric) or ``infinity_norm`` (categorical).
        base: The base threshold (or the schema's own threshold when ``curated``).
        noise: The noise term added for the rows compared (0 when ``curated``).
        rows: Rows with a value on each side (this split's first).
        sides: What the two sides are, e.g. ("train", "validation").
        measured: The distance TFDV measured; None when it measured none (a side has no values).
        curated: The schema had this comparator already; its threshold is used as is.
    """

    feature: str
    check: str
    distance: str
    base: float
    noise: float
    rows: tuple[int, int]
    sides: tuple[str, str]
    measured: Optional[float] = None
    curated: bool = False

    @property
    def threshold(self) -> float:
        """The threshold TFDV was given: base plus noise, at most 1 (both distances are at most 1)."""
        return min(1.0, self.base + self.noise)

    @property
    def given(self) -> float:
        """The threshold written into the schema: :attr:`threshold`, or a hair above 1 when capped there."""
        return self.threshold if self.curated or self.threshold < 1 else 1 + ROUNDING

    @property
    def exceeded(self) -> bool:
        """Whether the measured distance is above the threshold (TFDV's own test)."""
        return self.measured is not None and self.measured > self.given

    def why(self) -> str:
        """Where the threshold comes from, in words."""
        if self.curated:
            return "set in the schema"
        n, m = self.rows
        if not math.isfinite(self.noise):
            return f"{self.base:g} base; no values on one side ({n} {self.sides[0]} vs. {m} {self.sides[1]} rows)"
        text = f"{self.base:g} base + {self.noise:.4f} noise ({n} {self.sides[0]} vs. {m} {self.sides[1]} rows)"
        return text + (", capped at 1" if self.base + self.noise > 1 else "")

    def to_dict(self) -> dict:
        """Plain values, with the threshold and why, for summaries and step results."""
        values = asdict(self)
        values.update(
            rows=list(self.rows),
            sides=list(self.sides),
            threshold=self.threshold,
            why=self.why(),
            noise=self.noise if math.isfinite(self.noise) else None,
        )
        return values


def js_noise(n: int, m: int, buckets: int = STANDARD_BUCKETS) -> float:
    """Noise term of the Jensen-Shannon divergence between ``n`` and ``m`` values of one distribution.

    TFDV compares the standard histograms of the two sides (``buckets`` equal-width buckets between
    each side's own minimum and maximum), re-bucketed onto the union of their bucket edges: up to
    ``2 * buckets - 1`` buckets, so ``2 * (buckets - 1)`` degrees of freedom. For two samples of one
    distribution, ``8 ln 2`` times the divergence in bits is then about chi-square with those degrees
    of freedom times ``1/n + 1/m``; its mean, ``2 (buckets - 1) / (8 ln 2) * (1/n + 1/m)``, matches
    the median divergence measured on clean splits of small tables, and the term is
    :data:`JS_NOISE_FACTOR` times that.

    Args:
        n: Values on one side.
        m: Values on the other.
        buckets: Buckets of the standard histogram. Defaults to TFDV's 10.

    Returns:
        The term, in bits; infinite when a side has no values.
    """
    if n <= 0 or m <= 0:
        return math.inf
    freedom = 2 * (max(buckets, 2) - 1)
    return JS_NOISE_FACTOR * freedom / (8 * math.log(2)) * (1 / n + 1 / m)


def linf_noise(n: int, m: int, share: float) -> float:
    """Noise term of the L-infinity distance between the value shares of ``n`` and ``m`` values.

    The share of one value differs between the sides with a standard deviation of
    ``sqrt(p (1 - p) (1/n + 1/m))``; the largest over all values is that of the value whose share
    ``p`` is nearest one half, the most common one. The term is :data:`LINF_NOISE_Z` of them.

    Args:
        n: Values on one side.
        m: Values on the other.
        share: The most common value's share of the values.

    Returns:
        The term; infinite when a side has no values.
    """
    if n <= 0 or m <= 0:
        return math.inf
    share = min(max(share, 0.0), 1.0)
    return LINF_NOISE_Z * math.sqrt(share * (1 - share) * (1 / n + 1 / m))
