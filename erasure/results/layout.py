"""Where things go on a plot: which values are too far from the others to set the axes
(:func:`outliers`), and labels of a scatter's points that do not overlap (:func:`place_labels`:
greedy placement, no extra dependency).

Labels:

Each label, in the order given, takes the first position around its point — rings of growing
distance, eight directions each — whose box (measured by the renderer) stays inside the axes
and overlaps no label already placed and no point's marker, and whose leader line (a label set
away from its point gets a thin line to it) crosses no other label. When no position is free (a
very crowded plot), the label takes the cheapest: crossings before overlaps, overlaps before
leaving the axes.

The axes must not move afterwards: :func:`place_labels` draws the figure once, then turns its
layout engine off, so the positions measured are the positions saved.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

#: distances (points) from the point to the nearest edge of the label, tried in this order
RINGS = (3.0, 9.0, 18.0, 30.0, 45.0, 62.0, 82.0, 105.0)
#: directions, tried in this order: right, up-right, up, left, …
ANGLES = (0.0, 45.0, 90.0, 180.0, 135.0, -45.0, -90.0, -135.0)
#: half-size (points) of the square kept free around each point's marker
MARKER = 4.0
#: room (points) kept between two labels
PAD = 1.0
#: the costs of a position: per pixel outside the axes, per pixel² of overlap with a label or a
#: marker, per crossing of a leader line and a label (an overlap is always worse than crossings)
OUTSIDE, OVERLAP, CROSSING = 1e9, 1e3, 1.0
#: the colour of what is drawn at the edge: a value outside the axes
EDGE = "#c44e52"
#: A value is an outlier beyond this many inter-quartile ranges from the quartiles…
OUTLIER_IQR = 3.0
#: … the range being at least this wide (accuracies: a 0.02 spread is no outlier's).
MIN_IQR = 0.02


def outliers(values: Sequence[float], keep: Sequence[bool] = ()) -> list[bool]:
    """Which values are outliers, to be drawn at the axes' edge with their value instead of
    setting the axes: beyond :data:`OUTLIER_IQR` inter-quartile ranges (at least
    :data:`MIN_IQR`) from the quartiles, at most a tenth of the values (at least one; the
    farthest from the median first), and only when leaving them out at least halves the range
    the axis must show. ``keep[i]`` true: never one (a reference). Below five values there is
    none."""
    n = len(values)
    keep = list(keep) or [False] * n
    if n < 5:
        return [False] * n
    ordered = sorted(values)
    q1, median, q3 = ordered[(n - 1) // 4], ordered[n // 2], ordered[(3 * (n - 1) + 3) // 4]
    reach = OUTLIER_IQR * max(q3 - q1, MIN_IQR)
    beyond = [i for i, (v, k) in enumerate(zip(values, keep))
              if not k and not q1 - reach <= v <= q3 + reach]
    beyond.sort(key=lambda i: -abs(values[i] - median))
    beyond = set(beyond[:max(1, n // 10)])
    rest = [v for i, v in enumerate(values) if i not in beyond]
    if not beyond or max(rest) - min(rest) > 0.5 * (max(values) - min(values)):
        return [False] * n
    return [i in beyond for i in range(n)]


def _overlap(a: tuple, b: tuple) -> float:
    """Area shared by the boxes ``a`` and ``b`` (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _crosses(segment: tuple, box: tuple) -> bool:
    """Whether the segment (x0, y0, x1, y1) passes through the box (x0, y0, x1, y1)
    (Liang–Barsky clipping)."""
    x0, y0, x1, y1 = segment
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def place_labels(ax, points: Sequence[tuple[float, float]], texts: Sequence[str], *,
                 fontsize: float = 7.0, colour: str = "0.3") -> list:
    """Annotates ``ax`` with ``texts[i]`` at ``points[i]`` (data coordinates), no two labels
    overlapping where there is room, and none over a point's marker; an empty text draws no
    label (its point is still kept free). Returns the annotations, in the order given."""
    fig = ax.figure
    fig.draw_without_rendering()  # the layout engine sets the axes' final position
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72.0  # pixels per point
    frame = ax.get_window_extent(renderer)
    inside = (frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    centres = [tuple(ax.transData.transform(p)) for p in points]
    taken = [(x - MARKER * scale, y - MARKER * scale, x + MARKER * scale, y + MARKER * scale)
             for x, y in centres]
    labels: list[tuple] = []  # the boxes of the labels placed
    leaders: list[tuple] = []  # their leader lines, point to label centre
    out = []
    for (px, py), text, point in zip(centres, texts, points):
        if not text:
            continue
        probe = ax.text(0, 0, text, fontsize=fontsize)
        box = probe.get_window_extent(renderer)
        probe.remove()
        w, h = box.width + 2 * PAD * scale, box.height + 2 * PAD * scale
        best, best_cost = None, math.inf
        for ring in RINGS:
            for angle in ANGLES:
                c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
                # the label's centre, so that its nearest edge is `ring` points from the point
                cx = px + c * (ring * scale + w / 2)
                cy = py + s * (ring * scale + h / 2)
                cand = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                outside = (max(inside[0] - cand[0], 0) + max(cand[2] - inside[2], 0)
                           + max(inside[1] - cand[1], 0) + max(cand[3] - inside[3], 0))
                cost = OVERLAP * sum(_overlap(cand, t) for t in taken) + OUTSIDE * outside
                if ring > RINGS[0]:  # a leader line: it should cross no label, and no label it
                    line = (px, py, cx, cy)
                    cost += CROSSING * (sum(_crosses(line, b) for b in labels)
                                        + sum(_crosses(seg, cand) for seg in leaders))
                if cost < best_cost:
                    best, best_cost = (ring, cand, cx, cy), cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        ring, cand, cx, cy = best
        taken.append(cand)
        labels.append(cand)
        if ring > RINGS[0]:
            leaders.append((px, py, cx, cy))
        leader = ({"arrowstyle": "-", "color": colour, "linewidth": 0.5, "shrinkA": 0,
                   "shrinkB": MARKER} if ring > RINGS[0] else None)
        label = ax.annotate(text, point, xytext=((cx - px) / scale, (cy - py) / scale),
                            textcoords="offset points", ha="center", va="center",
                            fontsize=fontsize, annotation_clip=False, arrowprops=leader,
                            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                  "edgecolor": "none", "alpha": 0.75})
        out.append(label)
    return out


def edge_value(ax, value: float, position: float, lo: float, hi: float) -> None:
    """Marks a bar's ``value`` outside the axis [lo, hi]: a triangle at the edge it passes,
    pointing out, and the value beside it, inside the axes."""
    below = value < lo
    edge = lo if below else hi
    ax.plot([edge], [position], marker="<" if below else ">", markersize=7, color=EDGE,
            linestyle="none", clip_on=False, zorder=4)
    ax.annotate(f"{value:.4g}", (edge, position), xytext=(8 if below else -8, 0),
                textcoords="offset points", ha="left" if below else "right", va="center",
                fontsize=7, color=EDGE, fontweight="bold",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})


__all__ = ["EDGE", "edge_value", "outliers", "place_labels"]
