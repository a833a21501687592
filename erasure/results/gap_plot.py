"""The figure of ``gap_to_gold.png``: how far each method is from the gold model, per metric.

For each method (each record name, and the original as a reference: what doing nothing scores)
and each metric of the Avg. Gap (:class:`erasure.measures.avg_gap.AvgGap`: forget, retain and
test accuracy, and MIA-Efficacy where the run measured it), the gap ``|metric − gold|`` is taken
on each seed against the gold model of that seed; a bar is its mean over the seeds, with the
95% confidence interval of that mean (Student's t, as the ranking's,
:func:`erasure.results.tables.describe`) when there are at least two seeds, none with one. (A
gap is never below 0: the interval's lower end is cut there.) A gap far larger than the others
(:func:`erasure.results.layout.outliers`) does not set its panel's axis: its bar is cut at the
edge, where a triangle and its value mark it.

One panel per metric, the methods in the same order in every panel: by their mean gap over the
panels, closest to the gold model first (on top). With all four metrics on every seed, that mean
is the mean of the run's ``avg_gap`` (its four terms: ``|UA − UA*| = |forget accuracy − gold's|``),
so the order is the ranking's. The GoldModel records themselves (0 by definition) are left out. Drawn by :func:`erasure.results.plots.write_plots`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .layout import edge_value, outliers
from .tables import GOLD, ORIGINAL, Row, Stat, _is_gold, _is_number, describe, one_line

GAP_FILE = "gap_to_gold.png"
ACCURACIES = ("accuracy.forget.unlearned", "accuracy.retain.unlearned",
              "accuracy.test.unlearned")
MIA_EFFICACY = "mia_efficacy"
COLOURS = {ORIGINAL: "#8c8c8c", "method": "#4c72b0"}


@dataclass(frozen=True)
class GapRow:
    """One method: per metric, the statistics of ``|metric − gold|`` over its seeds."""

    name: str
    kind: str
    gaps: dict[str, Stat]

    @property
    def mean_gap(self) -> float:
        """The mean of the metrics' mean gaps (those it has); infinite with none."""
        means = [s.mean for s in self.gaps.values() if s.n]
        return math.fsum(means) / len(means) if means else math.inf


@dataclass(frozen=True)
class GapChart:
    """The metrics (panels, left to right) and the rows, closest to the gold model first."""

    metrics: list[str]
    rows: list[GapRow]


def gap_metrics(keys) -> list[str]:
    """The Avg. Gap's metrics among ``keys``: the three accuracies, then the first
    MIA-Efficacy key of the forget set's unlearned model."""
    keys = list(keys)
    found = [k for k in ACCURACIES if k in keys]
    mia = next((k for k in keys if k.split(".")[0].startswith(MIA_EFFICACY)
                and k.endswith(".forget.unlearned")), None)
    return found + ([mia] if mia else [])


def per_seed_gaps(row: Row, gold: Row, metric: str) -> list[float]:
    """``|row − gold|`` of ``metric`` on each seed where both have a number."""
    mine, theirs = row.values.get(metric, {}), gold.values.get(metric, {})
    return [abs(v - theirs[s]) for s, v in mine.items()
            if _is_number(v) and _is_number(theirs.get(s))]


def gap_chart(document: dict[str, Any], rows: dict[str, Row]) -> GapChart | None:
    """The chart's numbers; None without a gold row or without a metric both it and some
    method have."""
    gold = next((r for r in rows.values() if r.kind == GOLD), None)
    if gold is None:
        return None
    gold_names = {r["name"] for r in document.get("records", []) if _is_gold(r)}
    metrics = gap_metrics(k for k in gold.values if gold[k].n)
    out = []
    for row in rows.values():
        if row.kind == GOLD or row.name in gold_names:
            continue
        gaps = {m: describe(per_seed_gaps(row, gold, m)) for m in metrics}
        if any(s.n for s in gaps.values()):
            out.append(GapRow(row.name, row.kind, gaps))
    metrics = [m for m in metrics if any(r.gaps[m].n for r in out)]
    if not metrics:
        return None
    out.sort(key=lambda r: r.mean_gap)  # stable: equal gaps keep the record order
    return GapChart(metrics, out)


def gap_width(panels: int) -> float:
    """Width in inches of the chart with ``panels`` metrics."""
    return max(7.0, 2.4 + 2.4 * panels)


def gap_height(rows: int) -> float:
    """Height in inches of the chart with ``rows`` methods."""
    return 1.6 + 0.28 * rows


def gap_figure(mpl, chart: GapChart, several_seeds: bool):
    """The figure: one panel of horizontal bars per metric (the bars are ``ax.patches`` in the
    order of ``chart.rows``; the intervals one ``ax.errorbar`` per panel, for the rows with
    one)."""
    Figure, _ = mpl
    n = len(chart.rows)
    fig = Figure(figsize=(gap_width(len(chart.metrics)), gap_height(n)), layout="constrained")
    axes = fig.subplots(1, len(chart.metrics), sharey=True, squeeze=False)[0]
    positions = list(range(n))[::-1]  # the closest on top
    for ax, metric in zip(axes, chart.metrics):
        stats = [r.gaps[metric] for r in chart.rows]
        far = outliers([s.mean if s.n else 0.0 for s in stats])
        means = [s.mean for s, f in zip(stats, far) if s.n and not f]
        ends = [s.mean + (s.ci95 or 0.0) for s, f in zip(stats, far) if s.n and not f]
        # the intervals shown, unless one would squash the bars (it then runs off the edge)
        top = min(max(ends, default=0.0), 2 * max(means, default=0.0)) * 1.12 or 0.01
        ax.barh(positions, [s.mean if s.n else 0.0 for s in stats], height=0.7,
                color=[COLOURS[ORIGINAL] if r.kind == ORIGINAL else COLOURS["method"]
                       for r in chart.rows], edgecolor="black", linewidth=0.4)
        with_ci = [(p, s) for p, s, f in zip(positions, stats, far)
                   if s.ci95 is not None and not f]
        if with_ci:
            ax.errorbar([s.mean for _, s in with_ci], [p for p, _ in with_ci],
                        xerr=[[min(s.ci95, s.mean) for _, s in with_ci],
                              [s.ci95 for _, s in with_ci]],
                        fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
        for p, s, f in zip(positions, stats, far):
            if f:
                edge_value(ax, s.mean, p, 0.0, top)
            elif not s.n:
                ax.text(0, p, " no value", va="center", fontsize=7, color="0.4")
        ax.set_xlim(0, top)
        ax.set_title("|" + metric.replace(".unlearned", "") + " − gold|", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.get_major_locator().set_params(nbins=4)
    axes[0].set_yticks(positions, [one_line(r.name) + (" (no unlearning)"
                                                       if r.kind == ORIGINAL else "")
                                   for r in chart.rows], fontsize=8)
    axes[0].set_ylim(-0.6, n - 0.4)
    spread = ("mean over the seeds, 95% CI (Student's t)" if several_seeds
              else "one seed: no interval")
    fig.suptitle("Distance to the gold model (0 = the gold model), closest on top by the mean "
                 f"of the panels\n{spread}", fontsize=9)
    return fig


__all__ = ["GAP_FILE", "GapChart", "GapRow", "gap_chart", "gap_figure", "gap_height", "gap_width",
           "gap_metrics", "per_seed_gaps"]
