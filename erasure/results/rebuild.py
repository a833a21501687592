"""Rebuilding the tables and plots of a finished (or interrupted) run from its results.json."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .long_form import write_results_csv
from .tables import ResultsError, check_metrics, markdown_table, write_tables
from .write import RESULTS_FILE

PLOTS_FOLDER = "plots"

log = logging.getLogger(__name__)

__all__ = ["PLOTS_FOLDER", "ResultsError", "load_results", "rebuild", "write_reports"]


def _refuse_constant(constant: str):
    raise ValueError(f"{constant} is not JSON")


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a results document (``path``: the file, or the run folder holding
    ``results.json``), checking that it has the shape of one.

    Raises:
        ResultsError: (a ValueError, with ``.path``) the file is missing, unreadable, not JSON,
            or not a results document.
    """
    path = Path(path)
    if not (path.is_file() or path.suffix == ".json"):
        path = path / RESULTS_FILE
    if not path.is_file():
        where = path.parent
        reason = ("no such folder" if not where.exists()
                  else f"no {RESULTS_FILE} in {where} (is it a run folder?)")
        raise ResultsError(reason, path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError) as e:
        raise ResultsError(f"cannot read it: {e}", path) from None
    except ValueError as e:
        raise ResultsError(f"not valid JSON: {e}", path) from None
    if not isinstance(document, dict):
        raise ResultsError(f"not a results document: a JSON {type(document).__name__}, "
                           "not an object", path)
    records = document.get("records")
    if not isinstance(records, list):
        raise ResultsError("not a results document: no list of \"records\"", path)
    for i, record in enumerate(records):
        if not (isinstance(record, dict) and isinstance(record.get("name"), str)
                and isinstance(record.get("status"), str)
                and isinstance(record.get("metrics", {}), dict)):
            raise ResultsError(f"records[{i}] is not a record (name, status, metrics)", path)
    return document


def _write_all(document: dict[str, Any], folder: Path, metrics, plots: bool,
               plot_formats: str | Sequence[str] | None = None
               ) -> tuple[list[Path], list[Path], dict[str, str]]:
    """Writes the tables, then the plots; returns the tables' files, the plots' and the plots
    skipped (file → why)."""
    tables = [*write_tables(document, folder, metrics), write_results_csv(document, folder)]
    drawn: list[Path] = []
    skipped: dict[str, str] = {}
    if plots:
        from .plots import write_plots

        files = write_plots(document, folder / PLOTS_FOLDER, metrics, formats=plot_formats)
        drawn = list(files)
        skipped = files.skipped
    return tables, drawn, skipped


def write_reports(document: dict[str, Any], folder: str | os.PathLike,
                  metrics: str | Sequence[str] | None = None, plots: bool = True,
                  plot_formats: str | Sequence[str] | None = None) -> list[Path]:
    """Writes the tables (``summary.csv``, ``summary.md``, ``results.csv``: one row per number,
    :mod:`erasure.results.long_form`) and plots (``plots/*.png``; ``plot_formats``: see
    :func:`erasure.results.plots.plot_formats`) of a results document into its run folder, at
    the end of a run; returns the files written. The log line says what was written: the
    tables, and how many plots (or why none).

    Never raises (the results are already safe on disk): a failure is logged as a warning
    that says how to retry (``python main.py report RUN_DIR``), and what was written before it
    stays.
    """
    folder = Path(folder)
    try:
        tables, drawn, skipped = _write_all(document, folder, metrics, plots, plot_formats)
    except Exception as e:
        log.warning("could not write the summary tables and plots into %s: %s: %s; retry with "
                    "'python main.py report %s'", folder, type(e).__name__, e, folder,
                    exc_info=log.isEnabledFor(logging.DEBUG))
        return []
    if drawn:
        log.info("summary tables and %d plot files written into %s", len(drawn), folder)
    else:
        why = ("not asked for" if not plots else skipped.get("*")
               or "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "nothing to draw")
        log.info("summary tables written into %s; no plots (%s)", folder, why)
    return [*tables, *drawn]


def rebuild(run_dir: str | os.PathLike, metrics: str | Sequence[str] | None = None,
            plots: bool = True, plot_formats: str | Sequence[str] | None = None) -> str:
    """(Re)writes ``summary.csv``, ``summary.md``, ``results.csv`` and the plots (in ``plots/``) of the run in
    ``run_dir`` from its ``results.json``; returns the text to print: the Markdown summary, the
    files written, and the plots skipped with why. ``plot_formats``: the plots' formats
    (``"png,pdf,svg"`` or a list; default PNG).

    Raises:
        ResultsError: (a ValueError, with ``.path``) no valid results.json there, or a metric
            in ``metrics`` that no record holds (:func:`~erasure.results.tables.check_metrics`).
    """
    run_dir = Path(run_dir)
    if run_dir.is_file():
        run_dir = run_dir.parent
    document = load_results(run_dir)
    try:
        check_metrics(document, metrics)
        tables, drawn, skipped = _write_all(document, run_dir, metrics, plots, plot_formats)
    except ResultsError as e:
        raise ResultsError(str(e), run_dir / RESULTS_FILE) from None
    lines = [markdown_table(document, metrics).rstrip("\n"), "", "written:"]
    lines += [f"  {p}" for p in [*tables, *drawn]]
    for name, reason in skipped.items():
        lines.append(f"skipped: {name}: {reason}" if name != "*" else f"skipped plots: {reason}")
    return "\n".join(lines)
