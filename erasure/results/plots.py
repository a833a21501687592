"""Plots of a results document (PNG at 200 dpi by default; PDF and SVG on request).

Drawn with matplotlib's object-oriented API on the Agg canvas (no ``pyplot``, no global backend
switch, no window), one file per plot and format, with deterministic names and bytes (no date or
software version in the files: the same numbers give the same files). The spread over seeds is
always the 95% confidence interval of the mean (Student's t, :func:`erasure.results.tables.describe`,
as the ranking's); with one seed no interval is drawn.

- ``gap_to_gold.png``: per method, ``|metric − gold|`` for the Avg. Gap's metrics (forget,
  retain, test accuracy, MIA-Efficacy), closest method on top (:mod:`erasure.results.gap_plot`).
  Needs a GoldModel record.
- ``bar_<metric>.png`` for each key metric: one horizontal bar per row (original and gold in
  their own colours, the gold value also as a dashed line), the mean over seeds. The value axis
  is zoomed to the data when the values are far from 0 relative to their spread (so that 0.95
  and 1.0 differ visibly; the axis label says where it starts), and logarithmic for values that
  span two orders of magnitude or more.
- ``forget_vs_retain.png``: forget accuracy against retain accuracy, one point per unlearner,
  the original (grey square) and the gold model (orange star) marked; the axes zoomed to the
  points with a margin (an interval may run off the edge), a point far from the others (see :func:`split_outliers`) drawn as a
  triangle at the edge with its values, and labels placed so that none overlaps
  (:mod:`erasure.results.layout`).
- ``runtime_vs_forgetting.png``: the unlearner's run time (log scale) against how far its forget
  accuracy is from the gold model's, ``|acc_forget − acc_forget(gold)|`` per seed, then the
  mean; the gold model at its retraining time. Needs a GoldModel record.
- ``curves.png``, only when some record has a curve (``evaluate_every``): forget and retain
  accuracy against the epochs of unlearning, the gold model's level dashed
  (:mod:`erasure.results.curve_plot`).
- ``tuning.png``, only when some record was tuned: each tuned record's objective against the
  trial number (markers: the trials that finished; pruned and failed trials have no value and
  are not drawn, their counts are in the legend), and the best value so far as a step line.

A plot whose metrics are absent is skipped: :func:`write_plots` logs why and returns it in
``skipped``. Without matplotlib (a base dependency; only a broken install lacks it) nothing is
drawn (one warning) and the tables still work.
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
from .gap_plot import GAP_FILE, gap_chart, gap_figure
from .layout import EDGE, edge_value, outliers, place_labels
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
                      "(it is a dependency of erasure: pip install matplotlib)")

#: The formats a plot can be written in, and the default.
FORMATS = ("png", "pdf", "svg")
DEFAULT_FORMATS = ("png",)
#: Each format's metadata, fixed: no software version, no date (the same numbers, the same bytes).
METADATA = {"png": {"Software": None},
            "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
            "svg": {"Creator": None, "Date": None}}
#: SVG element ids are hashed with this salt (else a random one per file).
SVG_SALT = "erasure"

#: Figure width and dpi (pixels = inches × DPI); bar charts grow with the number of rows.
WIDTH, DPI = 8.0, 200
SCATTER_SIZE = (WIDTH, 6.5)
COLOURS = {UNLEARNER: "#4c72b0", ORIGINAL: "#8c8c8c", GOLD: "#dd8452"}
#: the intervals' colours on a scatter: lighter, so that the points and labels stand out
LIGHT = {UNLEARNER: "#a6b9d8", ORIGINAL: "#c6c6c6", GOLD: "#eec1a8"}
#: A bar chart's axis leaves 0 when the values' lowest end is this many times their spread.
ZOOM_RATIO = 1.0
#: Values spanning this factor or more get a log axis.
LOG_SPAN = 100.0


class PlotFiles(list):
    """The plot files written (a list of paths), with ``skipped``: file name → why not drawn."""

    def __init__(self, paths=(), skipped: dict[str, str] | None = None):
        super().__init__(paths)
        self.skipped: dict[str, str] = dict(skipped or {})


def plot_formats(formats: str | Sequence[str] | None) -> tuple[str, ...]:
    """The formats named by ``formats`` (``"png,pdf"`` or a list; None: PNG), in order, each
    once.

    Raises:
        ValueError: a format not in :data:`FORMATS`, or none named.
    """
    if formats is None:
        return DEFAULT_FORMATS
    if isinstance(formats, str):
        formats = formats.split(",")
    names = [f.strip().lower().lstrip(".") for f in formats]
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise ValueError(f"unknown plot format {', '.join(map(repr, unknown)) or '(none)'}: "
                         f"accepted {', '.join(FORMATS)} (comma-separated)")
    return tuple(dict.fromkeys(names))


def bar_file(metric: str) -> str:
    """The file name of a metric's bar chart (PNG; other formats change the suffix)."""
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


def _save(fig, canvas_class, path: Path, formats: Sequence[str] = DEFAULT_FORMATS
          ) -> list[Path]:
    """Writes ``fig`` once per format, at ``path`` with the format's suffix; returns the
    paths."""
    import matplotlib

    if not isinstance(fig.canvas, canvas_class):
        canvas_class(fig)
    out = []
    for fmt in formats:
        buffer = io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": SVG_SALT}):
            fig.savefig(buffer, format=fmt, dpi=DPI, metadata=METADATA[fmt])
        target = path.with_name(f"{_stem(path.name)}.{fmt}")
        write_atomic(target, buffer.getvalue())
        out.append(target)
    return out


def _stem(name: str) -> str:
    return name[:-len(".png")] if name.endswith(".png") else name


def _label(row: Row) -> str:
    return row.name if row.kind == UNLEARNER else f"{row.name} (reference)"


def _spread_note(document: dict[str, Any]) -> str:
    n = len(seeds_of(document))
    return f"mean over {n} seeds, 95% CI" if n > 1 else "one seed, no interval"


def value_axis(lows: Sequence[float], highs: Sequence[float], log_ok: bool = True
               ) -> tuple[str, float | None, float | None]:
    """The value axis of a bar chart whose bars end between ``lows`` and ``highs`` (means ± CI):
    ``("log", lo, hi)`` when every value is positive and they span :data:`LOG_SPAN` or more,
    ``("linear", lo, hi)`` zoomed to the data when their lowest end is above 0 by at least
    :data:`ZOOM_RATIO` times their spread, else ``("linear", None, None)``: from 0."""
    lo, hi = min(lows), max(highs)
    if log_ok and lo > 0 and hi >= LOG_SPAN * lo:
        return "log", lo / 1.5, hi * 1.5
    span = hi - lo
    if lo > 0 and lo >= ZOOM_RATIO * span:
        margin = span * 0.15 if span > 0 else abs(hi) * 0.01 or 0.01
        return "linear", max(lo - margin, 0.0), hi + margin
    return "linear", None, None


def _bar_chart(mpl, rows: list[Row], metric: str, note: str, path: Path,
               formats: Sequence[str]) -> list[Path]:
    Figure, Canvas = mpl
    fig = bar_figure(mpl, rows, metric, note)
    return _save(fig, Canvas, path, formats)


def bar_figure(mpl, rows: list[Row], metric: str, note: str):
    """The figure of ``bar_<metric>.png``: the bars are ``ax.patches`` (one per row with a
    value, in row order, first on top); the intervals one ``ax.errorbar``, for the rows with
    one. On a linear axis, a method's value far from the others (an outlier,
    :func:`erasure.results.layout.outliers`) does not set the axis: its bar is cut at the edge,
    where a triangle and its value mark it."""
    Figure, _ = mpl
    shown = [r for r in rows if r[metric].n]
    fig = Figure(figsize=(WIDTH, bar_height(len(shown))), layout="constrained")
    ax = fig.add_subplot()
    stats = [r[metric] for r in shown]
    positions = list(range(len(shown)))[::-1]  # first row on top
    # the intervals set the axis up to the means' own spread: a wider one (two seeds' for
    # instance) runs off the edge rather than squash the bars
    means = [s.mean for s in stats]
    cap = max(max(means) - min(means), 0.05 * max(abs(m) for m in means))
    lows = [s.mean - min(s.ci95 or 0.0, cap) for s in stats]
    highs = [s.mean + min(s.ci95 or 0.0, cap) for s in stats]
    scale, lo, hi = value_axis(lows, highs)
    far = [False] * len(shown)
    if scale == "linear":
        far = outliers([s.mean for s in stats], [r.kind != UNLEARNER for r in shown])
        if any(far):
            near = [i for i, f in enumerate(far) if not f]
            scale, lo, hi = value_axis([lows[i] for i in near], [highs[i] for i in near], False)
            if lo is None:
                lo, hi = 0.0, max(highs[i] for i in near) * 1.1 or 1.0
    else:  # the lower end of an interval on a log axis: never at or below 0
        lo = min(lo, *(s.mean / 1.5 for s in stats))
    left = lo if lo is not None else 0.0
    ax.barh(positions, [s.mean - left for s in stats], left=left,
            color=[COLOURS[r.kind] for r in shown], edgecolor="black", linewidth=0.5)
    with_ci = [(p, s) for p, s, f in zip(positions, stats, far) if s.ci95 is not None and not f]
    if with_ci:
        low_room = [s.ci95 if scale == "linear" else min(s.ci95, s.mean - lo * 1.01)
                    for _, s in with_ci]
        ax.errorbar([s.mean for _, s in with_ci], [p for p, _ in with_ci],
                    xerr=[low_room, [s.ci95 for _, s in with_ci]], fmt="none", ecolor="black",
                    elinewidth=0.8, capsize=3)
    for p, s, f in zip(positions, stats, far):
        if f:
            edge_value(ax, s.mean, p, lo, hi)
    ax.set_yticks(positions, [_label(r) for r in shown], fontsize=8)
    for row, stat in zip(shown, stats):
        if row.kind == GOLD:
            ax.axvline(stat.mean, color=COLOURS[GOLD], linestyle="--", linewidth=1)
    ax.set_xscale(scale)
    if lo is None:  # from 0 (or below, for negative values) to the intervals shown
        lo_end, hi_end = min(0.0, *lows), max(0.0, *highs)
        margin = (hi_end - lo_end) * 0.05 or 0.05
        ax.set_xlim(lo_end - (margin if lo_end < 0 else 0.0), hi_end + margin)
    else:
        ax.set_xlim(lo, hi)
    where = (", log scale" if scale == "log" else
             f", axis from {lo:.3g}, not 0" if lo is not None and lo > 0 else "")
    ax.set_xlabel(f"{metric} ({note}{where})")
    ax.set_title(metric)
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="x", which="minor", alpha=0.1)
    return fig


def split_outliers(xs: Sequence[float], ys: Sequence[float], keep: Sequence[bool] = ()
                   ) -> list[bool]:
    """Which points are outliers: an outlier on either axis (:func:`erasure.results.layout.outliers`);
    ``keep[i]`` true: never one (the references)."""
    return [a or b for a, b in zip(outliers(xs, keep), outliers(ys, keep))]


def _limits(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    margin = max((hi - lo) * 0.12, 0.01)
    return lo - margin, hi + margin


@dataclass(frozen=True)
class ScatterPoint:
    """A point of the forget-vs-retain scatter: its row, mean values, intervals, and whether
    it is drawn at the edge as an outlier."""

    row: Row
    x: float
    y: float
    xci: float | None
    yci: float | None
    outlier: bool


def scatter_points(rows: list[Row], leave_out: Sequence[str] = ()) -> list[ScatterPoint]:
    """The scatter's points: the rows with both accuracies but those named in ``leave_out``
    (the GoldModel records: the gold row's star shows them), outliers marked."""
    shown = [r for r in rows if r[FORGET].n and r[RETAIN].n
             and not (r.kind == UNLEARNER and r.name in leave_out)]
    xs, ys = [r[FORGET].mean for r in shown], [r[RETAIN].mean for r in shown]
    out = split_outliers(xs, ys, [r.kind != UNLEARNER for r in shown])
    return [ScatterPoint(r, x, y, r[FORGET].ci95, r[RETAIN].ci95, o)
            for r, x, y, o in zip(shown, xs, ys, out)]


def scatter_figure(mpl, rows: list[Row], note: str, leave_out: Sequence[str] = ()):
    """The figure of ``forget_vs_retain.png``; the labels are ``ax.texts`` (annotations), one
    per unlearner's point, in the order of :func:`scatter_points`."""
    Figure, Canvas = mpl
    fig = Figure(figsize=SCATTER_SIZE, layout="constrained")
    Canvas(fig)
    ax = fig.add_subplot()
    points = scatter_points(rows, leave_out)
    inner = [p for p in points if not p.outlier]
    # zoomed to the points (an interval reaching past the edge runs off it: a wide interval,
    # two seeds' for instance, does not squash the points)
    xlim = _limits([p.x for p in inner])
    ylim = _limits([p.y for p in inner])
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    at, texts = [], []
    for p in points:
        if p.row.kind == GOLD:
            style = {"marker": "*", "markersize": 16, "color": COLOURS[GOLD], "zorder": 4,
                     "label": "gold model (retrained without the forget set)"}
        elif p.row.kind == ORIGINAL:
            style = {"marker": "s", "markersize": 9, "color": COLOURS[ORIGINAL], "zorder": 3,
                     "label": "original (before unlearning)"}
        else:
            style = {"marker": "o", "markersize": 6, "color": COLOURS[UNLEARNER], "zorder": 2}
        if p.outlier:  # at the edge, pointing where it is, with its values
            x = min(max(p.x, xlim[0]), xlim[1])
            y = min(max(p.y, ylim[0]), ylim[1])
            marker = ("<" if p.x < xlim[0] else ">" if p.x > xlim[1]
                      else "v" if p.y < ylim[0] else "^")
            ax.plot([x], [y], marker=marker, markersize=8, color=EDGE, linestyle="none",
                    clip_on=False, zorder=3)
            at.append((x, y))
            texts.append(f"{one_line(p.row.name)} ({p.x:.3f}, {p.y:.3f})")
            continue
        ax.errorbar([p.x], [p.y], xerr=None if p.xci is None else [p.xci],
                    yerr=None if p.yci is None else [p.yci], linestyle="none", capsize=2,
                    elinewidth=0.8, ecolor=LIGHT[p.row.kind], **style)
        at.append((p.x, p.y))
        texts.append(one_line(p.row.name) if p.row.kind == UNLEARNER else "")
    if any(p.outlier for p in points):
        ax.plot([], [], marker="^", color=EDGE, linestyle="none",
                label="outside the axes (at the edge, with its values)")
    ax.set_xlabel(f"{FORGET} ({note})")
    ax.set_ylabel(RETAIN)
    ax.set_title("Forget vs retain accuracy: the closer to the gold model's star, the better",
                 fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    place_labels(ax, at, texts)
    return fig


def _scatter(mpl, rows: list[Row], note: str, path: Path, formats, leave_out) -> list[Path]:
    return _save(scatter_figure(mpl, rows, note, leave_out), mpl[1], path, formats)


def _gaps(row: Row, gold: Row) -> list[float]:
    """|forget accuracy − the gold model's| for each seed both have."""
    mine, theirs = row.values.get(FORGET, {}), gold.values.get(FORGET, {})
    return [abs(v - theirs[s]) for s, v in mine.items()
            if _is_number(v) and _is_number(theirs.get(s))]


def _runtime_plot(mpl, rows: list[Row], gold: Row, gold_names: set[str], note: str,
                  path: Path, formats) -> list[Path]:
    Figure, Canvas = mpl
    fig = Figure(figsize=SCATTER_SIZE, layout="constrained")
    Canvas(fig)
    ax = fig.add_subplot()
    points = []
    for row in rows:
        if row.kind == ORIGINAL or (row.kind == UNLEARNER and row.name in gold_names):
            continue  # no unlearning time / the shared gold model's copy time
        gap = describe(_gaps(row, gold)) if row.kind == UNLEARNER else describe([0.0])
        runtime = row[RUNTIME]
        if gap.n and runtime.n and runtime.mean > 0:
            points.append((row, gap, runtime))
    if not points:
        return []
    far = outliers([g.mean for _, g, _ in points], [r.kind != UNLEARNER for r, _, _ in points])
    ylim = _limits([g.mean for (_, g, _), f in zip(points, far) if not f])
    at, texts = [], []
    for (row, gap, runtime), f in zip(points, far):
        label = one_line(row.name) if row.kind == UNLEARNER else ""
        if f:  # at the top edge, with its value
            ax.plot([runtime.mean], [ylim[1]], marker="^", markersize=8, color=EDGE,
                    linestyle="none", clip_on=False, zorder=3)
            at.append((runtime.mean, ylim[1]))
            texts.append(f"{label} ({gap.mean:.3f})")
            continue
        xerr = None
        if runtime.ci95:  # asymmetric on a log axis: never below zero
            xerr = [[min(runtime.ci95, runtime.mean * 0.9)], [runtime.ci95]]
        style = ({"marker": "*", "markersize": 16, "color": COLOURS[GOLD], "zorder": 3,
                  "label": "gold (retraining time)"} if row.kind == GOLD
                 else {"marker": "o", "markersize": 6, "color": COLOURS[UNLEARNER], "zorder": 2})
        yerr = None  # a distance: never below zero either
        if gap.ci95 is not None:
            yerr = [[min(gap.ci95, gap.mean)], [gap.ci95]]
        ax.errorbar([runtime.mean], [gap.mean], xerr=xerr, yerr=yerr, linestyle="none",
                    capsize=2, elinewidth=0.8, ecolor=LIGHT[row.kind], **style)
        at.append((runtime.mean, gap.mean))
        texts.append(label)
    if any(far):
        ax.plot([], [], marker="^", color=EDGE, linestyle="none",
                label="above the axis (at the edge, with its value)")
    ax.set_xscale("log")
    times = [r.mean for _, _, r in points]
    ax.set_xlim(min(times) / 2, max(times) * 2)
    ax.set_ylim(max(ylim[0], -0.01), ylim[1])
    ax.set_xlabel(f"{RUNTIME} in seconds, log scale ({note})")
    ax.set_ylabel("|forget accuracy − gold forget accuracy|")
    ax.set_title("Run time vs distance to the gold model on the forget set (lower is better)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.grid(alpha=0.1, which="minor", axis="x")
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    place_labels(ax, at, texts)
    return _save(fig, Canvas, path, formats)


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
                metrics: str | Sequence[str] | None = None,
                formats: str | Sequence[str] | None = None) -> PlotFiles:
    """Draws the plots of ``document`` into ``folder`` (created if needed), each file written
    atomically; returns their paths, in a fixed order (per plot, one file per format), with
    ``skipped`` (file → reason) for the plots not drawn. ``metrics`` picks the bar charts (see
    :func:`erasure.results.tables.select_metrics`; default: the key metrics present);
    ``formats`` the files' formats (:func:`plot_formats`: ``"png,pdf,svg"`` or a list;
    default PNG).

    Raises:
        ValueError: an unknown format (before anything is drawn).
    """
    formats = plot_formats(formats)
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
    several = len(seeds_of(document)) > 1

    def skip(name: str, reason: str) -> None:
        name = f"{_stem(name)}.{formats[0]}"
        log.info("plot %s skipped: %s", name, reason)
        out.skipped[name] = reason

    gold = next((r for r in rows if r.kind == GOLD), None)
    gold_names = {r["name"] for r in document.get("records", []) if _is_gold(r)}
    chart = gap_chart(document, by_name)
    if gold is None:
        skip(GAP_FILE, "no finished GoldModel record to measure the gaps against")
    elif chart is None:
        skip(GAP_FILE, "no accuracy that both the gold model and a method have")
    else:
        out += _save(gap_figure(mpl, chart, several), mpl[1], folder / GAP_FILE, formats)

    # the tuning cost has a plot of its own (tuning.png), not bars, unless asked for by name
    chosen = [k for k in select_metrics(rows, metrics) if metrics is not None
              or k not in TUNING_KEYS]
    for metric in chosen:
        name = bar_file(metric)
        if not any(r[metric].n for r in rows):
            skip(name, f"no finished record has a value for {metric}")
            continue
        out += _bar_chart(mpl, rows, metric, note, folder / name, formats)

    if not any(r[FORGET].n and r[RETAIN].n for r in rows):
        skip(SCATTER_FILE, f"no row has both {FORGET} and {RETAIN}")
    else:
        out += _scatter(mpl, rows, note, folder / SCATTER_FILE, formats, gold_names)

    if gold is None:
        skip(RUNTIME_FILE, "no finished GoldModel record to measure forgetting against")
    elif not any(r[RUNTIME].n for r in rows if r.kind == UNLEARNER):
        skip(RUNTIME_FILE, f"no record has {RUNTIME}")
    elif not gold[FORGET].n:
        skip(RUNTIME_FILE, f"the gold model has no {FORGET}")
    else:
        drawn = _runtime_plot(mpl, rows, gold, gold_names, note, folder / RUNTIME_FILE, formats)
        if drawn:
            out += drawn
        else:
            skip(RUNTIME_FILE, f"no unlearner has both {RUNTIME} > 0 and {FORGET}")

    curves = curve_series(document)  # no curve: no curve plot, nothing to say
    if curves and not any(c.line(m)[0] for c in curves for m, _ in PANELS):
        skip(CURVES_FILE, "no curve has " + " or ".join(m for m, _ in PANELS))
    elif curves:
        levels = {m: gold[m].mean for m, _ in PANELS} if gold is not None else {}
        out += _save(curve_figure(mpl, curves, {m: v for m, v in levels.items()
                                                if v is not None}),
                     mpl[1], folder / CURVES_FILE, formats)

    series = tuning_series(document)  # no tuned record: no tuning plot, nothing to say
    if series and not any(s.values for s in series):
        skip(TUNING_FILE, "no tuning trial finished")
    elif series:
        out += _save(tuning_figure(mpl, series, several), mpl[1], folder / TUNING_FILE, formats)
    return out


__all__ = ["DEFAULT_FORMATS", "FORMATS", "PlotFiles", "ScatterPoint", "TuningSeries",
           "bar_figure", "bar_file", "bar_height", "plot_formats", "scatter_figure",
           "scatter_points", "split_outliers", "tuning_figure", "tuning_series", "value_axis",
           "write_plots"]
