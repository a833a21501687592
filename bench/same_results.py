#!/usr/bin/env python
"""Are two runs' results the same? Compares every metric of every record of two results files
(or folders holding ``results.json``), except the keys that measure the machine (runtime and
memory), and prints each difference; the last line is ``same: yes`` or ``same: no``.

Usage::

    python bench/same_results.py BEFORE AFTER [--tolerance 0]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

#: key prefixes that measure the machine, not the method
MACHINE = ("runtime", "memory", "rss", "cuda")


def records(path: str) -> dict[str, dict]:
    file = Path(path)
    if file.is_dir():
        file = file / "results.json"
    return {r["name"]: r for r in json.loads(file.read_text())["records"]}


def differences(before: dict, after: dict, tolerance: float = 0.0) -> list[str]:
    out = []
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            out.append(f"{name}: only in {'after' if name in after else 'before'}")
            continue
        a, b = before[name], after[name]
        if a["status"] != b["status"]:
            out.append(f"{name}: status {a['status']} -> {b['status']}")
        ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
        for key in sorted(set(ma) | set(mb)):
            if key.startswith(MACHINE):
                continue
            x, y = ma.get(key), mb.get(key)
            same = (x == y or (isinstance(x, float) and isinstance(y, float)
                               and (math.isnan(x) and math.isnan(y)
                                    or abs(x - y) <= tolerance)))
            if not same:
                out.append(f"{name}: {key} {x} -> {y}")
        na, nb = a.get("not_applicable") or {}, b.get("not_applicable") or {}
        if sorted(na) != sorted(nb):
            out.append(f"{name}: not applicable {sorted(na)} -> {sorted(nb)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--tolerance", type=float, default=0.0)
    args = parser.parse_args()
    before, after = records(args.before), records(args.after)
    found = differences(before, after, args.tolerance)
    for line in found:
        print(line)
    keys = sum(len(r.get("metrics") or {}) for r in before.values())
    print(f"{len(before)} records, {keys} metrics compared")
    print(f"same: {'no' if found else 'yes'}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
