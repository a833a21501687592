"""Tables people read, built from a results document."""
from __future__ import annotations

from typing import Any

#: The columns of the printed summary, when present.
SUMMARY_KEYS = ("accuracy.forget.unlearned", "accuracy.retain.unlearned",
                "accuracy.test.unlearned", "umia.forget.unlearned", "runtime.unlearn")


def summary_table(results: dict[str, Any]) -> str:
    """A fixed-width table: one row per unlearner, the key metrics as columns."""
    records = results.get("records", [])
    present = {k for r in records for k in r.get("metrics", {})}
    keys = [k for k in SUMMARY_KEYS if k in present]
    header = ["unlearner", "status", *keys]
    rows = [header]
    for r in records:
        m = r.get("metrics", {})
        rows.append([r["name"], r["status"],
                     *("-" if m.get(k) is None else f"{m[k]:.4f}" for k in keys)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failed = [r for r in records if r["status"] != "finished"]
    if failed:
        lines.append("")
        lines += [f"failed: {r['name']}: {r.get('error')}" for r in failed]
    if results.get("status") == "interrupted":
        lines.append("")
        lines.append(f"interrupted by {results.get('interrupted_by')}: missing records: "
                     f"{', '.join(results.get('missing_records', [])) or 'none'}")
    return "\n".join(lines)
