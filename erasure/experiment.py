"""The pipeline: validate → load data → train the original → each unlearner → measures → results.

:func:`prepare` turns a config dict into built components, finding every problem before any work.
:func:`run` carries out a prepared plan and writes the results document.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, Optional

import torch
from torch import nn

from erasure import __version__
from erasure.config import Builder, ConfigError, Problem, Slot, suggest
from erasure.data import Data, DatasetManager
from erasure.measures import Evaluator, MeasureContext, OutputStore
from erasure.models import Predictor
from erasure.results import (RESULTS_FILE, check_writable, choose_run_folder, write_json_atomic)
from erasure.seeding import derive_seed, generator, seeded
from erasure.unlearners import Unlearner, UnlearningContext

log = logging.getLogger(__name__)

SECTIONS = ("globals", "data", "predictor", "unlearners", "evaluator")


@dataclass(kw_only=True)
class Globals:
    """Settings shared by the whole experiment (the config's ``globals`` section).

    Args:
        seed: drives every random choice (splits, initialisation, batch order, attacks).
        device: ``cpu``, ``cuda``, or ``auto`` (cuda when available).
        output: results folder, relative to the working directory (default
            ``output/<config file name>``); ``--output`` overrides it.
        paths: folders, relative to the config file, from which your own modules are imported
            (the config file's own folder always is).
    """

    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    output: Optional[str] = None
    paths: list[str] = ()


@dataclass
class Plan:
    """A validated experiment: every component built, nothing loaded or trained yet."""

    settings: Globals
    data: DatasetManager
    predictor: Predictor
    unlearners: list[Unlearner]
    names: list[str]
    evaluator: Evaluator
    resolved: dict
    config_file: Optional[Path] = None
    gold_partitions: list[str] = field(default_factory=list)


def prepare(config: dict, *, config_file: str | Path | None = None, seed: int | None = None,
            device: str | None = None) -> Plan:
    """Validates a config and builds its components (DESIGN.md rule 1).

    Args:
        config: the plain dict from :func:`erasure.config.load_config` (not modified).
        config_file: where it came from (its folder is where user modules are imported from).
        seed, device: command-line overrides of ``globals``.

    Raises:
        ConfigError: every problem found, each with its place in the config.
    """
    if not isinstance(config, dict):
        raise ConfigError.single("", f"a config is an object, not {type(config).__name__}")
    config = copy.deepcopy(config)
    builder = Builder()
    for key in config:
        if key not in SECTIONS:
            builder.fail(str(key), f"unknown section '{key}'", suggest(str(key), SECTIONS, "sections"))
    for key in SECTIONS[1:]:
        if key not in config:
            builder.fail(key, f"missing section '{key}'")

    raw_globals = config.get("globals", {})
    if not isinstance(raw_globals, dict):
        builder.fail("globals", f"'globals' must be an object, not {type(raw_globals).__name__}")
        raw_globals = {}
    if seed is not None:
        raw_globals["seed"] = seed
    if device is not None:
        raw_globals["device"] = device
    before = len(builder.problems)
    kwargs, resolved_globals = builder.parameters(Globals, raw_globals, "globals")
    settings = Globals(**kwargs) if len(builder.problems) == before else Globals()
    base_dir = Path(config_file).resolve().parent if config_file else Path.cwd()
    _extend_import_path(base_dir, settings.paths)
    if settings.device == "cuda" and not torch.cuda.is_available():
        builder.fail("globals.device", "device 'cuda' was asked for, but this machine has no CUDA "
                                       "GPU", "Use 'cpu', or 'auto' to take a GPU when there is one.")

    resolved: dict[str, Any] = {"globals": resolved_globals}
    data = predictor = evaluator = None
    if "data" in config:
        data, resolved["data"] = builder.component(config["data"], Slot(DatasetManager, lazy=False), "data")
    if "predictor" in config:
        predictor, resolved["predictor"] = builder.component(
            config["predictor"], Slot(Predictor, lazy=False), "predictor")
    unlearners: list = []
    raw_unlearners = config.get("unlearners", [])
    if not isinstance(raw_unlearners, list) or ("unlearners" in config and not raw_unlearners):
        builder.fail("unlearners", "'unlearners' must be a non-empty list of components")
        raw_unlearners = []
    resolved["unlearners"] = []
    for i, node in enumerate(raw_unlearners):
        built, shown = builder.component(node, Slot(Unlearner, lazy=False), f"unlearners[{i}]")
        unlearners.append(built)
        resolved["unlearners"].append(shown)
    if "evaluator" in config:
        evaluator, resolved["evaluator"] = builder.component(
            config["evaluator"], Slot(Evaluator, lazy=False), "evaluator")

    if isinstance(data, DatasetManager):
        chain_problems, known = data.chain_problems("data.parameters")
        builder.problems.extend(chain_problems)
        for path, name in builder.partition_refs:
            if not path.startswith("data.parameters.partitions[") and name not in known:
                builder.fail(path, f"unknown partition '{name}'", suggest(name, known, "partitions"))
    builder.raise_if_problems()

    names = _record_names(config["unlearners"])
    gold = sorted({p for u in unlearners for p in u.gold_partitions()})
    return Plan(settings, data, predictor, unlearners, names, evaluator, resolved,
                Path(config_file).resolve() if config_file else None, gold)


def _extend_import_path(base_dir: Path, paths: list[str]) -> None:
    for folder in [base_dir, *(base_dir / p for p in paths)]:
        text = str(folder.resolve())
        if text not in sys.path:
            sys.path.insert(0, text)


def _record_names(nodes: list[dict]) -> list[str]:
    """A record name per unlearner: its ``name`` or its class's short name; repeats get ``#2``…"""
    names, seen = [], {}
    for node in nodes:
        base = node.get("name") or str(node["class"]).rsplit(".", 1)[-1]
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return names


def default_output(config_file: Path | None, settings: Globals) -> Path:
    if settings.output:
        return Path(settings.output)
    stem = config_file.stem if config_file else "experiment"
    return Path("output") / stem


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "erasure": __version__}
    for package in ("torch", "numpy", "scikit-learn", "json5"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def check_data(plan: Plan, data: Data) -> None:
    """Data-dependent checks, after loading and before any training.

    Raises:
        ConfigError: an empty forget set, a forget set outside the training data, or an empty
            retain set, for any unlearner (cascade steps included).
    """
    training = data[plan.predictor.training_set]
    problems = []

    def visit(unlearner: Unlearner, path: str) -> None:
        forget, retain = data[unlearner.ref_data_forget], data[unlearner.ref_data_retain]
        where = f"{path}.parameters"
        if len(forget) == 0:
            problems.append(Problem(f"{where}.ref_data_forget",
                                    f"the forget set '{unlearner.ref_data_forget}' is empty"))
        elif not torch.isin(forget, training).all():
            outside = int((~torch.isin(forget, training)).sum())
            problems.append(Problem(f"{where}.ref_data_forget",
                                    f"{outside} samples of the forget set '{unlearner.ref_data_forget}'"
                                    f" are not in the training set '{plan.predictor.training_set}'"))
        if len(retain) == 0:
            problems.append(Problem(f"{where}.ref_data_retain",
                                    f"the retain set '{unlearner.ref_data_retain}' is empty: "
                                    "nothing would be left to keep"))
        for i, step in enumerate(getattr(unlearner, "unlearners", ())):
            visit(step, f"{where}.unlearners[{i}]")

    for i, unlearner in enumerate(plan.unlearners):
        visit(unlearner, f"unlearners[{i}]")
    if problems:
        raise ConfigError(problems)


def run(plan: Plan, *, output: str | Path | None = None, overwrite: bool = False) -> Path:
    """Runs a prepared experiment and writes its results.

    Every finished record is written at once (atomically), so an interrupted run keeps what it
    finished. A failing unlearner or measure is recorded with its reason and the rest go on.

    Returns:
        The path of the results file.

    Raises:
        ConfigError: the output folder is not writable, or the data fails a check (before any
            training).
    """
    started = time.perf_counter()
    seed = plan.settings.seed
    folder = Path(output) if output else default_output(plan.config_file, plan.settings)
    reason = check_writable(folder)
    if reason:
        raise ConfigError.single("globals.output", f"cannot write results: {reason}")
    folder = choose_run_folder(folder, overwrite)
    device = resolve_device(plan.settings.device)
    timings: dict[str, float] = {}

    tick = time.perf_counter()
    data = plan.data.load(seed, device)
    timings["load_data"] = time.perf_counter() - tick
    check_data(plan, data)
    log.info("data: %s on %s", data.sizes(), device)

    original = _train(plan, data, "train_original", plan.predictor.training_set, ("original",), timings)
    golds: dict[str, nn.Module] = {}
    for partition in plan.gold_partitions:
        key = "retrain" if len(plan.gold_partitions) == 1 else f"retrain.{partition}"
        golds[partition] = _train(plan, data, key, partition, ("gold", partition), timings)
    for model in [original, *golds.values()]:
        model.requires_grad_(False)

    document = {
        "erasure_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "status": "running",
        "config_file": str(plan.config_file) if plan.config_file else None,
        "config": plan.resolved,
        "seed": seed,
        "device": str(device),
        "versions": versions(),
        "partitions": data.sizes(),
        "timings": timings,
        "records": [],
    }
    results = folder / RESULTS_FILE
    write_json_atomic(results, document)
    log.info("writing results to %s", results)

    original_outputs = OutputStore(original, data)
    for name, unlearner in zip(plan.names, plan.unlearners):
        record = _run_unlearner(plan, data, name, unlearner, original, golds, original_outputs,
                                timings)
        document["records"].append(record)
        write_json_atomic(results, document)

    timings["total"] = time.perf_counter() - started
    document["status"] = "finished"
    write_json_atomic(results, document)
    return results


def _train(plan: Plan, data: Data, label: str, partition: str, stream: tuple,
           timings: dict[str, float]) -> nn.Module:
    log.info("training %s on '%s'", label, partition)
    seed = plan.settings.seed
    with seeded(seed, "init", *stream):
        model = plan.predictor.new_model(data)
    tick = time.perf_counter()
    with seeded(seed, "fit", *stream):
        plan.predictor.train(model, data, partition, generator(seed, "batches", *stream))
    timings[label] = time.perf_counter() - tick
    model.eval()
    return model


def _run_unlearner(plan: Plan, data: Data, name: str, unlearner: Unlearner, original: nn.Module,
                   golds: dict[str, nn.Module], original_outputs: OutputStore,
                   timings: dict[str, float]) -> dict[str, Any]:
    record: dict[str, Any] = {"name": name, "config": unlearner.config, "status": "finished",
                              "error": None, "metrics": {}, "failed_measures": {}}
    # the stream depends on what the unlearner is, never on its position in the list
    useed = derive_seed(plan.settings.seed, "unlearner", json.dumps(unlearner.config, sort_keys=True))
    model = copy.deepcopy(original).requires_grad_(True)
    ctx = UnlearningContext(data=data, predictor=plan.predictor, generator=generator(useed),
                            seed=useed, gold=lambda partition: copy.deepcopy(golds[partition]))
    log.info("unlearner %s", name)
    tick = time.perf_counter()
    try:
        with seeded(useed):
            unlearned = unlearner.unlearn(model, ctx)
    except Exception as e:  # recorded, never fatal: the other unlearners still run
        record.update(status="failed", error=f"{type(e).__name__}: {e}")
        log.warning("unlearner %s failed: %s", name, record["error"])
        log.debug("%s", traceback.format_exc())
        return record
    elapsed = time.perf_counter() - tick
    if not isinstance(unlearned, nn.Module):
        record.update(status="failed", error=f"unlearn() returned {type(unlearned).__name__}, "
                                             "not a torch.nn.Module")
        return record
    unlearned.eval()
    ctx_timings = {k: v for k, v in timings.items() if k.startswith(("train_original", "retrain"))}
    ctx_timings["unlearn"] = elapsed
    measure_ctx = MeasureContext(
        data=data, models={"original": original, "unlearned": unlearned},
        outputs={"original": original_outputs, "unlearned": OutputStore(unlearned, data)},
        timings=ctx_timings)
    metrics, failures = plan.evaluator.evaluate(measure_ctx, plan.settings.seed, name)
    record["metrics"], record["failed_measures"] = metrics, failures
    return record
