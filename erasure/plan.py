"""A config, validated and built: what to run.

:func:`prepare` turns a config dict into a :class:`Plan` — every component built, every problem
found before any work; :func:`check_data` checks the plan against the loaded data, before any
training. Running a plan is :mod:`erasure.experiment` (one seed, stage by stage) and
:mod:`erasure.runner` (every seed, the results file). Command-line flags reach a plan as config
overrides (:mod:`erasure.config.overrides`), never as arguments of :func:`prepare`.
"""
from __future__ import annotations

import contextlib
import importlib
import platform
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal, Optional, Union

import torch

from erasure import __version__
from erasure.config import (INVALID, Builder, ConfigError, Problem, Slot, copy_config, registry,
                            suggest, sweeps)
from erasure.config.checks import ParameterValueError, Pattern, Positive, Range, at_least
from erasure.data import Data, DatasetManager
from erasure.measures import Evaluator
from erasure.models import Predictor
from erasure.models.checkpoint import Checkpoint, read_checkpoint
from erasure.tuning import settings as tuning_settings
from erasure.tuning.settings import TuningPlan
from erasure.unlearners import Unlearner

SECTIONS = ("globals", "data", "predictor", "unlearners", "evaluator")
#: a top-level key naming the config's JSON Schema, for editors (``python main.py schema``):
#: accepted beside the sections and ignored
SCHEMA_KEY = "$schema"


#: the devices a config may name: ``cuda:N`` is the GPU of index N
DEVICE = Pattern(r"^(auto|cpu|cuda|cuda:\d+|mps)$", "'auto' | 'cpu' | 'cuda' | 'cuda:N' | 'mps'")

#: more CPU threads than any machine has (torch refuses absurd counts with a traceback)
MAX_THREADS = 4096


@dataclass(kw_only=True)
class Globals:
    """Settings shared by the whole experiment (the config's ``globals`` section).

    Args:
        seed: drives every random choice (splits, initialisation, batch order, attacks).
        device: ``auto`` (default: cuda when available, else cpu), ``cpu``, ``cuda`` (the current
            GPU), ``cuda:N`` (the GPU of index N) or ``mps`` (Apple's GPU); one this machine does
            not have is a config error that names those it has (:func:`device_problem`).
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
        tune: ``true`` tunes every unlearner that has something to tune (its ``"tune"`` block,
            else the defaults), ``false`` none, ``null`` (default) each as its entry says —
            ``--tune`` / ``--no-tune`` (:mod:`erasure.tuning`).
        executor: ``local`` (default: every record in this process, one after another) or
            ``ray``: one Ray task per seed's models and per record, on a Ray cluster
            (:mod:`erasure.execution`; needs ``erasure[ray]``) — ``--executor``. The records are
            the same either way, bit for bit with the same ``threads``.
        address: the Ray cluster to join (``auto``, or ``host:port``); ``null`` (default)
            starts a local Ray instance sized to this machine — ``--address``. Only the ``ray``
            executor reads it.
        num_cpus, num_gpus: what each Ray task reserves (default 1 CPU, no GPU; fractions pack
            several tasks on one GPU). A task's torch uses ``num_cpus`` threads unless
            ``threads`` says otherwise.
        save_models: ``none`` (default), ``unlearned`` (each finished record's unlearned model)
            or ``all`` (also each seed's original and gold models): written as safetensors with
            a JSON beside them under ``models/seed-<seed>/`` in the run folder
            (:mod:`erasure.saving`), for ``python main.py evaluate RUN_DIR`` to measure again.
            Changes no number: a resumed run may change it.
    """

    seed: int = 0
    device: Annotated[str, DEVICE] = "auto"
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
    tune: Optional[bool] = None
    # where the work runs (erasure.execution); none of these changes a record
    executor: Literal["local", "ray"] = "local"
    address: Optional[str] = None
    num_cpus: Positive = 1
    num_gpus: Annotated[float, Range(ge=0)] = 0
    # what the run keeps besides the results (erasure.saving); changes no record's numbers
    save_models: Literal["none", "unlearned", "all"] = "none"

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
                    "cache_dir", "tune", "executor", "address", "num_cpus", "num_gpus",
                    "save_models")


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
    #: per unlearner: its checked tune block, or None when it runs as configured
    tuning: list[Optional[TuningPlan]] = field(default_factory=list)
    #: where user classes may come from (:mod:`erasure.config.registry`), for components built
    #: after :func:`prepare` (a tuning trial's unlearner: :meth:`build_unlearner`)
    allowed_modules: Optional[list[str]] = None
    user_folders: list[Path] = field(default_factory=list)
    #: the config as given to :func:`prepare` (overrides applied): preparing it again, in
    #: another process, builds this plan (:mod:`erasure.execution`)
    source: dict = field(default_factory=dict)
    #: per unlearner: its sweep point ``{path as written in the sweep: value}``, None outside
    #: sweeps; its record carries it as ``"sweep"`` (:func:`erasure.execution.units.run_record`)
    sweep_points: list[Optional[dict]] = field(default_factory=list)
    #: the predictor's checkpoint, read (its path resolved against the config file): the
    #: original of every session, instead of training one; None when the original is trained
    checkpoint: Optional[Checkpoint] = None

    def sweep_point(self, index: int) -> Optional[dict]:
        """A copy of unlearner ``index``'s sweep point (None outside sweeps)."""
        point = self.sweep_points[index] if index < len(self.sweep_points) else None
        return copy_config(point) if point is not None else None

    def build_unlearner(self, config: dict, where: str) -> Unlearner:
        """Builds an unlearner from a (resolved) config, as :func:`prepare` did.

        Raises:
            ConfigError: a value the unlearner refuses.
        """
        builder = Builder()
        with registry.allowed_modules(self.allowed_modules), \
                registry.user_folders(self.user_folders):
            built, _ = builder.component(config, Slot(Unlearner, lazy=False), where)
        builder.raise_if_problems()
        return built


def prepare(config: dict, *, config_file: str | Path | None = None) -> Plan:
    """Validates a config and builds its components (ARCHITECTURE.md, rule 1).

    Args:
        config: the plain dict from :func:`erasure.config.load_config` (not modified), with any
            overrides already applied (:func:`erasure.config.overrides.apply_overrides`: how the
            command line's ``--set``, ``--seed``, ``--device``… reach a plan).
        config_file: where it came from (its folder is where user modules are imported from).

    Raises:
        ConfigError: every problem found, each with its place in the config.
    """
    if not isinstance(config, dict):
        raise ConfigError.single("", f"a config is an object, not {type(config).__name__}")
    config = copy_config(config)
    builder = Builder()
    for key in config:
        if key not in SECTIONS and key != SCHEMA_KEY:
            builder.fail(str(key), f"unknown section '{key}'", suggest(str(key), SECTIONS, "sections"))
    for key in SECTIONS[1:]:
        if key not in config:
            builder.fail(key, f"missing section '{key}'")

    raw_globals = config.get("globals", {})
    globals_broken = not isinstance(raw_globals, dict)
    if globals_broken:
        builder.fail("globals", f"'globals' must be an object, not {type(raw_globals).__name__}")
        raw_globals = {}
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
    if settings.executor == "ray":
        try:  # an optional dependency, imported only when asked for
            importlib.import_module("ray")
        except ImportError as e:
            builder.fail("globals.executor", f"the 'ray' executor needs Ray, which cannot be "
                                             f"imported here ({e})",
                         "Install it with: pip install 'erasure[ray]' (or use --executor local).")
    device = kwargs.get("device", settings.device)
    if isinstance(device, str) and (problem := device_problem(device)):
        builder.fail("globals.device", *problem)

    # globals with a problem elsewhere still keep their allow-list, and globals that are not an
    # object (where --allow-module could not be applied) allow only the framework's own modules
    allowed = [] if globals_broken else kwargs.get("allowed_modules", settings.allowed_modules)
    with registry.allowed_modules([] if allowed is INVALID else allowed), \
            registry.user_folders(folders), _optimizers_checked_without_dynamo():
        plan = _build(config, builder, settings, resolved_globals, config_file)
    plan.allowed_modules, plan.user_folders = [] if allowed is INVALID else allowed, folders
    plan.source = config
    if plan.checkpoint is not None and config_file is None:
        # the path is relative to this working folder: a worker rebuilding the plan from the
        # source (the ray executor) may have another, so it gets the path as resolved here
        config["predictor"]["parameters"] = {**config["predictor"]["parameters"],
                                             "checkpoint": str(plan.checkpoint.path)}
    return plan


@contextlib.contextmanager
def _optimizers_checked_without_dynamo() -> Iterator[None]:
    """Within the block, building an optimizer does not import ``torch._dynamo``.

    The builder builds each optimizer once on a stand-in parameter, so that torch's own checks
    ("Invalid learning rate") run before any work. ``Optimizer.add_param_group`` is wrapped by
    ``torch._disable_dynamo``, which imports ``torch._dynamo`` (about a second and 150 MB, most
    of ``--validate``) on its first call and caches the disabled function on the wrapped one;
    seeding that cache with the function itself skips the import and nothing else, since no
    code is being compiled here. The seed is removed afterwards, so training disables dynamo as
    torch means it to. Where torch is laid out otherwise, or dynamo is already imported, this
    does nothing.
    """
    wrapped = getattr(torch.optim.Optimizer.add_param_group, "__wrapped__", None)
    seeded = (wrapped is not None and "torch._dynamo" not in sys.modules
              and getattr(wrapped, "__dynamo_disable", None) is None)
    if seeded:
        setattr(wrapped, "__dynamo_disable", wrapped)
    try:
        yield
    finally:
        if seeded and getattr(wrapped, "__dynamo_disable", None) is wrapped:
            delattr(wrapped, "__dynamo_disable")


def _build(config: dict, builder: Builder, settings: Globals, resolved_globals: dict,
           config_file: str | Path | None) -> Plan:
    resolved: dict[str, Any] = {"globals": resolved_globals}
    data = predictor = evaluator = None
    if "data" in config:
        data, resolved["data"] = builder.component(config["data"], Slot(DatasetManager, lazy=False), "data")
    if "predictor" in config:
        predictor, resolved["predictor"] = builder.component(
            config["predictor"], Slot(Predictor, lazy=False), "predictor")
    checkpoint = None
    if isinstance(predictor, Predictor) and predictor.checkpoint is not None:
        try:  # read here, so that a missing or unsafe file stops the run before any work
            checkpoint = read_checkpoint(config_path(
                Path(config_file).resolve() if config_file else None,
                predictor.checkpoint).absolute())
        except ConfigError as e:
            builder.problems.extend(e.problems)
    unlearners: list = []
    raw_unlearners = config.get("unlearners", [])
    if not isinstance(raw_unlearners, list) or ("unlearners" in config and not raw_unlearners):
        builder.fail("unlearners", "'unlearners' must be a non-empty list of components")
        raw_unlearners = []
    resolved["unlearners"] = []
    try:
        raw_unlearners, origins, suffixes, points = sweeps.expand(raw_unlearners)
    except ConfigError as e:
        builder.problems.extend(e.problems)
        raw_unlearners, origins, suffixes, points = [], [], [], []
    tune_blocks = []
    for node, where in zip(raw_unlearners, origins):
        if isinstance(node, dict):  # checked with the evaluator, below
            node = dict(node)
            tune_blocks.append(node.pop("tune", None))
        else:
            tune_blocks.append(None)
        built, shown = builder.component(node, Slot(Unlearner, lazy=False), where)
        unlearners.append(built)
        resolved["unlearners"].append(shown)
    if "evaluator" in config:
        evaluator, resolved["evaluator"] = builder.component(
            config["evaluator"], Slot(Evaluator, lazy=False), "evaluator")
    for unlearner, where in zip(unlearners, origins):
        if unlearner is not INVALID and isinstance(evaluator, Evaluator):
            _check_curve(builder, unlearner, where, evaluator)
    tuning = []
    for i, (raw, where) in enumerate(zip(tune_blocks, origins)):
        unlearner = unlearners[i]
        planned = None if unlearner is INVALID else tuning_settings.check(
            builder, raw, unlearner, resolved["unlearners"][i], where, evaluator, settings.tune,
            Path(config_file).resolve() if config_file else None)
        tuning.append(planned)
        if raw is not None:  # in the resolved config (resume compares it), not the record's
            resolved["unlearners"][i] = {**resolved["unlearners"][i], "tune": raw}

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
                Path(config_file).resolve() if config_file else None, gold, tuning,
                sweep_points=points, checkpoint=checkpoint)


def _check_curve(builder: Builder, unlearner: Unlearner, where: str, evaluator: Evaluator) -> None:
    """A curve (``evaluate_every``, :mod:`erasure.curves`) follows measures of the evaluator; a
    cascade's steps record none (its record has one curve, of the cascade)."""
    if getattr(unlearner, "evaluate_every", None) is not None:
        measured = sorted({type(m).__name__ for m in evaluator.measures})
        if not unlearner.curve_measures:
            builder.fail(f"{where}.parameters.curve_measures", "a curve needs at least one measure",
                         suggest("", measured, "measures (the evaluator's)"))
        for i, name in enumerate(unlearner.curve_measures):
            if name not in measured:
                builder.fail(f"{where}.parameters.curve_measures[{i}]",
                             f"the curve follows '{name}', which the evaluator does not measure",
                             suggest(name, measured, "measures (the evaluator's, by class name)"))
    for i, step in enumerate(getattr(unlearner, "unlearners", None) or ()):
        if getattr(step, "evaluate_every", None) is not None:
            builder.fail(f"{where}.parameters.unlearners[{i}].parameters.evaluate_every",
                         "a cascade's steps record no curve",
                         "Remove evaluate_every from the step; a cascade records no curve.")


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


def available_devices() -> list[str]:
    """The devices this machine has: ``cpu``, then ``cuda`` and ``cuda:0``… when CUDA is
    available, then ``mps`` when Apple's GPU is."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def device_problem(name: str) -> tuple[str, str] | None:
    """What is wrong with ``globals.device`` = ``name`` on this machine, as ``(message, hint)``:
    a name that is no device, or a device this machine does not have; None when it can run."""
    if re.match(DEVICE.regex, name) is None:
        accepted = ("auto", "cpu", "cuda", "mps")
        hint = suggest("cuda" if name.lower() == "gpu" else name, accepted, "devices")
        return (f"'{name}' is not a device", hint
                + " Or cuda:N, the GPU of index N (cuda:0, cuda:1…).")
    if name in ("auto", "cpu"):
        return None
    available = available_devices()
    here = f"Available here: {', '.join(available)}."
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            return (f"device '{name}' was asked for, but this machine has no CUDA GPU",
                    f"Use 'cpu', or 'auto' to take a GPU when there is one. {here}")
        count = torch.cuda.device_count()
        if ":" in name and int(name.split(":")[1]) >= count:
            gpus = "1 CUDA GPU (cuda:0)" if count == 1 else \
                f"{count} CUDA GPUs (cuda:0 to cuda:{count - 1})"
            return f"device '{name}' was asked for, but this machine has {gpus}", here
        return None
    if "mps" not in available:
        return (f"device '{name}' was asked for, but this machine has no Apple MPS GPU",
                f"Use 'cpu', or 'auto' to take a GPU when there is one. {here}")
    return None


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
    for i, tuning in enumerate(plan.tuning):
        if tuning is not None:
            problems += _validation_problems(tuning, data, plan.predictor.training_set,
                                             plan.unlearners[i])
    if problems:
        raise ConfigError(problems)



def _validation_problems(tuning: TuningPlan, data: Data, training_set: str,
                         unlearner: Unlearner) -> list[Problem]:
    """A tune block's held-out data, checked against the loaded data: a named partition outside
    the training data, or a fraction that leaves samples on both sides."""
    where = f"{tuning.where}.tune.validation"
    training = data[training_set]
    if isinstance(tuning.validation, str):
        overlap = int(torch.isin(data[tuning.validation], training).sum())
        if overlap:
            return [Problem(where, f"{overlap} samples of '{tuning.validation}' are in the "
                                   f"training set '{training_set}': the "
                                   "original has seen them, so they are not held out",
                            "Name a partition outside the training data, or give a fraction "
                            "of it to set aside (e.g. 0.1).")]
        return []
    pool = int((~torch.isin(training, data[unlearner.ref_data_forget])).sum())
    n = round(tuning.validation * pool)
    if not 0 < n < pool:
        return [Problem(where, f"{tuning.validation} of the {pool} training samples outside the "
                               f"forget set is {n}: nothing would be left on one side")]
    return []
