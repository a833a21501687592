"""The pipeline: validate → load data → train the original → each unlearner → measures → results.

:func:`prepare` turns a config dict into built components, finding every problem before any work.
:func:`run` carries out a prepared plan and writes the results document.
"""
from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import logging
import platform
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Optional

import torch
from torch import nn

from erasure import __version__
from erasure.config import Builder, ConfigError, Problem, Slot, registry, suggest
from erasure.config.checks import at_least
from erasure.data import Data, DatasetManager
from erasure.data.graph import Graph
from erasure.measures import Evaluator, MeasureContext, OutputStore
from erasure.models import Predictor
from erasure.models.graph import use_graph
from erasure.profiling import peak_memory
from erasure.results import (
    RESULTS_FILE,
    check_writable,
    choose_run_folder,
    write_json_atomic,
)
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
        threads: CPU threads torch may use (``null``: torch's default, one per core). Small
            networks run fastest on 1: more threads only add synchronisation, and on a busy
            machine they can slow training many times over.
        allowed_modules: when set, the only module prefixes (besides erasure, torch and
            torchvision) from which classes named by dotted path may be imported — checked
            before importing. ``--allow-module`` on the command line replaces this list.
    """

    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    output: Optional[str] = None
    paths: list[str] = ()
    threads: Optional[int] = None
    allowed_modules: Optional[list[str]] = None

    def __post_init__(self) -> None:
        at_least("threads", self.threads, 1)


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
            device: str | None = None, allow_modules: Optional[list[str]] = None) -> Plan:
    """Validates a config and builds its components (DESIGN.md rule 1).

    Args:
        config: the plain dict from :func:`erasure.config.load_config` (not modified).
        config_file: where it came from (its folder is where user modules are imported from).
        seed, device: command-line overrides of ``globals``.
        allow_modules: command-line allow-list of module prefixes; replaces
            ``globals.allowed_modules`` (a config cannot widen what its runner allows).

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
    settings = Globals()
    if len(builder.problems) == before:
        try:
            settings = Globals(**kwargs)
        except ValueError as e:
            builder.fail("globals", str(e))
    base_dir = Path(config_file).resolve().parent if config_file else Path.cwd()
    _extend_import_path(base_dir, settings.paths)
    if settings.device == "cuda" and not torch.cuda.is_available():
        builder.fail("globals.device", "device 'cuda' was asked for, but this machine has no CUDA "
                                       "GPU", "Use 'cpu', or 'auto' to take a GPU when there is one.")

    allowed = allow_modules if allow_modules is not None else settings.allowed_modules
    with registry.allowed_modules(allowed):
        return _build(config, builder, settings, resolved_globals, config_file)


def _build(config: dict, builder: Builder, settings: Globals, resolved_globals: dict,
           config_file: str | Path | None) -> Plan:
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
    else:  # the data section has its own problems; still check names against what it writes
        known = _written_names(config.get("data"))
    if known is not None:
        for path, name in builder.partition_refs:
            in_chain = path.startswith("data.parameters.partitions[")
            if name not in known and not (in_chain and isinstance(data, DatasetManager)):
                builder.fail(path, f"unknown partition '{name}'", suggest(name, known, "partitions"))
    builder.raise_if_problems()

    names = _record_names(config["unlearners"])
    gold = sorted({p for c in [*unlearners, *evaluator.measures] for p in c.gold_partitions()})
    return Plan(settings, data, predictor, unlearners, names, evaluator, resolved,
                Path(config_file).resolve() if config_file else None, gold)


def _written_names(node: Any) -> set[str] | None:
    """The partition names a (possibly invalid) data section writes, or None if unreadable."""
    try:
        splitters = node["parameters"]["partitions"]
        return {"all"} | {n for s in splitters for n in s["parameters"]["parts_names"]}
    except (KeyError, TypeError):
        return None


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


class Session:
    """One run of a plan, stage by stage: :meth:`load_data`, :meth:`train_models`, then
    :meth:`unlearn` per unlearner. :func:`run` drives it and writes results; tests drive it
    directly.

    Attributes:
        data: the loaded data (after :meth:`load_data`).
        original: the trained original, frozen: no unlearner ever touches it.
        golds: the retrained gold model per retain partition, shared by every user.
        timings: seconds per stage.
    """

    def __init__(self, plan: Plan, device: torch.device | str | None = None) -> None:
        self.plan = plan
        self.seed = plan.settings.seed
        self.device = torch.device(device) if device else resolve_device(plan.settings.device)
        if plan.settings.threads:
            torch.set_num_threads(plan.settings.threads)
        self.timings: dict[str, float] = {}
        self.data: Data | None = None
        self.original: nn.Module | None = None
        self.golds: dict[str, nn.Module] = {}
        #: graphs after deleting samples, by the deleted ids (shared by the models that use one)
        self._graphs: dict[str, Graph] = {}
        self._original_outputs: OutputStore | None = None
        self._gold_outputs: dict[str, OutputStore] = {}
        self._shared: dict[str, Any] = {}
        #: the keys of the shared objects built so far, in order (each is built once)
        self.shared_builds: list[str] = []
        #: how many times each model was trained (the original and each gold model: once)
        self.trainings: dict[str, int] = {}

    def load_data(self) -> Data:
        """Loads the data and checks it against the unlearners (before any training)."""
        tick = time.perf_counter()
        self.data = self.plan.data.load(self.seed, self.device)
        self.timings["load_data"] = time.perf_counter() - tick
        check_data(self.plan, self.data)
        log.info("data: %s on %s", self.data.sizes(), self.device)
        return self.data

    def train_models(self) -> None:
        """Trains the original and every gold model an unlearner needs, each from its own
        seeded stream."""
        self.original = self._train("train_original", self.plan.predictor.training_set, ("original",))
        for partition in self.plan.gold_partitions:
            key = "retrain" if len(self.plan.gold_partitions) == 1 else f"retrain.{partition}"
            self.golds[partition] = self._train(key, partition, ("gold", partition))
        self._reset_outputs()

    def _reset_outputs(self) -> None:
        self._original_outputs = OutputStore(self.original, self.data)
        self._gold_outputs = {p: OutputStore(m, self.data) for p, m in self.golds.items()}

    def shared(self, key: str, build: Callable[[], Any]) -> Any:
        """The experiment-wide object for ``key``, built once from a stream seeded by the key."""
        if key not in self._shared:
            with seeded(self.seed, "shared", key):
                self._shared[key] = build()
            self.shared_builds.append(key)
        return self._shared[key]

    def fork(self, plan: Plan) -> "Session":
        """A session that reuses this one's loaded data and trained models (read-only) under
        another plan — other unlearners or measures over the same data, predictor and seed —
        with its own store of shared objects."""
        other = copy.copy(self)
        other.plan = plan
        other._shared, other.shared_builds = {}, []
        return other

    def _train(self, label: str, partition: str, stream: tuple) -> nn.Module:
        log.info("training %s on '%s'", label, partition)
        with seeded(self.seed, "init", *stream):
            model = self.plan.predictor.new_model(self.data, self._training_graph(partition))
        tick = time.perf_counter()
        with seeded(self.seed, "fit", *stream):
            self.plan.predictor.train(model, self.data, partition,
                                      generator(self.seed, "batches", *stream))
        self.timings[label] = time.perf_counter() - tick
        self.trainings[label] = self.trainings.get(label, 0) + 1
        return model.eval().requires_grad_(False)

    def _training_graph(self, partition: str) -> Graph | None:
        """For graph data, the graph a model trained on ``partition`` may see: the whole graph
        without the training samples left out of ``partition`` (the gold model trained on the
        retain set never sees a forgotten node through message passing)."""
        if self.data.graph is None:
            return None
        training = self.data[self.plan.predictor.training_set]
        return self._graph_without(training[~torch.isin(training, self.data[partition])])

    def _graph_without(self, removed: torch.Tensor) -> Graph:
        key = hashlib.sha256(removed.cpu().numpy().tobytes()).hexdigest()
        if key not in self._graphs:
            self._graphs[key] = self.data.graph.without(removed)
        return self._graphs[key]

    def _gold_copy(self, partition: str) -> nn.Module:
        # trainable, like the copy of the original every unlearner gets (a later cascade step
        # may train it); the shared gold model itself stays frozen
        return copy.deepcopy(self.golds[partition]).requires_grad_(True)

    def unlearn(self, index: int) -> dict[str, Any]:
        """Runs unlearner ``index`` on its own copy of the original and measures the result.

        Returns:
            The record: name, resolved config, status (``finished``/``failed``), error, metrics
            and failed measures.
        """
        name, unlearner = self.plan.names[index], self.plan.unlearners[index]
        record: dict[str, Any] = {"name": name, "config": unlearner.config, "status": "finished",
                                  "error": None, "metrics": {}, "failed_measures": {},
                                  "not_applicable": {}}
        # the stream depends on what the unlearner is, never on its position in the list
        useed = derive_seed(self.seed, "unlearner", json.dumps(unlearner.config, sort_keys=True))
        model = copy.deepcopy(self.original).requires_grad_(True)
        if self.data.graph is not None:
            # the deletion request removes the forgotten nodes' edges from the graph the
            # unlearned model serves on, as for the gold model; the weights are the unlearner's job
            use_graph(model, self._graph_without(self.data[unlearner.ref_data_forget]))
        ctx = UnlearningContext(data=self.data, predictor=self.plan.predictor,
                                generator=generator(useed), seed=useed,
                                gold=self._gold_copy)
        log.info("unlearner %s", name)
        versions = self.data.versions()
        tick = time.perf_counter()
        try:
            with peak_memory(self.device) as memory, seeded(useed):
                unlearned = unlearner.unlearn(model, ctx)
        except Exception as e:  # recorded, never fatal: the other unlearners still run
            record.update(status="failed", error=f"{type(e).__name__}: {e}")
            log.warning("unlearner %s failed: %s", name, record["error"])
            log.debug("%s", traceback.format_exc())
            unlearned = None
        elapsed = time.perf_counter() - tick
        if self.data.versions() != versions:
            # its numbers cannot be trusted, and the records after it must not see the damage
            record.update(status="failed", error="the unlearner modified the shared data in place "
                                                 "(ctx.data); the data was reloaded for the rest")
            log.warning("unlearner %s modified the shared data; reloading it", name)
            self.data = self.plan.data.load(self.seed, self.device)
            self._graphs.clear()
            self._reset_outputs()
        if record["status"] == "failed":
            return record
        if not isinstance(unlearned, nn.Module):
            record.update(status="failed", error=f"unlearn() returned {type(unlearned).__name__}, "
                                                 "not a torch.nn.Module")
            return record
        unlearned.eval()
        timings = {k: v for k, v in self.timings.items() if k.startswith(("train_original", "retrain"))}
        timings["unlearn"] = elapsed
        measure_ctx = MeasureContext(
            data=self.data, models={"original": self.original, "unlearned": unlearned},
            outputs={"original": self._original_outputs,
                     "unlearned": OutputStore(unlearned, self.data)},
            golds=self.golds, gold_outputs=self._gold_outputs, timings=timings,
            memory=memory, predictor=self.plan.predictor, shared=self.shared)
        record["metrics"], record["failed_measures"], record["not_applicable"] = \
            self.plan.evaluator.evaluate(measure_ctx, self.seed, name)
        return record


class Interrupted(BaseException):
    """The run was stopped by SIGINT or SIGTERM. The results file on disk is valid JSON with
    status ``interrupted``, every finished record, and the names of the missing ones.

    Attributes:
        signal_name: ``SIGINT`` or ``SIGTERM``.
        results: the results file, or None when the run stopped before writing one.
        exit_status: the conventional status of a process ended by that signal (130 or 143).
    """

    def __init__(self, signal_name: str, results: Path | None = None) -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name
        self.results = results
        self.exit_status = 128 + int(getattr(signal, signal_name))


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread while the run goes on."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(number: int, frame: Any) -> None:
        raise Interrupted(signal.Signals(number).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def run(plan: Plan, *, output: str | Path | None = None, overwrite: bool = False) -> Path:
    """Runs a prepared experiment and writes its results.

    Every finished record is written at once (atomically), so an interrupted run keeps what it
    finished. A failing unlearner or measure is recorded with its reason and the rest go on.

    Returns:
        The path of the results file.

    Raises:
        ConfigError: the output folder is not writable, or the data fails a check (before any
            training).
        Interrupted: SIGINT or SIGTERM arrived; the results file (if one was started) is
            complete JSON with status ``interrupted`` and the missing records listed.
    """
    started = time.perf_counter()
    folder = Path(output) if output else default_output(plan.config_file, plan.settings)
    reason = check_writable(folder)
    if reason:
        raise ConfigError.single("globals.output", f"cannot write results: {reason}")
    folder = choose_run_folder(folder, overwrite)
    results = folder / RESULTS_FILE
    document: dict[str, Any] | None = None
    with _signals_as_interrupts():
        try:
            session = Session(plan)
            data = session.load_data()
            session.train_models()
            document = {
                "erasure_version": __version__,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "status": "running",
                "config_file": str(plan.config_file) if plan.config_file else None,
                "config": plan.resolved,
                "seed": plan.settings.seed,
                "device": str(session.device),
                "versions": versions(),
                "partitions": data.sizes(),
                "timings": session.timings,
                "records": [],
            }
            write_json_atomic(results, document)
            log.info("writing results to %s", results)
            for index in range(len(plan.unlearners)):
                record = session.unlearn(index)
                document["records"].append(record)
                write_json_atomic(results, document)
        except Interrupted as e:
            if document is None:
                raise
            done = {r["name"] for r in document["records"]}
            document.update(status="interrupted", interrupted_by=e.signal_name,
                            missing_records=[n for n in plan.names if n not in done])
            write_json_atomic(results, document)
            log.warning("%s: stopped after %d of %d records; results so far in %s",
                        e, len(done), len(plan.names), results)
            raise Interrupted(e.signal_name, results) from None
        session.timings["total"] = time.perf_counter() - started
        document["status"] = "finished"
        write_json_atomic(results, document)
    return results
