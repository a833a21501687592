"""The results in long form, one row per number: ``results.csv`` beside ``results.json``, and
:func:`load`, the same rows as a pandas DataFrame.

Columns, in this order:

- ``seed`` (int), ``record`` (the record's name), ``unlearner`` (its class's short name:
  ``Cascade`` for a record named ``NegGrad+Finetuning``), ``status`` (``finished``/``failed``);
- one column per sweep parameter used anywhere in the run, named by its path as written in the
  sweep (``epochs``, ``optimizer.parameters.lr``; ``sweep.<path>`` where a path is one of the
  other columns' names), holding the record's value; empty for a record outside that sweep;
- ``measure``, ``partition``, ``target``: the metric key split at its dots. The first segment is
  the measure (a measure's name, like a sklearn metric's ``key``, has no dot); then the longest
  partition name of the run the rest starts with, else the second segment; ``target`` is what
  remains (empty when nothing does). So ``accuracy.forget.unlearned`` → accuracy, forget,
  unlearned; ``size.all`` and ``runtime.unlearn`` → target empty;
  ``memory.unlearn.rss_peak_mb`` → memory, unlearn, rss_peak_mb;
  ``class_accuracy.forget.unlearned.3`` → class_accuracy, forget, unlearned.3;
- ``metric`` (the full key) and ``value`` (float; empty / NaN where the run wrote ``null``).

One row per metric of each record that counts (the last record of a name on a seed: a failed
one re-run, as in the summary), in record order, metrics in the record's order; a record without
metrics (a failed one) has one row of its own, ``measure`` to ``value`` empty (its error is in
``results.json`` and ``summary.md``). So there are ``sum(max(1, len(metrics)))`` rows over the
records. Tuning's cost (``tuning.seconds``) is not a metric and has no row.
:func:`erasure.results.load` (:mod:`erasure.results.frame`) gives the rows as a DataFrame.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from .tables import csv_cell, latest_records
from .write import write_atomic

RESULTS_CSV = "results.csv"

#: the columns before the sweep parameters, and after them
HEAD = ("seed", "record", "unlearner", "status")
TAIL = ("measure", "partition", "target", "metric", "value")


def partition_names(document: dict[str, Any]) -> list[str]:
    """The partitions of the run: ``all`` and every name its partition chain writes (from the
    resolved config; none when it cannot be read)."""
    names = ["all"]
    try:
        for splitter in document["config"]["data"]["parameters"]["partitions"]:
            names += [n for n in splitter["parameters"]["parts_names"] if isinstance(n, str)]
    except (KeyError, TypeError):
        pass
    return names


def split_key(key: str, partitions: list[str] = ()) -> tuple[str, str | None, str | None]:
    """``(measure, partition, target)`` of a metric key (see the module's docstring); None for
    a part the key does not have."""
    measure, _, rest = key.partition(".")
    if not rest:
        return measure, None, None
    known = [p for p in partitions if rest == p or rest.startswith(p + ".")]
    partition = max(known, key=len) if known else rest.split(".", 1)[0]
    target = rest[len(partition) + 1:]
    return measure, partition, target or None


def _sweep_paths(records: list[dict[str, Any]]) -> list[str]:
    paths: dict[str, None] = {}
    for record in records:
        if isinstance(record.get("sweep"), dict):
            paths.update(dict.fromkeys(record["sweep"]))
    return list(paths)


def _sweep_column(path: str) -> str:
    return f"sweep.{path}" if path in HEAD or path in TAIL else path


def rows(document: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """``(columns, rows)``: the long form of a results document, each row a dict of the columns
    (None where empty; sweep values as the config holds them)."""
    latest = latest_records(document)
    sweep_paths = _sweep_paths(list(latest.values()))
    columns = [*HEAD, *map(_sweep_column, sweep_paths), *TAIL]
    partitions = partition_names(document)
    out = []
    for (name, seed), record in latest.items():
        config = record.get("config") or {}
        sweep = record.get("sweep") if isinstance(record.get("sweep"), dict) else {}
        head = {"seed": seed, "record": name,
                "unlearner": str(config.get("class", "")).rsplit(".", 1)[-1] or None,
                "status": record.get("status")}
        head.update({_sweep_column(p): sweep.get(p) for p in sweep_paths})
        metrics = record.get("metrics") or {}
        if not metrics:
            out.append({**head, **dict.fromkeys(TAIL)})
            continue
        for key, value in metrics.items():
            measure, partition, target = split_key(key, partitions)
            out.append({**head, "measure": measure, "partition": partition, "target": target,
                        "metric": key, "value": None if value is None else float(value)})
    return columns, out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_cell(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return csv_cell(json.dumps(value, separators=(",", ":")))  # true, a list, an object


def csv_text(document: dict[str, Any]) -> str:
    """``results.csv``: the long form as CSV, floats in full precision (``repr``), a sweep value
    that is not a number or a string as JSON."""
    columns, table = rows(document)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in table:
        writer.writerow([_cell(row[c]) for c in columns])
    return out.getvalue()


def write_results_csv(document: dict[str, Any], folder: str | os.PathLike) -> Path:
    """Writes ``results.csv`` into ``folder``, atomically; returns its path."""
    path = Path(folder) / RESULTS_CSV
    write_atomic(path, csv_text(document))
    return path
