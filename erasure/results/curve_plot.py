"""The figure of ``curves.png``: forget and retain accuracy against the epochs of unlearning, for
the records with a curve (``evaluate_every``: :mod:`erasure.curves`).

Two panels (forget, retain), one line per record name: the mean over the seeds that have the
point (its 95% confidence interval shaded —
Student's t, as the ranking's — where at least two seeds have the point), epoch 0 being the original; the gold model's
level on that partition (its GoldModel record) as a dashed horizontal line. Drawn by
:func:`erasure.results.plots.write_plots`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .tables import _is_number, by_name_then_seed, describe, latest_records, one_line

CURVES_FILE = "curves.png"
FORGET, RETAIN = "accuracy.forget.unlearned", "accuracy.retain.unlearned"
#: the panels, left to right: (metric key, title)
PANELS = ((FORGET, "forget accuracy"), (RETAIN, "retain accuracy"))
SIZE = (12.0, 5.0)
GOLD_COLOUR = "#dd8452"
#: the lines' colours: matplotlib's cycle without its orange, close to the gold line's
COLOURS = tuple(f"C{i}" for i in range(10) if i != 1)


@dataclass
class CurveSeries:
    """One record name's curves: per metric, per epoch, the value of each seed."""

    name: str
    values: dict[str, dict[int, list[float]]] = field(default_factory=dict)
    seeds: int = 0

    def line(self, metric: str) -> tuple[list[int], list[float], list[float]]:
        """Epochs, means and the 95% CI half-widths (0 below two values) of ``metric``."""
        points = sorted(self.values.get(metric, {}).items())
        stats = [describe(v) for _, v in points]
        return [e for e, _ in points], [s.mean for s in stats], [s.ci95 or 0.0 for s in stats]


def curve_series(document: dict[str, Any]) -> list[CurveSeries]:
    """Per record name (record order), the curves of its finished records that count (the last
    of its name on each seed); names without a curve are left out."""
    series: dict[str, CurveSeries] = {}
    for (name, _), record in by_name_then_seed(latest_records(document)):
        curve = record.get("curve")
        if record.get("status") != "finished" or not isinstance(curve, dict):
            continue
        epochs, metrics = curve.get("epochs"), curve.get("metrics")
        if not isinstance(epochs, list) or not isinstance(metrics, dict):
            continue
        one = series.setdefault(name, CurveSeries(name))
        one.seeds += 1
        for key, values in metrics.items():
            if not isinstance(values, list):
                continue
            for epoch, value in zip(epochs, values):
                if _is_number(value) and isinstance(epoch, int):
                    one.values.setdefault(key, {}).setdefault(epoch, []).append(float(value))
    return list(series.values())


def curve_figure(mpl, series: list[CurveSeries], gold: dict[str, float]):
    """The figure of ``curves.png`` (``gold``: metric → the gold model's mean level; a panel
    without it draws no gold line)."""
    Figure, _ = mpl
    fig = Figure(figsize=SIZE, layout="constrained")
    axes = fig.subplots(1, len(PANELS), sharey=False)
    several = any(s.seeds > 1 for s in series)
    counts = len({s.seeds for s in series}) > 1  # say each line's seeds when they differ
    for ax, (metric, title) in zip(axes, PANELS):
        for i, one in enumerate(series):
            epochs, means, cis = one.line(metric)
            if not epochs:
                continue
            colour = COLOURS[i % len(COLOURS)]
            ax.plot(epochs, means, marker="o", markersize=3, color=colour, linewidth=1.5,
                    label=one_line(one.name) + (f" ({one.seeds} seeds)" if counts else ""))
            if several and any(cis):  # an accuracy: the band stays within [0, 1]
                ax.fill_between(epochs, [max(m - c, 0.0) for m, c in zip(means, cis)],
                                [min(m + c, 1.0) for m, c in zip(means, cis)], color=colour,
                                alpha=0.15, linewidth=0)
        if metric in gold:
            ax.axhline(gold[metric], color=GOLD_COLOUR, linestyle="--", linewidth=1.5,
                       label="gold (retrained)")
        ax.set_xlabel("epoch of unlearning (0: the original)")
        ax.set_ylabel(metric)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[0].get_legend_handles_labels()
    for handle, label in zip(*axes[1].get_legend_handles_labels()):
        if label not in labels:
            handles.append(handle)
            labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8)
    note = "mean over seeds, 95% CI shaded" if several else "one seed"
    fig.suptitle(f"During unlearning: accuracy per epoch ({note}; dashed: the gold model)")
    return fig


__all__ = ["CURVES_FILE", "CurveSeries", "curve_figure", "curve_series"]
