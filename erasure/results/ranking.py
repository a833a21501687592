"""The methods ranked by their distance to the gold model: the summary's first table.

The distance is the avg gap (:class:`erasure.measures.avg_gap.AvgGap`: 0 is the gold model
itself), read from the first key of the run that names it for the unlearned model
(``avg_gap.forget.unlearned``, or ``avg_gap_entropy.…`` with other attack features). Each row
is one record name (one method, or one point of a sweep) over the seeds:

- ``rank``: by mean avg gap, lowest first (equal means share a rank); records without an avg
  gap (the measure failed or did not apply, or the record failed) come last, unranked (``—``),
  in record order;
- the mean avg gap and its 95% confidence interval over the seeds with a value,
  ``± t(0.975, n−1)·s/√n`` (Student's t, sample std ``s``); below two values there is no
  interval (``—``);
- ``runtime.unlearn``: the mean seconds of unlearning;
- ``*`` after the name of the best setting (lowest mean avg gap) of each sweep with at least two
  settings that have one: the records carrying a ``sweep`` whose names share the sweep's base
  name (``Finetuning`` for ``Finetuning[epochs=5,lr=0.1]``).

The gold model's own records (GoldModel, always 0) are left out: they are the reference. This
module computes the ranking from the summary's rows (:func:`erasure.results.tables.aggregate`)
and formats its cells; :mod:`erasure.results.tables` and :mod:`erasure.results.report` lay
them out.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: the avg gap's measure names (its key starts with one, by the attack's features)
GAP_MEASURES = ("avg_gap", "avg_gap_entropy", "avg_gap_modified_entropy")
RUNTIME = "runtime.unlearn"
DASH = "—"
BEST_MARK = "*"


@dataclass(frozen=True)
class Ranked:
    """One row: ``rank`` (None: no avg gap), the record name, the avg gap's and the runtime's
    statistics over the seeds (:class:`erasure.results.tables.Stat`), the seeds the record
    finished on, and whether it is the best setting of its sweep."""

    rank: int | None
    name: str
    gap: Any
    runtime: Any
    finished: int
    best_of_sweep: bool = False


@dataclass(frozen=True)
class Ranking:
    """The ranked rows, the avg gap key they rank by, and the run's number of seeds."""

    key: str
    rows: list[Ranked]
    seeds: int


def gap_key(keys: Iterable[str]) -> str | None:
    """The first avg gap key of the unlearned model among ``keys``, None when there is none."""
    for key in keys:
        parts = key.split(".")
        if parts[0] in GAP_MEASURES and len(parts) == 3 and parts[-1] == "unlearned":
            return key
    return None


def sweep_base(name: str, sweep: dict[str, Any]) -> str:
    """The base name of a sweep point's record: ``name`` without the suffix the sweep added
    (:func:`erasure.config.sweeps.suffix`), which starts with ``[<label>=``, the label of the
    first path: its last segment, or the whole path when another path ends alike."""
    paths = list(sweep)
    if not paths:
        return name
    ends = [p.rsplit(".", 1)[-1] for p in paths]
    label = ends[0] if ends.count(ends[0]) == 1 else paths[0]
    name = re.sub(r"#\d+$", "", name)
    cut = name.rfind(f"[{label}=")
    return name[:cut] if cut > 0 else name


def rank(rows: Iterable[Any], seeds: int, sweeps: dict[str, dict] | None = None,
         leave_out: Iterable[str] = ()) -> Ranking | None:
    """Ranks the summary's unlearner ``rows`` (:class:`erasure.results.tables.Row`) by mean avg
    gap.

    Args:
        rows: the rows to rank, in record order.
        seeds: the run's number of seeds.
        sweeps: record name → its ``sweep`` (records from a sweep point only).
        leave_out: record names not ranked (the GoldModel records).

    Returns:
        The ranking, or None when no row has an avg gap key.
    """
    leave_out = set(leave_out)
    rows = [row for row in rows if row.name not in leave_out]
    key = gap_key(k for row in rows for k in row.values)
    if key is None:
        return None
    gaps = {row.name: row[key] for row in rows}
    means = sorted(s.mean for s in gaps.values() if s.n)
    best: set[str] = set()
    groups: dict[str, list[str]] = {}
    for name, sweep in (sweeps or {}).items():
        if sweep and name in gaps and gaps[name].n:
            groups.setdefault(sweep_base(name, sweep), []).append(name)
    for members in groups.values():
        if len(members) > 1:
            best.add(min(members, key=lambda n: gaps[n].mean))
    ranked = [Ranked(rank=sum(m < gaps[row.name].mean for m in means) + 1 if gaps[row.name].n
                     else None, name=row.name, gap=gaps[row.name], runtime=row[RUNTIME],
                     finished=len(row.finished), best_of_sweep=row.name in best)
              for row in rows]
    ranked.sort(key=lambda r: (r.rank is None, r.gap.mean if r.rank is not None else 0))
    return Ranking(key, ranked, seeds)


def header(ranking: Ranking) -> list[str]:
    """The column names: ``rank``, ``method``, ``seeds`` (with several), the avg gap key,
    ``95% CI`` and ``runtime.unlearn``."""
    return ["rank", "method", *(["seeds"] if ranking.seeds > 1 else []), ranking.key, "95% CI",
            RUNTIME]


def cells(ranking: Ranking, text: Callable[[str], str] = str) -> list[list[str]]:
    """The rows' cells, numbers to four decimals, ``—`` where there is none; ``text`` writes a
    record name for the table's format."""
    out = []
    for row in ranking.rows:
        gap, runtime = row.gap, row.runtime
        line = [DASH if row.rank is None else str(row.rank),
                text(row.name) + (f" {BEST_MARK}" if row.best_of_sweep else "")]
        if ranking.seeds > 1:
            line.append(f"{gap.n}/{ranking.seeds}")
        line += [DASH if not gap.n else f"{gap.mean:.4f}",
                 DASH if gap.ci95 is None else f"± {gap.ci95:.4f}",
                 DASH if not runtime.n else f"{runtime.mean:.4f}"]
        out.append(line)
    return out


def legend(ranking: Ranking) -> str:
    """What the table shows, in one line (Markdown: the keys in backquotes)."""
    parts = [f"ranked by `{ranking.key}`, the distance to the gold model (0: the gold model "
             "itself)",
             "mean over the seeds ± 95% confidence interval (Student's t)" if ranking.seeds > 1
             else "one seed: no confidence interval",
             f"`{RUNTIME}` in seconds"]
    if any(row.best_of_sweep for row in ranking.rows):
        parts.append(f"{BEST_MARK} the best setting of its sweep")
    return "; ".join(parts)
