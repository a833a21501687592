"""The pipeline: validate → load data → train the original → each unlearner → measures → results.

:func:`prepare` turns a config dict into built components, finding every problem before any work.
:func:`erasure.runner.run` carries out a prepared plan and writes the results document.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Union

import torch
from torch import nn

from erasure import __version__
from erasure.cache import ModelCache, cache_folder, cache_key
from erasure.config import (
    Builder,
    ConfigError,
    Problem,
    Slot,
    copy_config,
    registry,
    suggest,
    sweeps,
)
from erasure.config.checks import ParameterValueError, at_least
from erasure.data import Data, DatasetManager
from erasure.data.graph import Graph
from erasure.logs import log_failure, user_errors
from erasure.measures import Evaluator, MeasureContext, Memos, OutputStore
from erasure.models import Predictor, acceleration
from erasure.models.graph import use_graph
from erasure.profiling import peak_memory
from erasure.seeding import derive_seed, generator, seeded
from erasure.unlearners import Unlearner, UnlearningContext

log = logging.getLogger(__name__)

SECTIONS = ("globals", "data", "predictor", "unlearners", "evaluator")


#: more CPU threads than any machine has (torch refuses absurd counts with a traceback)
MAX_THREADS = 4096


@dataclass(kw_only=True)
class Globals:
    """Settings shared by the whole experiment (the config's ``globals`` section).

    Args:
        seed: drives every random choice (splits, initialisation, batch order, attacks).
        device: ``cpu``, ``cuda``, or ``auto`` (cuda when available).
        output: results folder, relative to the config file (default
            ``output/<config file name>`` in the working folder); ``--output`` (relative to the
            working folder) overrides it.
        paths: folders, relative to the config file, from which your own modules are imported
            (the config file's own folder always is).
        threads: CPU threads torch may use (``null``: torch's default, one per core). Small
            networks run fastest on 1: more threads only add synchronisation, and on a busy
            machine they can slow training many times over.
        allowed_modules: when set, the only module prefixes (besides erasure, torch and
            torchvision) from which classes named by dotted path may be imported — checked
            before importing. ``--allow-module`` on the command line replaces this list.
        seeds: run the whole experiment once per seed (overrides ``seed``); the summary
            aggregates over them (mean, standard deviation, 95% confidence interval).
        cache: reuse trained originals and gold models from the model cache (see
            :mod:`erasure.cache`); results say which model came from it.
        cache_dir: the cache folder, relative to the config file (``--cache-dir`` wins; else
            ``$ERASURE_CACHE_DIR``; else ``~/.cache/erasure/models``).
        precision: ``fp32`` (default) or ``bf16``: every network's forward runs under bf16
            autocast, its outputs cast back to fp32 (see :mod:`erasure.models.acceleration`).
        channels_last: store convolution weights and image data channels-last (NHWC): ``true``,
            ``false``, or ``auto`` (default): weights only, on a CPU, where checked safe (see
            :func:`erasure.models.acceleration.channels_last_for`).
        compile: run every network through ``torch.compile`` (falls back, with a warning,
            where compiling does not work).
    """

    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    output: Optional[str] = None
    paths: list[str] = ()
    threads: Optional[int] = None
    allowed_modules: Optional[list[str]] = None
    seeds: Optional[list[int]] = None
    cache: bool = True
    cache_dir: Optional[str] = None
    # hardware settings (erasure.models.acceleration); all off: bit-identical to not having them
    # (channels_last's default, auto, is on for a CPU)
    precision: Literal["fp32", "bf16"] = "fp32"
    channels_last: Union[bool, Literal["auto"]] = "auto"
    compile: bool = False

    def __post_init__(self) -> None:
        at_least("threads", self.threads, 1)
        if self.threads is not None and self.threads > MAX_THREADS:
            raise ParameterValueError("threads", f"threads must be at most {MAX_THREADS}, "
                                                 f"got {self.threads}")
        if self.seeds is not None:
            if not self.seeds:
                raise ParameterValueError("seeds", "seeds must list at least one seed")
            if len(set(self.seeds)) != len(self.seeds):
                raise ParameterValueError("seeds", f"seeds must differ, got {self.seeds}")
        for name in ("output", "cache_dir", "paths"):
            value = getattr(self, name)
            for folder in [value] if isinstance(value, str) else value or ():
                if "\0" in folder:
                    raise ParameterValueError(name, f"{name}: {folder!r} holds a NUL byte, which "
                                                    "no file system accepts in a name")

    def all_seeds(self) -> list[int]:
        return list(self.seeds) if self.seeds is not None else [self.seed]

    #: settings that never change what a model learns (left out of cache keys)
    NOT_TRAINING = ("seed", "seeds", "output", "paths", "threads", "allowed_modules", "cache",
                    "cache_dir")


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
            device: str | None = None, allow_modules: Optional[list[str]] = None,
            seeds: Optional[list[int]] = None, cache_dir: Optional[str] = None) -> Plan:
    """Validates a config and builds its components (DESIGN.md rule 1).

    Args:
        config: the plain dict from :func:`erasure.config.load_config` (not modified).
        config_file: where it came from (its folder is where user modules are imported from).
        seed, device, seeds, cache_dir: command-line overrides of ``globals`` (``seed``
            replaces the config's ``seeds`` too).
        allow_modules: command-line allow-list of module prefixes; replaces
            ``globals.allowed_modules`` (a config cannot widen what its runner allows).

    Raises:
        ConfigError: every problem found, each with its place in the config.
    """
    if not isinstance(config, dict):
        raise ConfigError.single("", f"a config is an object, not {type(config).__name__}")
    config = copy_config(config)
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
        raw_globals.pop("seeds", None)
    if seeds is not None:
        raw_globals["seeds"] = seeds
    if cache_dir is not None:  # relative to where the command runs, not to the config
        raw_globals["cache_dir"] = str(Path(cache_dir).expanduser().resolve())
    if device is not None:
        raw_globals["device"] = device
    before = len(builder.problems)
    kwargs, resolved_globals = builder.parameters(Globals, raw_globals, "globals")
    settings = Globals()
    if len(builder.problems) == before:
        try:
            settings = Globals(**kwargs)
        except ValueError as e:
            builder.fail(f"globals.{getattr(e, 'parameter', '')}".rstrip("."), str(e))
    base_dir = Path(config_file).resolve().parent if config_file else Path.cwd()
    folders = [base_dir, *((base_dir / p).resolve() for p in settings.paths)]
    if settings.device == "cuda" and not torch.cuda.is_available():
        builder.fail("globals.device", "device 'cuda' was asked for, but this machine has no CUDA "
                                       "GPU", "Use 'cpu', or 'auto' to take a GPU when there is one.")

    allowed = allow_modules if allow_modules is not None else settings.allowed_modules
    with registry.allowed_modules(allowed), registry.user_folders(folders):
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
    try:
        raw_unlearners, origins, suffixes = sweeps.expand(raw_unlearners)
    except ConfigError as e:
        builder.problems.extend(e.problems)
        raw_unlearners, origins, suffixes = [], [], []
    for node, where in zip(raw_unlearners, origins):
        built, shown = builder.component(node, Slot(Unlearner, lazy=False), where)
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
    builder.problems[:] = list(dict.fromkeys(builder.problems))  # sweep points repeat theirs
    builder.raise_if_problems()

    names = _record_names(raw_unlearners, suffixes)
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


def _record_names(nodes: list[dict], suffixes: list[str]) -> list[str]:
    """A record name per unlearner: its ``name`` or its class's short name, then its sweep point
    (``Finetuning[epochs=5]``); repeats get ``#2``…"""
    names, seen = [], {}
    for node, suffix in zip(nodes, suffixes):
        base = (node.get("name") or str(node["class"]).rsplit(".", 1)[-1]) + suffix
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return names


def default_output(config_file: Path | None, settings: Globals) -> Path:
    """``globals.output`` (relative to the config file, like includes and ``globals.paths``), else
    ``output/<config name>`` in the working folder."""
    if settings.output:
        return config_path(config_file, settings.output)
    stem = config_file.stem if config_file else "experiment"
    return Path("output") / stem


def config_path(config_file: Path | None, value: str) -> Path:
    """A path written in a config: ``~`` expanded, relative to the config file's folder (to the
    working folder for a config that is not a file)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() or config_file is None else Path(config_file).parent / path


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
        elif len(forget) and torch.isin(forget, retain).any():
            shared = int(torch.isin(forget, retain).sum())
            problems.append(Problem(f"{where}.ref_data_retain",
                                    f"{shared} samples are in both the forget set "
                                    f"'{unlearner.ref_data_forget}' and the retain set "
                                    f"'{unlearner.ref_data_retain}'",
                                    "A sample is either forgotten or kept: use the two parts of "
                                    "one split."))
        for i, step in enumerate(getattr(unlearner, "unlearners", ())):
            visit(step, f"{where}.unlearners[{i}]")

    for i, unlearner in enumerate(plan.unlearners):
        visit(unlearner, f"unlearners[{i}]")
    if problems:
        raise ConfigError(problems)


def not_finite(model: nn.Module) -> list[str]:
    """The names of ``model``'s floating-point parameters and buffers holding NaN or infinity."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    return [n for n, t in tensors if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def _accelerated(stage: Callable) -> Callable:
    """Runs a :class:`Session` stage with the session's hardware settings active (bf16,
    channels-last, compile: :mod:`erasure.models.acceleration`), so that every network built and
    every forward pass in it, the unlearners' and the measures' own included, uses them."""
    @functools.wraps(stage)
    def accelerated(self: "Session", *args, **kwargs):
        with acceleration.using(self.acceleration):
            return stage(self, *args, **kwargs)
    return accelerated


class Session:
    """One run of a plan, stage by stage: :meth:`load_data`, :meth:`train_models`, then
    :meth:`unlearn` per unlearner. :func:`erasure.runner.run` drives it and writes results; tests
    drive it directly.

    Attributes:
        data: the loaded data (after :meth:`load_data`).
        original: the trained original, frozen: no unlearner ever touches it.
        golds: the retrained gold model per retain partition, shared by every user.
        timings: this run's seconds per stage (a model from the cache: its loading).
        trained_seconds: what training the original and each gold model took (cached or not);
            runtime measures report these.
    """

    def __init__(self, plan: Plan, device: torch.device | str | None = None) -> None:
        self.plan = plan
        self.seed = plan.settings.seed
        self.device = torch.device(device) if device else resolve_device(plan.settings.device)
        if plan.settings.threads:
            torch.set_num_threads(plan.settings.threads)
        #: hardware settings in force for every stage (compile dropped where it cannot work)
        self.acceleration = acceleration.resolve(acceleration.Acceleration(
            precision=plan.settings.precision,
            channels_last=acceleration.channels_last_for(plan.settings.channels_last, self.device),
            compile=plan.settings.compile), self.device)
        self.timings: dict[str, float] = {}
        #: seconds the original and each gold model took to train (when first trained, for a
        #: model from the cache; ``timings`` holds this run's seconds, loading included)
        self.trained_seconds: dict[str, float] = {}
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
        settings = plan.settings
        chosen = config_path(plan.config_file, settings.cache_dir) if settings.cache_dir else None
        self.cache = ModelCache(cache_folder(config=chosen)) if settings.cache else None
        #: per trained model ("original", "gold.retain"): whether it came from the cache, its key
        self.models: dict[str, dict[str, Any]] = {}
        self._data_fingerprint: str | None = None

    @_accelerated
    def load_data(self) -> Data:
        """Loads the data and checks it against the unlearners (before any training)."""
        tick = time.perf_counter()
        # taken before reading: a file edited while loading then misses the cache next time
        self._data_fingerprint = self.plan.data.DataSource.fingerprint()
        self.data = self._read_data()
        self.timings["load_data"] = time.perf_counter() - tick
        check_data(self.plan, self.data)
        log.info("data: %s on %s", self.data.sizes(), self.device)
        return self.data

    def _read_data(self) -> Data:
        """The samples and partitions on the device, laid out for the hardware settings."""
        return acceleration.prepare_data(self.plan.data.load(self.seed, self.device),
                                         self.acceleration)

    @_accelerated
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
        with seeded(self.seed, "init", *stream):
            model = self.plan.predictor.new_model(self.data, self._training_graph(partition))
        name = ".".join(stream)
        key = self._cache_key(partition, stream)
        tick = time.perf_counter()
        cached = self.cache.load(key, model) if self.cache else None
        if cached is not None:
            log.info("%s on '%s': from the cache (%s)", label, partition, key[:12])
            self.timings[label] = time.perf_counter() - tick  # this run's cost: the loading
            self.trained_seconds[label] = cached["seconds"]
        else:
            log.info("training %s on '%s'", label, partition)
            tick = time.perf_counter()
            with seeded(self.seed, "fit", *stream):
                self.plan.predictor.train(model, self.data, partition,
                                          generator(self.seed, "batches", *stream), label=label)
            self.timings[label] = self.trained_seconds[label] = time.perf_counter() - tick
            self.trainings[label] = self.trainings.get(label, 0) + 1
            if self.cache:
                self.cache.store(key, model, {"seconds": self.timings[label], "model": name,
                                              "partition": partition, "seed": self.seed})
        self.models[name] = {"cached": cached is not None, "key": key,
                             "seconds": self.timings[label],
                             "trained_seconds": self.trained_seconds[label]}
        return model.eval().requires_grad_(False)

    def _cache_key(self, partition: str, stream: tuple) -> str:
        """Everything that determines a trained model (and nothing that does not)."""
        resolved = self.plan.resolved
        settings = {k: v for k, v in resolved.get("globals", {}).items()
                    if k not in Globals.NOT_TRAINING and k != "device"}
        return cache_key({"data": resolved.get("data"), "files": self._data_fingerprint,
                          "predictor": resolved.get("predictor"),
                          "globals": settings, "device": self.device.type, "seed": self.seed,
                          "partition": partition, "model": list(stream)})

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

    @_accelerated
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
        except user_errors() as e:  # recorded, never fatal: the other unlearners still run
            record.update(status="failed", error=log_failure(log, f"unlearner {name}", e))
            unlearned = None
        elapsed = time.perf_counter() - tick
        if self.data.versions() != versions:
            # its numbers cannot be trusted, and the records after it must not see the damage
            record.update(status="failed", error="the unlearner modified the shared data in place "
                                                 "(ctx.data); the data was reloaded for the rest")
            log.warning("unlearner %s modified the shared data; reloading it", name)
            self.data = self._read_data()
            self._graphs.clear()
            self._reset_outputs()
        if record["status"] == "failed":
            return record
        if not isinstance(unlearned, nn.Module):
            record.update(status="failed", error=f"unlearn() returned {type(unlearned).__name__}, "
                                                 "not a torch.nn.Module")
            return record
        broken = not_finite(unlearned)
        if broken:
            record.update(status="failed", error=f"the weights are not finite (NaN or infinite) "
                                                 f"in {', '.join(broken[:3])}"
                                                 f"{' …' if len(broken) > 3 else ''}")
            log.warning("unlearner %s failed: %s", name, record["error"])
            return record
        unlearned.eval()
        # what training the models cost, cached or not, so that runtime measures (RTE's
        # t_unlearn / t_retrain) do not depend on the cache
        timings = {**self.trained_seconds, "unlearn": elapsed}
        measure_ctx = MeasureContext(
            data=self.data, models={"original": self.original, "unlearned": unlearned},
            outputs={"original": self._original_outputs,
                     "unlearned": OutputStore(unlearned, self.data)},
            golds=self.golds, gold_outputs=self._gold_outputs, timings=timings,
            memory=memory, predictor=self.plan.predictor, experiment_seed=self.seed,
            memos=Memos(experiment=self.shared))
        record["metrics"], record["failed_measures"], record["not_applicable"] = \
            self.plan.evaluator.evaluate(measure_ctx, name)
        return record
