"""Summary tables across seeds: mean, sample standard deviation and a 95% confidence interval per
unlearner and metric, written as ``summary.csv`` and ``summary.md``.

Rows (see :func:`aggregate`), in this order:

- ``original``: the trained model before unlearning. Its numbers are each record's ``.original``
  metrics (identical in every record of one seed), shown in the column of the matching
  ``.unlearned`` metric (``accuracy.forget.original`` under ``accuracy.forget.unlearned``).
- ``gold``: retraining from scratch without the forget set — the records of class ``GoldModel``
  (the first one of each seed, when a config has several), if any. The gold model is trained once
  and shared, so its record's own ``runtime.unlearn`` is only the copy of it; in this row
  ``runtime.unlearn`` is the retraining time (``runtime.retrain``) and ``rte.unlearn`` is 1.
- one row per unlearner name, in record order (the ``GoldModel`` record keeps its own row, with
  its raw numbers, too).

A tuned record (one with a ``tuning`` block, :mod:`erasure.tuning.study`) adds two numbers of
its own to its row, kept apart from its metrics: ``tuning.seconds``, what tuning took (the
stand-in's models and every trial), and ``tuning.trials``, the trials run — its
``runtime.unlearn`` is the final run's alone. The Markdown table then lists the knobs each tuned
record chose (:func:`tuned_lines`).

Statistics over the seeds whose record finished and whose value is a number (``null`` — NaN in
the run — counts as missing): ``mean``; ``std``, the sample standard deviation (ddof=1);
``ci95``, the half-width of the 95% confidence interval of the mean, ``t(0.975, n−1)·std/√n``
with Student's t; ``n``. With a single value, ``std`` and ``ci95`` are ``None`` (empty in the
CSV): one seed says nothing about the spread, and 0 would claim that there is none. Failed
records contribute nothing; each row also says on how many seeds it finished and failed.

A results document holds ``"seeds": [0, 1, 2]`` and a ``"seed"`` in every record; a document
with a single top-level ``"seed": N`` (and records without one) is read as ``"seeds": [N]``.
"""
from __future__ import annotations

import csv
import difflib
import io
import math
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

from . import ranking
from .write import write_atomic

#: The default columns of the tables and plots, those present in the document, in this order.
KEY_METRICS = ("accuracy.forget.unlearned", "accuracy.retain.unlearned", "accuracy.test.unlearned",
               "umia.forget.unlearned", "aus.forget.unlearned", "runtime.unlearn", "rte.unlearn")

#: A tuned record's cost, apart from its metrics: columns of the tables when some record was tuned.
TUNING_SECONDS, TUNING_TRIALS = "tuning.seconds", "tuning.trials"
TUNING_KEYS = (TUNING_SECONDS, TUNING_TRIALS)

#: Row kinds.
ORIGINAL, GOLD, UNLEARNER = "original", "gold", "unlearner"

GOLD_CLASSES = ("erasure.unlearners.gold_model.GoldModel", "GoldModel")

CSV_FILE = "summary.csv"
MARKDOWN_FILE = "summary.md"

#: t(0.975, df) for df = 1..30 (two-sided 95%), to six decimals.
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
         2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
         2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
         2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272)


class ResultsError(ValueError):
    """A results document that cannot be summarised; ``path`` is its file when known."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else None
        super().__init__(f"{path}: {message}" if path is not None else message)


def t_critical(df: int) -> float:
    """Student's t quantile t(0.975, df): the two-sided 95% critical value.

    Tabulated for df 1..30; beyond, the Cornish-Fisher expansion around the normal quantile
    (four terms: error below 1e-7 at df 31, and shrinking), tending to 1.959964.
    """
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"degrees of freedom must be a positive integer, not {df!r}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = NormalDist().inv_cdf(0.975)
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4


@dataclass(frozen=True)
class Stat:
    """One metric of one row across seeds. ``std`` and ``ci95`` are None below two values; every
    field but ``n`` is None with no value."""

    mean: float | None
    std: float | None
    ci95: float | None
    n: int


def describe(values: Sequence[float]) -> Stat:
    """Mean, sample std (ddof=1), 95% CI half-width (Student's t) and count of ``values``."""
    n = len(values)
    if n == 0:
        return Stat(None, None, None, 0)
    mean = math.fsum(values) / n
    if n == 1:
        return Stat(mean, None, None, 1)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return Stat(mean, std, t_critical(n - 1) * std / math.sqrt(n), n)


@dataclass
class Row:
    """One row of the summary: per metric, the value of each seed (None: null in the results)."""

    name: str
    kind: str  # ORIGINAL, GOLD or UNLEARNER
    values: dict[str, dict[Any, float | None]] = field(default_factory=dict)
    finished: list = field(default_factory=list)  # seeds with a finished record
    failed: list = field(default_factory=list)  # seeds whose record failed
    errors: dict = field(default_factory=dict)  # seed -> error of a failed record

    def stat(self, metric: str) -> Stat:
        """The statistics of ``metric`` over the seeds that have a number for it."""
        per_seed = self.values.get(metric, {})
        return describe([v for v in per_seed.values() if _is_number(v)])

    def __getitem__(self, metric: str) -> Stat:
        return self.stat(metric)

    @property
    def stats(self) -> dict[str, Stat]:
        return {metric: self.stat(metric) for metric in self.values}


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def seeds_of(document: dict[str, Any]) -> list:
    """The seeds of a document: ``seeds``, else ``[seed]``, else the records' own seeds (a
    document with neither has the one unnamed seed ``None``)."""
    seeds = document.get("seeds")
    if isinstance(seeds, list):
        return list(seeds)
    if "seed" in document:
        return [document["seed"]]
    found = []
    for record in document.get("records", []):
        seed = record.get("seed")
        if seed not in found:
            found.append(seed)
    return found or [None]


def _record_seed(record: dict[str, Any], seeds: list) -> Any:
    if "seed" in record:
        return record["seed"]
    if len(seeds) == 1:
        return seeds[0]
    raise ResultsError(f"record {record.get('name')!r} has no seed, and the document has "
                       f"several ({seeds})")


def _segments_replaced(key: str, old: str, new: str) -> str:
    return ".".join(new if part == old else part for part in key.split("."))


def _is_gold(record: dict[str, Any]) -> bool:
    return (record.get("config") or {}).get("class") in GOLD_CLASSES


def _gold_metrics(record: dict[str, Any]) -> dict[str, Any]:
    """A GoldModel record's metrics with its real cost: the retraining time."""
    metrics = dict(record.get("metrics") or {})
    retain = ((record.get("config") or {}).get("parameters") or {}).get("ref_data_retain", "retain")
    retrain = metrics.get(f"runtime.retrain.{retain}", metrics.get("runtime.retrain"))
    if "runtime.unlearn" in metrics:
        metrics["runtime.unlearn"] = retrain
    if "rte.unlearn" in metrics:
        metrics["rte.unlearn"] = 1.0 if _is_number(retrain) and retrain > 0 else None
    return metrics


def record_values(record: dict[str, Any]) -> dict[str, Any]:
    """A record's metrics, with ``tuning.seconds`` and ``tuning.trials`` from its ``tuning``
    block when it has one."""
    values = dict(record.get("metrics") or {})
    tuning = record.get("tuning")
    if isinstance(tuning, dict):
        for key, field_ in ((TUNING_SECONDS, "seconds"), (TUNING_TRIALS, "trials")):
            if _is_number(tuning.get(field_)):
                values[key] = tuning[field_]
    return values


def latest_records(document: dict[str, Any]) -> dict[tuple[str, Any], dict[str, Any]]:
    """``(name, seed)`` → the record that counts: the last one of that name on that seed (a
    failed one re-run), in record order."""
    records = document.get("records")
    if not isinstance(records, list):
        raise ResultsError("the results document has no list of records")
    seeds = seeds_of(document)
    latest: dict[tuple[str, Any], dict[str, Any]] = {}
    for record in records:
        latest[(record["name"], _record_seed(record, seeds))] = record
    return latest


def by_name_then_seed(latest: dict[tuple[str, Any], dict[str, Any]]
                      ) -> list[tuple[tuple[str, Any], dict[str, Any]]]:
    """The items of :func:`latest_records`, by name (in record order), then by seed."""
    names = list(dict.fromkeys(name for name, _ in latest))
    return sorted(latest.items(), key=lambda item: (names.index(item[0][0]),
                                                    _seed_order(item[0][1])))


def aggregate(document: dict[str, Any]) -> dict[str, Row]:
    """The rows of the summary, keyed by name: ``original``, ``gold`` (when a GoldModel record
    finished) and every unlearner in record order. Read each metric with ``row[metric]`` (a
    :class:`Stat`), or ``row.values[metric]`` for the value of each seed.

    When a seed has several records with one name (a failed one re-run), the last one counts.
    An unlearner named ``original`` or ``gold`` keeps its name; the reference row is then
    ``original (reference)`` / ``gold (reference)``.
    """
    latest = latest_records(document)

    unlearners: dict[str, Row] = {}
    original = Row(ORIGINAL, ORIGINAL)
    gold = Row(GOLD, GOLD)
    for (name, seed), record in latest.items():
        row = unlearners.setdefault(name, Row(name, UNLEARNER))
        if record.get("status") != "finished":
            row.failed.append(seed)
            row.errors[seed] = record.get("error")
            if _is_gold(record):
                gold.failed.append(seed)
            continue
        row.finished.append(seed)
        metrics = record.get("metrics") or {}
        for key, value in record_values(record).items():
            row.values.setdefault(key, {})[seed] = value
        # the original, from the first finished record of this seed that holds each metric
        for key in metrics:
            if "unlearned" not in key.split("."):
                continue
            source = _segments_replaced(key, "unlearned", "original")
            if source in metrics and seed not in original.values.get(key, {}):
                original.values.setdefault(key, {})[seed] = metrics[source]
                if seed not in original.finished:
                    original.finished.append(seed)
        if _is_gold(record) and seed not in gold.finished:
            gold.finished.append(seed)
            for key, value in _gold_metrics(record).items():
                gold.values.setdefault(key, {})[seed] = value

    gold.failed = [s for s in dict.fromkeys(gold.failed) if s not in gold.finished]
    rows: dict[str, Row] = {}
    for reference in (original, gold):
        if reference.finished:
            if reference.name in unlearners:
                reference.name = f"{reference.name} (reference)"
            reference.finished.sort(key=_seed_order)
            rows[reference.name] = reference
    rows.update(unlearners)
    return rows


def _seed_order(seed: Any) -> tuple:
    return (seed is None, seed if isinstance(seed, (int, float)) else str(seed))


def select_metrics(rows: dict[str, Row] | Iterable[Row],
                   metrics: str | Sequence[str] | None = None) -> list[str]:
    """The columns: ``None``: the :data:`KEY_METRICS` present, then the :data:`TUNING_KEYS`
    present; ``"all"``: every metric, in the order first seen, except the ``.original`` ones
    shown by the ``original`` row; a list: those."""
    rows = list(rows.values()) if isinstance(rows, dict) else list(rows)
    present: dict[str, None] = {}
    for row in rows:
        for key in row.values:
            present.setdefault(key, None)
    if metrics is None:
        return [k for k in (*KEY_METRICS, *TUNING_KEYS) if k in present]
    if metrics == "all":
        return [k for k in present
                if not ("original" in k.split(".")
                        and _segments_replaced(k, "original", "unlearned") in present)]
    if isinstance(metrics, str):
        return [metrics]
    return list(metrics)


def check_metrics(document: dict[str, Any], metrics: str | Sequence[str] | None) -> None:
    """Refuses metric names that no record of ``document`` holds, each with the nearest known
    name (a typo would otherwise show as a column of dashes). ``None``, ``"all"`` and a run
    without any metric (nothing to check against) pass.

    Raises:
        ResultsError: naming every unknown metric, a did-you-mean, and how to list them all.
    """
    if metrics is None or metrics == "all":
        return
    present = list(dict.fromkeys(k for row in aggregate(document).values() for k in row.values))
    unknown = [m for m in ([metrics] if isinstance(metrics, str) else metrics)
               if m not in present]
    if not present or not unknown:
        return
    problems = []
    for name in unknown:
        near = difflib.get_close_matches(name, present, n=1, cutoff=0.6)
        problems.append(f"unknown metric '{name}'" + (f" (did you mean '{near[0]}'?)" if near
                                                       else ""))
    listed = ", ".join(present[:12]) + (f", … ({len(present)} in all)" if len(present) > 12
                                        else "")
    raise ResultsError(f"{'; '.join(problems)}. The run's metrics: {listed}")


# --- text in cells ------------------------------------------------------------------------


def one_line(text: Any) -> str:
    """``text`` on one line: line breaks and other control characters written as escapes
    (``\\n``, ``\\x1b``), so a record name or an error cannot break a row or steer a terminal."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ascii(c)[1:-1] if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
                   for c in text)


#: what a spreadsheet reads as the start of a formula (OWASP's CSV injection list)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading ``'`` when it would start a formula
    (numbers are written by the caller, never through this)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


# --- CSV ----------------------------------------------------------------------------------


STAT_FIELDS = ("mean", "std", "ci95", "n")


def csv_header(metrics: Sequence[str]) -> list[str]:
    """``name, kind, seeds_finished, seeds_failed``, then ``<metric>:mean``, ``:std``,
    ``:ci95``, ``:n`` for each metric."""
    return ["name", "kind", "seeds_finished", "seeds_failed",
            *(f"{m}:{f}" for m in metrics for f in STAT_FIELDS)]


def csv_text(document: dict[str, Any], metrics: str | Sequence[str] | None = None) -> str:
    """The summary as CSV: one row per original, gold and unlearner; numbers at full precision
    (``repr``), empty where there is none; text that would start a spreadsheet formula (a name
    ``=cmd()``) with a leading ``'``."""
    rows = aggregate(document)
    keys = select_metrics(rows, metrics)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in csv_header(keys)])
    for row in rows.values():
        cells: list[Any] = [csv_cell(row.name), csv_cell(row.kind), len(row.finished),
                            len(row.failed)]
        for key in keys:
            stat = row[key]
            cells += ["" if v is None else repr(float(v)) for v in (stat.mean, stat.std, stat.ci95)]
            cells.append(stat.n)
        writer.writerow(cells)
    return out.getvalue()


# --- Markdown -----------------------------------------------------------------------------


def format_stat(stat: Stat, several: bool, digits: int = 4, key: str | None = None) -> str:
    """``mean ± std`` (``mean`` alone for one value, ``-`` for none). A count (``key``
    ``tuning.trials``) that is the same on every seed is written as the integer it is."""
    if stat.n == 0:
        return "-"
    if key == TUNING_TRIALS and float(stat.mean).is_integer() and not stat.std:
        return str(int(stat.mean))
    if stat.std is None or not several:
        return f"{stat.mean:.{digits}f}"
    return f"{stat.mean:.{digits}f} ± {stat.std:.{digits}f}"


def _md_escape(text: Any) -> str:
    """Text for a Markdown table cell or list item: on one line (a line break shows as ``\\n``),
    backslashes and ``|`` escaped."""
    return one_line(text).replace("\\", "\\\\").replace("|", "\\|")


def _seed_label(seed: Any) -> str:
    return "" if seed is None else f" (seed {seed})"


def rank_methods(document: dict[str, Any], rows: dict[str, Row] | None = None
            ) -> ranking.Ranking | None:
    """The unlearners ranked by avg gap to the gold model (:mod:`erasure.results.ranking`), None
    when no record has an avg gap. ``rows``: the document's :func:`aggregate`, when at hand."""
    rows = aggregate(document) if rows is None else rows
    latest = latest_records(document)
    sweeps = {name: record["sweep"] for (name, _), record in latest.items()
              if isinstance(record.get("sweep"), dict)}
    gold = {name for (name, _), record in latest.items() if _is_gold(record)}
    return ranking.rank([r for r in rows.values() if r.kind == UNLEARNER],
                         len(seeds_of(document)), sweeps, gold)


def ranking_markdown(ranked: ranking.Ranking) -> list[str]:
    """The ranking as Markdown lines: the table, a blank line, its legend."""
    header = ranking.header(ranked)
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
             "|" + "|".join(["---:", ":---"] + ["---:"] * (len(header) - 2)) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in ranking.cells(ranked, _md_escape)]
    legend = ranking.legend(ranked)
    return [*lines, "", legend[0].upper() + legend[1:] + "."]


def markdown_table(document: dict[str, Any], metrics: str | Sequence[str] | None = None) -> str:
    """The summary in Markdown. First, when some record has an avg gap, the unlearners ranked
    by it (:func:`rank_methods`). Then the table of unlearners as rows (original and gold first,
    marked *reference*), metrics as columns, ``mean ± std`` over seeds when there are several;
    then the failures and, for an unfinished run, its status."""
    rows = aggregate(document)
    keys = select_metrics(rows, metrics)
    seeds = seeds_of(document)
    several = len(seeds) > 1
    ranked = rank_methods(document, rows)
    header = ["unlearner", "seeds", *keys]
    lines = [*ranking_markdown(ranked), ""] if ranked is not None else []
    lines += ["| " + " | ".join(_md_escape(h) for h in header) + " |",
              "|" + "|".join([":---", "---:"] + ["---:"] * len(keys)) + "|"]
    for row in rows.values():
        name = _md_escape(row.name)
        if row.kind != UNLEARNER:
            name = f"*{name}* (reference)" if not name.endswith("(reference)") else f"*{name}*"
        cells = [name, f"{len(row.finished)}/{len(seeds)}"]
        for key in keys:
            stat = row[key]
            text = format_stat(stat, several, key=key)
            if several and 0 < stat.n < len(row.finished):
                text += f" (n={stat.n})"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    shown = ", ".join("?" if s is None else str(s) for s in seeds)
    if several:
        lines.append(f"Mean ± sample standard deviation over {len(seeds)} seeds ({shown}); "
                     f"95% confidence intervals (Student's t) in `{CSV_FILE}`.")
    else:
        lines.append("One seed" + (f" ({shown})" if seeds != [None] else "")
                     + ": no spread across seeds.")
    notes = []
    if any(r.kind == ORIGINAL for r in rows.values()):
        notes.append("*original*: the trained model before unlearning")
    if any(r.kind == GOLD for r in rows.values()):
        notes.append("*gold*: retrained from scratch without the forget set (GoldModel; its "
                     "runtime is the retraining time)")
    if any(TUNING_SECONDS in r.values for r in rows.values()):
        notes.append(f"`{TUNING_SECONDS}`: what tuning took (the stand-in's models and every "
                     f"trial), apart from `runtime.unlearn`, the final run's; `{TUNING_TRIALS}`: "
                     "the trials run")
    if notes:
        lines.append("; ".join(notes) + ".")
    tuned = tuned_lines(document)
    if tuned:
        lines += ["", "Tuned (the knobs each tuned record chose, toward the gold model):", ""]
        lines += [f"- {_md_escape(line)}" for line in tuned]
    failures = [(row.name, seed, row.errors.get(seed))
                for row in rows.values() if row.kind == UNLEARNER for seed in row.failed]
    if failures:
        lines.append("")
        lines += [f"- failed: {_md_escape(name)}{_seed_label(seed)}: {_md_escape(error)}"
                  for name, seed, error in failures]
    status = document.get("status")
    if status == "interrupted":
        lines.append("")
        missing = document.get("missing_records") or []
        lines.append(f"Interrupted by {_md_escape(document.get('interrupted_by'))}: missing "
                     f"records: {', '.join(map(_md_escape, missing)) or 'none'}.")
    elif status == "running":
        lines.append("")
        lines.append("The run had not finished when these results were written.")
    return "\n".join(lines) + "\n"


# --- tuned records -------------------------------------------------------------------------


def significant(value: Any, digits: int = 4) -> str:
    """A chosen value as the tables show it: floats to ``digits`` significant digits."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def tuned_lines(document: dict[str, Any]) -> list[str]:
    """One line per tuned record that counts (see :func:`latest_records`), by name in record
    order, then by seed:
    ``NegGrad (seed 0): held_out protocol, avg_gap = 0.002365; optimizer.parameters.lr =
    0.0001547, epochs = 5; 12 trials (6 pruned, 0 failed), 2.2 s`` — or, when no trial finished,
    ``no trial finished`` in place of the value and the knobs. Lines are plain text (callers
    escape them for their format)."""
    lines = []
    for (name, seed), record in by_name_then_seed(latest_records(document)):
        tuning = record.get("tuning")
        if not isinstance(tuning, dict):
            continue
        protocol = one_line(tuning.get("protocol", "?"))
        head = f"{one_line(name)}{_seed_label(seed)}: {protocol} protocol"
        objective = one_line(tuning.get("objective", "objective"))
        params = tuning.get("params")
        if _is_number(tuning.get("value")) and isinstance(params, dict):
            chosen = ", ".join(f"{one_line(k)} = {one_line(significant(v))}"
                               for k, v in params.items())
            head += f", {objective} = {significant(float(tuning['value']))}; {chosen}"
        else:
            head += f", {objective}: no trial finished"
        seconds = tuning.get("seconds")
        cost = (f"{tuning.get('trials', '?')} trials ({tuning.get('pruned', 0)} pruned, "
                f"{tuning.get('failed', 0)} failed)")
        if _is_number(seconds):
            cost += f", {seconds:.1f} s"
        lines.append(f"{head}; {cost}")
    return lines


# --- files --------------------------------------------------------------------------------


def write_tables(document: dict[str, Any], folder: str | os.PathLike,
                 metrics: str | Sequence[str] | None = None) -> list[Path]:
    """Writes ``summary.csv`` and ``summary.md`` into ``folder`` (created if needed), each
    atomically; returns their paths. ``metrics``: see :func:`select_metrics`."""
    folder = Path(folder)
    csv_path, md_path = folder / CSV_FILE, folder / MARKDOWN_FILE
    write_atomic(csv_path, csv_text(document, metrics))
    write_atomic(md_path, markdown_table(document, metrics))
    return [csv_path, md_path]
