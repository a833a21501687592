"""Plots of a results document (PNG, matplotlib — the optional extra ``plots``).

Drawn with matplotlib's object-oriented API on the Agg canvas (no ``pyplot``, no global backend
switch, no window), one file per plot, with deterministic names:

- ``bar_<metric>.png`` for each key metric: one horizontal bar per row (original and gold in
  their own colours), the mean over seeds with ±1 sample standard deviation as error bars.
- ``forget_vs_retain.png``: forget accuracy against retain accuracy, one point per unlearner
  (mean ± std over seeds), the original (square) and the gold model (star) marked.
- ``runtime_vs_forgetting.png``: the unlearner's run time (log scale) against how far its forget
  accuracy is from the gold model's, ``|acc_forget − acc_forget(gold)|`` per seed, then mean ±
  std; the gold model at its retraining time. Needs a GoldModel record.
- ``curves.png``, only when some record has a curve (``evaluate_every``): forget and retain
  accuracy against the epochs of unlearning, the gold model's level dashed
  (:mod:`erasure.results.curve_plot`).
- ``tuning.png``, only when some record was tuned: each tuned record's objective against the
  trial number (markers: the trials that finished; pruned and failed trials have no value and
  are not drawn, their counts are in the legend), and the best value so far as a step line.

A plot whose metrics are absent is skipped: :func:`write_plots` logs why and returns it in
``skipped``. Without matplotlib nothing is drawn (one warning) and the tables still work.
"""
from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .curve_plot import CURVES_FILE, PANELS, curve_figure, curve_series
from .tables import (
    GOLD,
    ORIGINAL,
    TUNING_KEYS,
    UNLEARNER,
    Row,
    _is_gold,
    _is_number,
    aggregate,
    by_name_then_seed,
    describe,
    latest_records,
    one_line,
    seeds_of,
    select_metrics,
)
from .write import write_atomic

log = logging.getLogger(__name__)

FORGET, RETAIN = "accuracy.forget.unlearned", "accuracy.retain.unlearned"
RUNTIME = "runtime.unlearn"
SCATTER_FILE = "forget_vs_retain.png"
RUNTIME_FILE = "runtime_vs_forgetting.png"
TUNING_FILE = "tuning.png"
MISSING_MATPLOTLIB = ("matplotlib is not installed: no plots drawn "
                      "(pip install 'erasure[plots]' or pip install matplotlib)")

#: Figure width and dpi (pixels = inches × DPI); bar charts grow with the number of rows.
WIDTH, DPI = 8.0, 100
SCATTER_SIZE = (WIDTH, 6.0)
COLOURS = {UNLEARNER: "#4c72b0", ORIGINAL: "#8c8c8c", GOLD: "#dd8452"}


class PlotFiles(list):
    """The PNG files written (a list of paths), with ``skipped``: file name → why not drawn."""

    def __init__(self, paths=(), skipped: dict[str, str] | None = None):
        super().__init__(paths)
        self.skipped: dict[str, str] = dict(skipped or {})


def bar_file(metric: str) -> str:
    """The file name of a metric's bar chart."""
    return "bar_" + re.sub(r"[^A-Za-z0-9._-]", "_", metric) + ".png"


def bar_height(rows: int) -> float:
    """Height in inches of a bar chart with ``rows`` bars."""
    return 1.5 + 0.4 * rows


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure, FigureCanvasAgg


def _save(fig, canvas_class, path: Path) -> None:
    canvas_class(fig)
    buffer = io.BytesIO()
    # no Software/date metadata: the same numbers give the same bytes
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    write_atomic(path, buffer.getvalue())


def _label(row: Row) -> str:
    return row.name if row.kind == UNLEARNER else f"{row.name} (reference)"


def _spread_note(document: dict[str, Any]) -> str:
    n = len(seeds_of(document))
    return f"mean ± 1 sample std over {n} seeds" if n > 1 else "one seed"


def _bar_chart(mpl, rows: list[Row], metric: str, note: str, path: Path) -> None:
    Figure, Canvas = mpl
    shown = [r for r in rows if r[metric].n]
    fig = Figure(figsize=(WIDTH, bar_height(len(shown))), layout="constrained")
    ax = fig.add_subplot()
    stats = [r[metric] for r in shown]
    positions = list(range(len(shown)))[::-1]  # first row on top
    ax.barh(positions, [s.mean for s in stats],
            xerr=[s.std or 0.0 for s in stats], capsize=3,
            color=[COLOURS[r.kind] for r in shown], edgecolor="black", linewidth=0.5)
    ax.set_yticks(positions, [_label(r) for r in shown], fontsize=8)
    for row, stat in zip(shown, stats):
        if row.kind == GOLD:
            ax.axvline(stat.mean, color=COLOURS[GOLD], linestyle="--", linewidth=1)
    ax.set_xlabel(f"{metric} ({note})")
    ax.set_title(metric)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, Canvas, path)


def _errorbar_point(ax, x, y, xerr, yerr, **style):
    ax.errorbar([x], [y], xerr=None if xerr is None else [xerr],
                yerr=None if yerr is None else [yerr], linestyle="none", capsize=2, **style)


def _scatter(mpl, rows: list[Row], note: str, path: Path) -> None:
    Figure, Canvas = mpl
    fig = Figure(figsize=SCATTER_SIZE, layout="constrained")
    ax = fig.add_subplot()
    for row in rows:
        fx, rx = row[FORGET], row[RETAIN]
        if not (fx.n and rx.n):
            continue
        if row.kind == GOLD:
            style = {"marker": "*", "markersize": 16, "color": COLOURS[GOLD], "zorder": 3}
        elif row.kind == ORIGINAL:
            style = {"marker": "s", "markersize": 9, "color": COLOURS[ORIGINAL], "zorder": 3}
        else:
            style = {"marker": "o", "markersize": 6, "color": COLOURS[UNLEARNER], "zorder": 2}
        _errorbar_point(ax, fx.mean, rx.mean, fx.std, rx.std, label=_label(row)
                        if row.kind != UNLEARNER else None, **style)
        ax.annotate(row.name, (fx.mean, rx.mean), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)
    ax.set_xlabel(f"{FORGET} ({note})")
    ax.set_ylabel(RETAIN)
    ax.set_title("Forget vs retain accuracy (gold: retrained without the forget set)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    _save(fig, Canvas, path)


def _gaps(row: Row, gold: Row) -> list[float]:
    """|forget accuracy − the gold model's| for each seed both have."""
    mine, theirs = row.values.get(FORGET, {}), gold.values.get(FORGET, {})
    return [abs(v - theirs[s]) for s, v in mine.items()
            if _is_number(v) and _is_number(theirs.get(s))]


def _runtime_plot(mpl, rows: list[Row], gold: Row, gold_names: set[str], note: str,
                  path: Path) -> int:
    Figure, Canvas = mpl
    fig = Figure(figsize=SCATTER_SIZE, layout="constrained")
    ax = fig.add_subplot()
    drawn = 0
    for row in rows:
        if row.kind == ORIGINAL or (row.kind == UNLEARNER and row.name in gold_names):
            continue  # no unlearning time / the shared gold model's copy time
        gap = describe(_gaps(row, gold)) if row.kind == UNLEARNER else describe([0.0])
        runtime = row[RUNTIME]
        if not (gap.n and runtime.n) or runtime.mean <= 0:
            continue
        xerr = None
        if runtime.std:  # asymmetric on a log axis: never below zero
            xerr = [[min(runtime.std, runtime.mean * 0.999)], [runtime.std]]
        style = ({"marker": "*", "markersize": 16, "color": COLOURS[GOLD], "zorder": 3,
                  "label": "gold (retraining time)"} if row.kind == GOLD
                 else {"marker": "o", "markersize": 6, "color": COLOURS[UNLEARNER], "zorder": 2})
        yerr = None  # a distance: never below zero either
        if gap.std is not None:
            yerr = [[min(gap.std, gap.mean)], [gap.std]]
        ax.errorbar([runtime.mean], [gap.mean], xerr=xerr, yerr=yerr, linestyle="none",
                    capsize=2, **style)
        ax.annotate(row.name, (runtime.mean, gap.mean), textcoords="offset points",
                    xytext=(4, 4), fontsize=7)
        drawn += 1
    ax.set_xscale("log")
    ax.set_xlabel(f"{RUNTIME} in seconds, log scale ({note})")
    ax.set_ylabel("|forget accuracy − gold forget accuracy|")
    ax.set_title("Run time vs distance to the gold model on the forget set (lower is better)")
    ax.grid(alpha=0.3)
    ax.grid(alpha=0.1, which="minor", axis="x")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    if drawn:
        _save(fig, Canvas, path)
    return drawn


@dataclass
class TuningSeries:
    """One tuned record's trials: the numbers and values of those that finished, the best value
    so far after each, and how many were pruned or failed."""

    name: str
    seed: Any
    protocol: str
    objective: str
    direction: str
    numbers: list[int]
    values: list[float]
    pruned: int
    failed: int

    @property
    def best(self) -> list[float]:
        pick = max if self.direction == "maximize" else min
        out: list[float] = []
        for value in self.values:
            out.append(value if not out else pick(out[-1], value))
        return out


def tuning_series(document: dict[str, Any]) -> list[TuningSeries]:
    """The trials of every tuned record that counts (the last of its name on its seed), by name
    in record order, then by seed; a record whose tuning has no history is left out."""
    series = []
    for (name, seed), record in by_name_then_seed(latest_records(document)):
        tuning = record.get("tuning")
        if not isinstance(tuning, dict) or not isinstance(tuning.get("history"), list):
            continue
        done = [(t[0], t[1]) for t in tuning["history"]
                if isinstance(t, list) and len(t) >= 3 and t[2] == "complete"
                and _is_number(t[1])]
        done.sort(key=lambda t: t[0])
        states = [t[2] for t in tuning["history"] if isinstance(t, list) and len(t) >= 3]
        series.append(TuningSeries(
            name, seed, str(tuning.get("protocol", "?")), str(tuning.get("objective", "objective")),
            str(tuning.get("direction", "minimize")), [n for n, _ in done],
            [float(v) for _, v in done], states.count("pruned"), states.count("fail")
            + states.count("failed")))
    return series


TUNING_STYLES = ("-", "--", ":", "-.")


def tuning_figure(mpl, series: list[TuningSeries], several_seeds: bool):
    """The figure of ``tuning.png``: per series, its finished trials as markers and the best so
    far as a step line (two lines per series, in the order given; series without a finished
    trial draw nothing)."""
    Figure, _ = mpl
    fig = Figure(figsize=SCATTER_SIZE, layout="constrained")
    ax = fig.add_subplot()
    objectives = list(dict.fromkeys(f"{s.objective} ({s.direction})" for s in series))
    colours: dict[str, str] = {}
    seeds: dict[str, int] = {}
    for s in series:
        if not s.values:
            continue
        colour = colours.setdefault(s.name, f"C{len(colours) % 10}")
        style = TUNING_STYLES[seeds.get(s.name, 0) % len(TUNING_STYLES)]
        seeds[s.name] = seeds.get(s.name, 0) + 1
        label = one_line(s.name) + (f" (seed {s.seed})" if several_seeds else "") + \
            f" [{one_line(s.protocol)}]"
        if len(objectives) > 1:
            label += f", {one_line(s.objective)}"
        if s.pruned or s.failed:
            label += f": {s.pruned} pruned, {s.failed} failed"
        ax.plot(s.numbers, s.values, linestyle="none", marker="o", markersize=4, alpha=0.5,
                color=colour)
        ax.step(s.numbers, s.best, where="post", color=colour, linestyle=style, linewidth=1.5,
                label=label)
    values = [v for s in series for v in s.values]
    if values and min(values) > 0 and max(values) >= 100 * min(values):
        ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel(objectives[0] if len(objectives) == 1 else "objective (see the legend)")
    ax.set_title("Tuning: each finished trial (dots) and the best so far (steps)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    return fig


def write_plots(document: dict[str, Any], folder: str | Path,
                metrics: str | Sequence[str] | None = None) -> PlotFiles:
    """Draws the plots of ``document`` into ``folder`` (created if needed), each PNG written
    atomically; returns their paths, in a fixed order, with ``skipped`` (file → reason) for the
    plots not drawn. ``metrics`` picks the bar charts (see
    :func:`erasure.results.tables.select_metrics`; default: the key metrics present)."""
    folder = Path(folder)
    out = PlotFiles()
    mpl = _matplotlib()
    if mpl is None:
        log.warning(MISSING_MATPLOTLIB)
        out.skipped["*"] = MISSING_MATPLOTLIB
        return out
    by_name = aggregate(document)
    rows = list(by_name.values())
    note = _spread_note(document)

    def skip(name: str, reason: str) -> None:
        log.info("plot %s skipped: %s", name, reason)
        out.skipped[name] = reason

    # the tuning cost has a plot of its own (tuning.png), not bars, unless asked for by name
    chosen = [k for k in select_metrics(rows, metrics) if metrics is not None
              or k not in TUNING_KEYS]
    for metric in chosen:
        name = bar_file(metric)
        if not any(r[metric].n for r in rows):
            skip(name, f"no finished record has a value for {metric}")
            continue
        _bar_chart(mpl, rows, metric, note, folder / name)
        out.append(folder / name)

    if not any(r[FORGET].n and r[RETAIN].n for r in rows):
        skip(SCATTER_FILE, f"no row has both {FORGET} and {RETAIN}")
    else:
        _scatter(mpl, rows, note, folder / SCATTER_FILE)
        out.append(folder / SCATTER_FILE)

    gold = next((r for r in rows if r.kind == GOLD), None)
    gold_names = {r["name"] for r in document.get("records", []) if _is_gold(r)}
    if gold is None:
        skip(RUNTIME_FILE, "no finished GoldModel record to measure forgetting against")
    elif not any(r[RUNTIME].n for r in rows if r.kind == UNLEARNER):
        skip(RUNTIME_FILE, f"no record has {RUNTIME}")
    elif not gold[FORGET].n:
        skip(RUNTIME_FILE, f"the gold model has no {FORGET}")
    elif _runtime_plot(mpl, rows, gold, gold_names, note, folder / RUNTIME_FILE):
        out.append(folder / RUNTIME_FILE)
    else:
        skip(RUNTIME_FILE, f"no unlearner has both {RUNTIME} > 0 and {FORGET}")

    curves = curve_series(document)  # no curve: no curve plot, nothing to say
    if curves and not any(c.line(m)[0] for c in curves for m, _ in PANELS):
        skip(CURVES_FILE, "no curve has " + " or ".join(m for m, _ in PANELS))
    elif curves:
        levels = {m: gold[m].mean for m, _ in PANELS} if gold is not None else {}
        _save(curve_figure(mpl, curves, {m: v for m, v in levels.items() if v is not None}),
              mpl[1], folder / CURVES_FILE)
        out.append(folder / CURVES_FILE)

    series = tuning_series(document)  # no tuned record: no tuning plot, nothing to say
    if series and not any(s.values for s in series):
        skip(TUNING_FILE, "no tuning trial finished")
    elif series:
        _save(tuning_figure(mpl, series, len(seeds_of(document)) > 1), mpl[1],
              folder / TUNING_FILE)
        out.append(folder / TUNING_FILE)
    return out


__all__ = ["PlotFiles", "TuningSeries", "bar_file", "bar_height", "tuning_figure",
           "tuning_series", "write_plots"]
