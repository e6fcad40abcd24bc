"""The validation report a person reads: each anomaly, and each feature's threshold with the terms
that widen it (:mod:`kfx.validation` finds the anomalies, :mod:`kfx.thresholds` sets the thresholds)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from kfx.thresholds import JS, JS_NOISE_FACTOR, JS_QUANTILE, LINF, LINF_NOISE_Z, Comparison

if TYPE_CHECKING:
    from kfx.validation import Finding


_DISTANCES = {JS: "Jensen-Shannon", LINF: "L-infinity"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(
    found: list[Finding],
    splits: list[str],
    skew_threshold: float,
    comparisons: Sequence[Comparison] = (),
    drift_threshold: Optional[float] = None,
) -> str:
    """A Markdown report of the findings, for people and for the pipeline UI.

    Args:
        found: The findings.
        splits: The splits checked.
        skew_threshold: The base skew threshold.
        comparisons: Every feature compared, with its threshold (see :func:`validate`); with them,
            the report gives each feature's threshold and why.
        drift_threshold: The base drift threshold, when drift was checked.
    """
    lines = ["# Data validation", ""]
    widened = " plus a noise term per feature for the rows compared (see Thresholds)" if comparisons else ""
    line = f"Checked splits: {', '.join(splits)}; skew threshold train vs. validation: {skew_threshold}{widened}."
    if drift_threshold is not None:
        line += (
            f" Drift threshold train vs. the previous training statistics: {drift_threshold}"
            f"{' plus a noise term per feature' if comparisons else ''}."
        )
    lines += [line, ""]
    if not found:
        drifted = " or drifted" if drift_threshold is not None else ""
        lines.append(f"No anomalies found: every split matches the schema and no feature is skewed{drifted}.")
    else:
        lines += [
            f"**{len(found)} anomalies found.**",
            "",
            "| split | feature | check | anomaly | details |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {f.split} | {f.feature} | {f.check} | {f.short} | {_cell(f.description)} |" for f in found]
    if comparisons:
        lines += [
            "",
            "## Thresholds",
            "",
            "Two samples of one distribution differ by chance, the more the fewer rows they have, so each "
            "feature's threshold is the base plus a noise term for the n and m rows with a value on each side: "
            f"for the Jensen-Shannon divergence of numeric features the larger of {JS_NOISE_FACTOR:g} × 2(k − 1) / "
            f"(8 ln 2) × (1/n + 1/m), k the histogram's buckets, and the {JS_QUANTILE * 100:g}th percentile of "
            "the divergence TFDV's histograms give between n and m values drawn from both sides pooled (simulated: "
            "it is larger where values pile up on a few numbers); for the L-infinity distance of categorical features "
            f"{LINF_NOISE_Z:g} × √(p (1 − p) (1/n + 1/m)), p the most common value's share.",
            "",
            "| feature | check | distance | measured | threshold | why |",
            "|---|---|---|---|---|---|",
        ]
        for c in comparisons:
            measured = "–" if c.measured is None else f"{c.measured:.4f}"
            flag = " **above**" if c.exceeded else ""
            lines.append(
                f"| {c.feature} | {c.check} | {_DISTANCES[c.distance]} | {measured}{flag} | "
                f"{c.threshold:.4f} | {_cell(c.why())} |"
            )
    return "\n".join(lines) + "\n"
