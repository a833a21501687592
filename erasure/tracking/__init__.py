"""Experiment trackers: a finished (or interrupted) run, logged to MLflow or TensorBoard.

A tracker reads the run's results document and its folder (the tables and plots the report
wrote), never the live run, so a local run, a Ray run and ``report RUN_DIR --track …`` log the
same thing. This module holds what both trackers share: the names (:data:`TRACKERS`), the
check that a tracker's package is installed (:func:`check`, done before a run starts), the flat
view of a document (:func:`tracked_records`, :func:`run_params`) and the dispatch
(:func:`track`). Each tracker imports its package only when it is asked for.
"""
from __future__ import annotations

import importlib
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Tracker name → (the module that logs to it, the packages it needs, the pip extra).
TRACKERS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "mlflow": ("erasure.tracking.mlflow_tracker", ("mlflow",), "mlflow"),
    "tensorboard": ("erasure.tracking.tensorboard_tracker",
                    ("tensorboard", "torch.utils.tensorboard"), "tensorboard"),
}

#: The run-level files attached to a run (when the run folder holds them) besides ``plots/``.
RUN_FILES = ("results.json", "summary.md", "summary.csv")
PLOT_SUFFIXES = (".png", ".pdf", ".svg")

__all__ = ["RUN_FILES", "TRACKERS", "TrackedRecord", "TrackingError", "check", "parse",
           "plot_files", "run_params", "track", "tracked_records"]


class TrackingError(ValueError):
    """An unknown tracker, or a tracker whose package is not installed (the command line exits
    with status 2, before any work)."""


def parse(values: Iterable[str] | None) -> list[str]:
    """The tracker names of ``--track`` values (each one name or a comma list), in order, each
    once. Raises :class:`TrackingError` for an unknown name."""
    names: list[str] = []
    for value in values or ():
        for name in (part.strip().lower() for part in value.split(",")):
            if not name:
                continue
            if name not in TRACKERS:
                import difflib

                close = difflib.get_close_matches(name, TRACKERS, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise TrackingError(f"--track: unknown tracker '{name}'.{hint} Known: "
                                    f"{', '.join(TRACKERS)}.")
            if name not in names:
                names.append(name)
    return names


def check(names: Sequence[str]) -> None:
    """Imports the packages each named tracker needs, so that a missing one is reported before
    a run starts. Raises :class:`TrackingError` saying what to install."""
    for name in names:
        _, packages, extra = TRACKERS[name]
        for package in packages:
            try:
                importlib.import_module(package)
            except ImportError as e:
                raise TrackingError(f"--track {name} needs the {packages[0]} package, which "
                                    f"cannot be imported ({e}): pip install "
                                    f"'erasure[{extra}]'") from None


def track(names: Sequence[str], document: dict[str, Any], run_dir: str | os.PathLike, *,
          experiment: str | None = None, folder: str | os.PathLike | None = None) -> list[str]:
    """Logs the run in ``run_dir`` (its results ``document``) to each named tracker; returns one
    line per tracker saying where it went.

    Args:
        experiment: the MLflow experiment (default: the config file's name, else the run
            folder's).
        folder: TensorBoard's log folder (default: ``<run_dir>/tensorboard``).

    Raises whatever the tracker raises (a store that cannot be reached…): the results on disk
    are untouched either way.
    """
    run_dir = Path(run_dir)
    lines = []
    for name in names:
        module = importlib.import_module(TRACKERS[name][0])
        if name == "mlflow":
            lines.append(module.log_run(document, run_dir, experiment=experiment))
        else:
            lines.append(module.log_run(document, run_dir, folder=folder))
    return lines


# --- the flat view of a results document ------------------------------------------------------


@dataclass
class TrackedRecord:
    """One record as a tracker logs it.

    Attributes:
        name: the record's name; ``label`` adds ``(seed N)`` when the run has several seeds.
        params: the resolved unlearner config flattened (``class``, ``parameters.epochs``,
            ``parameters.optimizer.parameters.lr`` …), sweep values as ``sweep.<path>``, and the
            run-level :func:`run_params` with the record's ``seed``.
        metrics: every finite number of ``record["metrics"]``.
        curve: ``record["curve"]`` as metric key → [(epoch, value)], finite values only.
        tags: status, seed, unlearner class, error, saved model (where present).
    """

    name: str
    seed: int | None
    label: str
    status: str
    unlearner: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    curve: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{dotted path: scalar}``; list items are numbered
    (``hidden.0``), an empty list or object is one value (``[]``, ``{}``)."""
    if isinstance(node, dict) and node:
        items = node.items()
    elif isinstance(node, list) and node:
        items = ((str(i), v) for i, v in enumerate(node))
    else:
        return {prefix: node}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _class(node: Any) -> str | None:
    return node.get("class") if isinstance(node, dict) else None


def run_params(document: dict[str, Any]) -> dict[str, Any]:
    """The run-level parameters every record shares: the data source (and its dataset name), the
    predictor's network and epochs, the device, the seeds."""
    config = document.get("config") or {}
    data = (config.get("data") or {}).get("parameters") or {}
    source = data.get("DataSource") if isinstance(data, dict) else None
    predictor = (config.get("predictor") or {}).get("parameters") or {}
    seeds = document.get("seeds", [document["seed"]] if "seed" in document else None)
    found = {
        "data.source": _class(source),
        "data.name": ((source or {}).get("parameters") or {}).get("name")
        if isinstance(source, dict) else None,
        "predictor.model": _class(predictor.get("model")),
        "predictor.epochs": predictor.get("epochs"),
        "device": document.get("device"),
        "seeds": ",".join(map(str, seeds)) if isinstance(seeds, list) else None,
    }
    return {k: v for k, v in found.items() if v is not None}


def _seed(document: dict[str, Any], record: dict[str, Any]) -> int | None:
    if "seed" in record:
        return record["seed"]
    return document.get("seed", (document.get("seeds") or [None])[0])


def tracked_records(document: dict[str, Any]) -> list[TrackedRecord]:
    """The records of a results document as trackers log them, in the document's order."""
    records = document.get("records") or []
    several = len({_seed(document, r) for r in records}) > 1 or len(document.get("seeds") or []) > 1
    shared = run_params(document)
    shared.pop("seeds", None)
    tracked = []
    for record in records:
        seed = _seed(document, record)
        config = record.get("config") or {}
        unlearner = _class(config) or ""
        params = {**shared, "seed": seed, **flatten(config)}
        for path, value in (record.get("sweep") or {}).items():
            params[f"sweep.{path}"] = value
        metrics = {k: v for k, v in ((k, finite(v)) for k, v in
                                     (record.get("metrics") or {}).items()) if v is not None}
        curve: dict[str, list[tuple[int, float]]] = {}
        raw = record.get("curve")
        if isinstance(raw, dict):
            epochs = raw.get("epochs") or []
            for key, values in (raw.get("metrics") or {}).items():
                points = [(int(e), finite(v)) for e, v in zip(epochs, values or [])]
                curve[key] = [(e, v) for e, v in points if v is not None]
        tags = {"status": record.get("status", ""), "unlearner": unlearner,
                "seed": "" if seed is None else str(seed)}
        if record.get("error"):
            tags["error"] = str(record["error"])
        if record.get("saved_model"):
            tags["saved_model"] = str(record["saved_model"])
        label = f"{record['name']} (seed {seed})" if several else record["name"]
        tracked.append(TrackedRecord(record["name"], seed, label, record.get("status", ""),
                                     unlearner, params, metrics, curve, tags))
    return tracked


def plot_files(run_dir: Path) -> list[Path]:
    """The plots the report wrote in the run folder (``plots/``), sorted."""
    from erasure.results.rebuild import PLOTS_FOLDER

    folder = run_dir / PLOTS_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in PLOT_SUFFIXES)


def experiment_name(document: dict[str, Any], run_dir: Path) -> str:
    """The default experiment name: the config file's name, else the run folder's."""
    config_file = document.get("config_file")
    return Path(config_file).stem if config_file else run_dir.resolve().name
