"""Tables people read, built from a results document."""
from __future__ import annotations

from typing import Any

from .tables import UNLEARNER, aggregate, format_stat, one_line, seeds_of

#: The columns of the printed summary, when present.
SUMMARY_KEYS = ("accuracy.forget.unlearned", "accuracy.retain.unlearned",
                "accuracy.test.unlearned", "umia.forget.unlearned", "runtime.unlearn")


def _several_seeds(results: dict[str, Any]) -> bool:
    seeds = seeds_of(results)
    return len(seeds) > 1 or len({r.get("seed") for r in results.get("records", [])}) > 1


def _fixed_width(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def summary_table(results: dict[str, Any], references: bool = False) -> str:
    """A fixed-width table: one row per unlearner, the key metrics as columns; names and errors
    on one line (see :func:`erasure.results.tables.one_line`).

    With one seed, one row per record with its status. With several seeds, one row per
    unlearner with ``mean ± std`` over the seeds it finished on and a ``seeds`` column
    (``finished/total``); failures are listed with their seed. ``references`` adds the
    ``original`` and ``gold`` rows (see :func:`erasure.results.tables.aggregate`).
    """
    records = results.get("records", [])
    present = {k for r in records for k in r.get("metrics", {})}
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
                         *(format_stat(row[k], several) for k in keys)])
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
            m = r.get("metrics", {})
            rows.append([one_line(r["name"]), one_line(r["status"]),
                         *("-" if m.get(k) is None else f"{m[k]:.4f}" for k in keys)])
        lines = _fixed_width(rows)
        failed = [r for r in records if r["status"] != "finished"]
        if failed:
            lines.append("")
            lines += [f"failed: {one_line(r['name'])}: {one_line(r.get('error'))}"
                      for r in failed]
    if results.get("status") == "interrupted":
        lines.append("")
        missing = ", ".join(map(one_line, results.get("missing_records", []))) or "none"
        lines.append(f"interrupted by {one_line(results.get('interrupted_by'))}: missing "
                     f"records: {missing}")
    return "\n".join(lines)
