"""Tables people read, built from a results document."""
from __future__ import annotations

from typing import Any

from . import ranking
from .tables import (
    TUNING_KEYS,
    UNLEARNER,
    aggregate,
    describe,
    format_stat,
    one_line,
    rank_methods,
    record_values,
    seeds_of,
    tuned_lines,
)

#: The columns of the printed summary, when present (the tuning ones when some record was tuned).
SUMMARY_KEYS = ("accuracy.forget.unlearned", "accuracy.retain.unlearned",
                "accuracy.test.unlearned", "umia.forget.unlearned", "runtime.unlearn",
                *TUNING_KEYS)


def _several_seeds(results: dict[str, Any]) -> bool:
    seeds = seeds_of(results)
    return len(seeds) > 1 or len({r.get("seed") for r in results.get("records", [])}) > 1


def _fixed_width(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def ranking_lines(results: dict[str, Any]) -> list[str]:
    """The unlearners ranked by avg gap to the gold model (:mod:`erasure.results.ranking`) as a
    fixed-width table and its legend; no line when no record has an avg gap."""
    ranked = rank_methods(results)
    if ranked is None:
        return []
    lines = _fixed_width([ranking.header(ranked), *ranking.cells(ranked, one_line)])
    return [*lines, f"({ranking.legend(ranked).replace('`', '')})"]


def summary_table(results: dict[str, Any], references: bool = False) -> str:
    """A fixed-width table: one row per unlearner, the key metrics as columns; names and errors
    on one line (see :func:`erasure.results.tables.one_line`). When some record has an avg gap,
    the ranking by it comes first (:func:`ranking_lines`), then a blank line.

    With one seed, one row per record with its status. With several seeds, one row per
    unlearner with ``mean ± std`` over the seeds it finished on and a ``seeds`` column
    (``finished/total``); failures are listed with their seed. ``references`` adds the
    ``original`` and ``gold`` rows (see :func:`erasure.results.tables.aggregate`). Tuned
    records add the ``tuning.seconds`` and ``tuning.trials`` columns and a ``tuned:`` line each
    with the knobs they chose (:func:`erasure.results.tables.tuned_lines`).
    """
    records = results.get("records", [])
    present = {k for r in records for k in record_values(r)}
    keys = [k for k in SUMMARY_KEYS if k in present]
    several = _several_seeds(results)
    if several or references:
        rows_by_name = aggregate(results)
        seeds = seeds_of(results)
        header = ["unlearner", "seeds" if several else "status", *keys]
        rows = [header]
        for row in rows_by_name.values():
            if row.kind != UNLEARNER and not references:
                continue
            if several:
                status = f"{len(row.finished)}/{len(seeds)}"
            else:
                status = "finished" if row.finished else "failed"
                status = status if row.kind == UNLEARNER else "reference"
            rows.append([one_line(row.name), status,
                         *(format_stat(row[k], several, key=k) for k in keys)])
        lines = _fixed_width(rows)
        if several:
            lines.append(f"(mean ± sample std over the seeds each finished: "
                         f"{', '.join(map(str, seeds))})")
        failed = [(row.name, seed, row.errors.get(seed)) for row in rows_by_name.values()
                  if row.kind == UNLEARNER for seed in row.failed]
        if failed:
            lines.append("")
            lines += [f"failed: {one_line(name)}" + (f" (seed {seed})" if several else "")
                      + f": {one_line(error)}" for name, seed, error in failed]
    else:
        header = ["unlearner", "status", *keys]
        rows = [header]
        for r in records:
            m = record_values(r)
            rows.append([one_line(r["name"]), one_line(r["status"]),
                         *("-" if m.get(k) is None else format_stat(describe([m[k]]), False, key=k)
                           for k in keys)])
        lines = _fixed_width(rows)
        failed = [r for r in records if r["status"] != "finished"]
        if failed:
            lines.append("")
            lines += [f"failed: {one_line(r['name'])}: {one_line(r.get('error'))}"
                      for r in failed]
    tuned = tuned_lines(results)
    if tuned:
        lines.append("")
        lines += [f"tuned: {line}" for line in tuned]
    if results.get("status") == "interrupted":
        lines.append("")
        missing = ", ".join(map(one_line, results.get("missing_records", []))) or "none"
        lines.append(f"interrupted by {one_line(results.get('interrupted_by'))}: missing "
                     f"records: {missing}")
    ranked = ranking_lines(results)
    return "\n".join([*ranked, ""] + lines if ranked else lines)
