"""Measuring a finished run's saved models again — the run's own measures, or new ones — without
training the original or the gold models again and without unlearning
(``python main.py evaluate RUN_DIR [--config MEASURES.jsonc]``).

The run must have kept its models (``globals.save_models``: :mod:`erasure.saving`). Its plan is
rebuilt from the resolved config in ``results.json``; per seed the data is loaded again (the
same, from config and seed), the original and gold models come from the saved files (``all``),
else from the model cache, else they are trained again (logged as a warning); each record's
unlearned model is loaded from its ``saved_model`` and measured with the timings and memory its
unlearning had (saved beside it), so the run's own measures give the run's numbers again.

New metric keys are added to the records (and new entries to ``failed_measures`` and
``not_applicable``); a number already in a record is never changed — a recomputed value that
differs is logged with both values and the old one kept. ``results.json`` is rewritten
atomically after each record, ``evaluations`` lists each pass (when, which measures, which
records), and the summary tables and plots are rebuilt at the end.
"""
from __future__ import annotations

import copy
import datetime as dt
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from erasure import saving
from erasure.config import ConfigError, Problem, load_config
from erasure.experiment import Session
from erasure.plan import Plan, prepare
from erasure.results import RESULTS_FILE, load_results, write_json_atomic, write_reports
from erasure.results.claim import FolderClaim
from erasure.results.tables import ResultsError

log = logging.getLogger(__name__)

_MEASURES_PATH = "evaluator.parameters.measures"


def evaluate(run_dir: str | os.PathLike, measures: str | os.PathLike | list | None = None, *,
             seeds: list[int] | None = None, plots: bool = True,
             plot_formats: str | list[str] | None = None) -> Path:
    """Measures the saved models of the run in ``run_dir`` and adds the new metrics to its
    records (see the module docstring).

    Args:
        run_dir: a run folder holding ``results.json`` and ``models/``.
        measures: the measures to apply: a JSONC file holding ``{"measures": [...]}``, or that
            list itself (measure configs as in ``evaluator.parameters.measures``); default: the
            run's own.
        seeds: only the records of these seeds (default: all).
        plots: rebuild the plots too (the tables always are).
        plot_formats: their formats (``"png,pdf,svg"`` or a list; default PNG).

    Returns:
        The path of the results file.

    Raises:
        ConfigError: no results there, no saved models (the run's ``save_models`` was
            ``none``), a saved file missing, measures that do not validate, seeds the run does
            not have, or another live run holds the folder — all before any work.
        OSError: the results could not be written (the records written before are kept).
    """
    folder = Path(run_dir)
    try:
        document = load_results(folder)
    except ResultsError as e:
        raise ConfigError.single("RUN_DIR", str(e)) from None
    results = folder / RESULTS_FILE
    if not isinstance(document.get("config"), dict):
        raise ConfigError.single("RUN_DIR", f"{results} holds no config to rebuild the run from")
    plan = _plan(document, results, measures)
    targets = _targets(document, folder, plan, seeds)
    claim = FolderClaim(folder)
    if not claim.acquire():
        raise ConfigError.single("RUN_DIR", f"another run (process {claim.holder()}) is writing "
                                            f"to {folder}", "Wait for it to finish.")
    try:
        done = []
        for seed, records in targets.items():
            done += _evaluate_seed(plan, seed, records, folder, document, results)
        document.setdefault("evaluations", []).append({
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "evaluator": plan.resolved.get("evaluator"), "records": done})
        write_json_atomic(results, document)
        write_reports(document, folder, plots=plots, plot_formats=plot_formats)
    finally:
        claim.release()
    return results


def _plan(document: dict[str, Any], results: Path, measures: Any) -> Plan:
    """The run's plan from its resolved config (local executor), with ``measures`` as its
    evaluator's when given; problems reported against the file they come from."""
    config = copy.deepcopy(document["config"])
    settings = config.setdefault("globals", {})
    if isinstance(settings, dict):
        settings["executor"] = "local"  # evaluate runs here (a setting that changes no model)
    source = None
    if measures is not None:
        if not isinstance(measures, list):
            source = Path(measures)
            loaded = load_config(source)
            unknown = sorted(set(loaded) - {"measures"})
            if unknown or not isinstance(loaded.get("measures"), list):
                raise ConfigError.single(
                    str(source), f"a measures file holds one key, \"measures\", a list of "
                                 f"measures (found {', '.join(map(repr, loaded)) or 'nothing'})",
                    'Write {"measures": [{"class": "Accuracy"}, ...]}.')
            measures = loaded["measures"]
            if isinstance(settings, dict):  # the file's own modules, like a config's
                settings["paths"] = [*settings.get("paths", []), str(source.resolve().parent)]
        evaluator = config.get("evaluator")
        evaluator = dict(evaluator) if isinstance(evaluator, dict) else {"class": "Evaluator"}
        evaluator["parameters"] = {**evaluator.get("parameters", {}), "measures": measures}
        config["evaluator"] = evaluator
    try:
        plan = prepare(config, config_file=document.get("config_file"))
    except ConfigError as e:
        raise ConfigError([_located(p, results, source, measures is not None)
                           for p in e.problems]) from None
    # evaluation runs no unlearner: only the measures' gold models are needed
    plan.gold_partitions = sorted({p for m in plan.evaluator.measures for p in m.gold_partitions()})
    return plan


def _located(problem: Problem, results: Path, source: Path | None, own: bool) -> Problem:
    if own and problem.path.startswith(_MEASURES_PATH):
        where = f"{source}: measures" if source else "measures"
        return Problem(where + problem.path[len(_MEASURES_PATH):], problem.message, problem.hint)
    return Problem(f"{results}: config.{problem.path}", problem.message, problem.hint)


def _targets(document: dict[str, Any], folder: Path, plan: Plan, seeds: list[int] | None
             ) -> dict[int, list[dict[str, Any]]]:
    """Per seed (in the run's order), the finished records with a saved model to measure."""
    all_seeds = document.get("seeds") or plan.settings.all_seeds()
    if seeds is not None:
        unknown = [s for s in seeds if s not in all_seeds]
        if unknown:
            raise ConfigError.single("--seed", f"the run has no seed {unknown[0]}",
                                     f"Its seeds: {', '.join(map(str, all_seeds))}.")
    saved = [r for r in document["records"]
             if r.get("status") == "finished" and isinstance(r.get("saved_model"), str)]
    if not saved:
        setting = document["config"].get("globals", {}).get("save_models", "none")
        why = ("the run did not keep its models (globals.save_models was 'none')"
               if setting == "none" else "no finished record has a saved model")
        raise ConfigError.single("RUN_DIR", f"nothing to evaluate in {folder}: {why}",
                                 'Run it again with globals.save_models "unlearned" or "all".')
    missing = [r["saved_model"] for r in saved if not (folder / r["saved_model"]).is_file()]
    if missing:
        raise ConfigError.single("RUN_DIR", f"{len(missing)} saved model(s) missing in {folder}: "
                                            f"{', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}")
    skipped = [r["name"] for r in document["records"] if r not in saved]
    if skipped:
        log.warning("not evaluated (failed, or no saved model): %s", ", ".join(skipped))
    chosen = all_seeds if seeds is None else [s for s in all_seeds if s in seeds]
    targets = {seed: [r for r in saved if r.get("seed", all_seeds[0]) == seed] for seed in chosen}
    return {seed: records for seed, records in targets.items() if records}


def _evaluate_seed(plan: Plan, seed: int, records: list[dict[str, Any]], folder: Path,
                   document: dict[str, Any], results: Path) -> list[str]:
    session = Session(plan, seed)
    session.load_data()
    given = {}
    names = ["original", *(f"gold.{p}" for p in plan.gold_partitions)]
    for name in names:
        path = saving.seed_folder(folder, seed) / f"{name}{saving.SUFFIX}"
        if path.is_file():
            given[name] = saving.load(path)[0]
    session.train_models(given=given)
    if session.trainings:
        log.warning("seed %s: trained again (not saved, not in the model cache): %s", seed,
                    ", ".join(session.trainings))
    done = []
    for record in records:
        name = record["name"]
        try:
            weights, meta = saving.load(folder / record["saved_model"])
            forget = (record.get("config") or {}).get("parameters", {}).get("ref_data_forget")
            unlearned = session.restore(weights, forget)
        except (saving.SavedModelError, RuntimeError) as e:
            log.warning("%s (seed %s) not evaluated: %s", name, seed, e)
            continue
        tick = time.perf_counter()
        metrics, failed, skipped = session.measure(
            name, unlearned, timings=meta.get("timings") or dict(session.trained_seconds),
            memory=meta.get("memory") or {}, evaluator=plan.evaluator)
        merge(record, metrics, failed, skipped)
        write_json_atomic(results, document)
        log.info("%s (seed %s): measured in %.2f s", name, seed, time.perf_counter() - tick)
        done.append(name if len(document.get("seeds") or [seed]) == 1 else f"{name} (seed {seed})")
    return done


def _same(old: Any, new: Any) -> bool:
    """Equal as the results file holds them (NaN and infinity are written as null)."""
    def held(value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value
    return held(old) == held(new)


def merge(record: dict[str, Any], metrics: dict[str, Any], failed: dict[str, str],
          not_applicable: dict[str, str]) -> list[str]:
    """Adds what a new evaluation found to ``record``: the metric keys it does not have yet, and
    the failed or not-applicable measures it does not list yet. A number already there is kept;
    a recomputed value that differs is logged with both values. Returns the keys added."""
    held = record.setdefault("metrics", {})
    added = []
    for key, value in metrics.items():
        if key not in held:
            held[key] = value
            added.append(key)
        elif not _same(held[key], value):
            log.warning("%s: %s was %r in the run, %r now: the run's value is kept",
                        record.get("name"), key, held[key], value)
    for part, found in (("failed_measures", failed), ("not_applicable", not_applicable)):
        entries = record.setdefault(part, {})
        for key, reason in found.items():
            entries.setdefault(key, reason)
    return added
