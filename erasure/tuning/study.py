"""Running a tune block: an Optuna study of trials in a stand-in experiment, then the record.

For an unlearner whose entry carries ``"tune"`` (:mod:`erasure.tuning.settings`), each seed:

1. **The stand-in experiment** (once per seed, protocol and validation setting, shared by every
   tuned entry): the held-out data V is a seeded fraction of the training data outside the
   forget set (or a partition the config names, outside the training data); the stand-in's
   original is trained on the training data without V (from the model cache when it can be).
   Its forget set is the evaluated one (``oracle``) or another drawn the way the evaluated one
   was (``held_out``: the splitter that wrote it, run again on the rest; another class for a
   class split), and its gold model is retrained without that forget set and V. Every partition
   outside the training data is V there: the evaluated test data is not in the stand-in at all.
2. **Trials**: each trial builds the unlearner with the values Optuna suggests (seeded TPE: the
   sampler of trial *n* is seeded from the seed, the record and *n*, so a study resumed after an
   interruption draws what an uninterrupted one would), runs it on its own copy of the stand-in
   original and scores it. Trials that fail are recorded with their reason; with the default
   objective a trial reports its accuracy gap after each epoch and the median pruner may stop it.
   The study lives in a SQLite file (``tuning.db`` in the run folder, or ``tune.storage``), so an
   interrupted run resumes its trials and several processes can share one study.
3. **The record**: the unlearner built with the best trial's values runs once on the evaluated
   data, measured like any record, with a ``tuning`` block: protocol, objective, the values
   chosen, the best value, trials run/pruned/failed, the seconds tuning took (the record's own
   runtime is the final run's alone) and every trial's value.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from erasure import progress
from erasure.config import Builder, ConfigError, Slot
from erasure.experiment import Keep, Session
from erasure.measures import Evaluator, Measure, OutputStore
from erasure.seeding import derive_seed, generator
from erasure.unlearners import Unlearner
from erasure.unlearners.base import seed_config

from .settings import AVG_GAP, STUDY_FILE, TuningPlan, objective_measures, with_values

log = logging.getLogger(__name__)

#: the stand-in experiment's held-out partition (every partition outside the training data is it)
VALIDATION = "tuning-validation"
#: random trials before TPE models the results (at most a third of the budget)
STARTUP_TRIALS = 5


class Prune(BaseException):
    """Raised by a trial's per-epoch report to stop it (a BaseException, so that the unlearner's
    own error handling does not record it as a failure)."""


class TrialFailed(Exception):
    """A trial that produced no objective value (its reason is kept in the study)."""


@dataclass
class World:
    """The stand-in experiment of one seed: a session over other partitions, and what the
    record says of it."""

    session: Session
    forget: str
    retain: str
    described: dict[str, Any]


#: a trial's outcome: ("complete", value), ("pruned", None) or ("failed", reason)
Outcome = tuple[str, Any]
#: runs a batch of ``(trial, values)`` of the study (name, file) and gives their outcomes in
#: order — :func:`run_trials` in this process; the ray executor runs each as a Ray task
Trials = Callable[[list[tuple[Any, dict[str, Any]]], str, Path], list[Outcome]]


def tune_and_unlearn(session: Session, index: int, folder: Path,
                     trials: Trials | None = None, keep: Keep | None = None) -> dict[str, Any]:
    """The record of tuned entry ``index``: tuning (``trials`` runs them), then one run with the
    chosen values (its model handed to ``keep``: :meth:`Session.unlearn_with`)."""
    plan = session.plan
    tuning: TuningPlan = plan.tuning[index]
    name = plan.names[index]
    try:
        values, block = tune(session, index, folder, trials)
    except ConfigError as e:
        problem = e.problems[0]
        return _failed(name, plan.unlearners[index], f"tuning: {problem.path}: {problem.message}")
    if values is None:
        record = _failed(name, plan.unlearners[index], block["error"])
        record["tuning"] = block
        return record
    try:
        chosen = plan.build_unlearner(with_values(tuning.base, values), tuning.where)
    except ConfigError as e:  # a study shared with another config may hold such values
        record = _failed(name, plan.unlearners[index],
                         f"tuning: the chosen values cannot be used: {e.problems[0].message}")
        record["tuning"] = block
        return record
    record = session.unlearn(index, chosen, keep=keep) if keep else session.unlearn(index, chosen)
    record["tuning"] = block
    return record


def _failed(name: str, unlearner: Unlearner, error: str) -> dict[str, Any]:
    log.warning("unlearner %s failed: %s", name, error)
    return {"name": name, "config": unlearner.config, "status": "failed", "error": error,
            "metrics": {}, "failed_measures": {}, "not_applicable": {}}


def tune(session: Session, index: int, folder: Path, trials: Trials | None = None
         ) -> tuple[dict[str, Any] | None, dict]:
    """Runs (or resumes) the study of entry ``index`` for this session's seed: batches of
    ``tune.parallel`` trials, each batch drawn from the trials told before it and run by
    ``trials`` (default: :func:`run_trials`, here, one after another).

    Returns:
        ``(values, block)``: the best trial's values (None when no trial finished) and the
        record's ``tuning`` block.

    Raises:
        ConfigError: the stand-in experiment cannot be built (validation data overlapping the
            training data, an empty stand-in forget or retain set).
    """
    import optuna  # noqa: PLC0415 (an optional dependency, checked before any work)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    plan = session.plan
    tuning: TuningPlan = plan.tuning[index]
    name, unlearner = plan.names[index], plan.unlearners[index]
    started = time.perf_counter()
    world = stand_in(session, tuning, unlearner)
    path = Path(tuning.storage) if tuning.storage else folder / STUDY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    study_name = _study_name(name, session.seed, tuning)
    study = optuna.create_study(storage=_storage(path), study_name=study_name,
                                load_if_exists=True, direction=tuning.direction,
                                pruner=_pruner(tuning))
    if trials is None:
        def trials(batch: list, _name: str, _path: Path) -> list[Outcome]:
            return run_trials(session, index, batch)

    before = float(study.user_attrs.get("seconds", 0.0))
    log.info("tuning %s: %s trials toward %s (%s protocol)", name,
             tuning.trials if tuning.trials is not None else f"{tuning.timeout:g} s of",
             tuning.objective, tuning.protocol)
    while True:
        counted = _counted(study)
        left = tuning.parallel if tuning.trials is None else tuning.trials - len(counted)
        if left <= 0:
            break
        if tuning.timeout is not None and time.perf_counter() - started >= tuning.timeout:
            break
        startup = max(1, min(STARTUP_TRIALS, (tuning.trials or 3 * STARTUP_TRIALS) // 3))
        batch = []
        for slot in range(min(left, tuning.parallel)):
            study.sampler = optuna.samplers.TPESampler(
                seed=derive_seed(session.seed, "tune", name, len(counted) + slot) % 2**32,
                n_startup_trials=startup)
            trial = study.ask()
            batch.append((trial, {p: d.suggest(trial, p) for p, d in tuning.space.items()}))
        told = 0
        try:
            for (trial, _), (state, value) in zip(batch, trials(batch, study_name, path)):
                if state == "complete":
                    study.tell(trial, value)
                elif state == "pruned":
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    trial.set_user_attr("error", str(value))
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    log.info("tuning %s: trial %d failed: %s", name, trial.number, value)
                told += 1
        except BaseException:  # an interruption: not trials of the budget (resume redoes them)
            for trial, _ in batch[told:]:
                with contextlib.suppress(Exception):
                    trial.set_user_attr("interrupted", True)
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
    spent = before + time.perf_counter() - started
    study.set_user_attr("seconds", spent)
    return _block(study, tuning, world, path, study_name, spent)


def run_trials(session: Session, index: int, batch: list[tuple[Any, dict[str, Any]]]
               ) -> list[Outcome]:
    """Runs each ``(trial, values)`` of entry ``index``'s study in the stand-in experiment."""
    plan = session.plan
    tuning: TuningPlan = plan.tuning[index]
    world = stand_in(session, tuning, plan.unlearners[index])
    trial_run = _Trials(world, tuning, plan, plan.names[index])
    outcomes: list[Outcome] = []
    for trial, values in batch:
        try:
            with progress.showing(False):  # one bar for the record, not one per trial
                outcomes.append(("complete", trial_run(trial, values)))
        except Prune:
            outcomes.append(("pruned", None))
        except TrialFailed as e:
            outcomes.append(("failed", str(e)))
    return outcomes


def run_remote_trial(session: Session, index: int, study_name: str, path: Path, trial_id: int,
                     values: dict[str, Any]) -> Outcome:
    """One trial of a study in another process (a Ray task): the trial reports to, and is
    pruned from, the study file as it would be in the process that asked for it."""
    import optuna  # noqa: PLC0415

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=_storage(path),
                              pruner=_pruner(session.plan.tuning[index]))
    return run_trials(session, index, [(optuna.trial.Trial(study, trial_id), values)])[0]


def _pruner(tuning: TuningPlan) -> Any:
    import optuna  # noqa: PLC0415

    if tuning.prune and tuning.objective == AVG_GAP:
        return optuna.pruners.MedianPruner(n_startup_trials=STARTUP_TRIALS, n_warmup_steps=0)
    return optuna.pruners.NopPruner()


def _storage(path: Path) -> Any:
    """The study file as Optuna storage. Processes sharing one file (``tune.storage``) may open
    it at the same moment while it is new: each would create its tables and stamp its schema
    version, and all but one fail on what another just wrote (``UNIQUE constraint failed:
    alembic_version.version_num``). Opening is serialised by an OS lock on ``<file>.lock``
    (released by the OS however the process ends); trials then share the file through SQLite's
    own locking."""
    import fcntl  # noqa: PLC0415

    import optuna  # noqa: PLC0415

    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return optuna.storages.RDBStorage(f"sqlite:///{path}",
                                              engine_kwargs={"connect_args": {"timeout": 300}})
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _study_name(name: str, seed: int, tuning: TuningPlan) -> str:
    """One study per record, seed and setting: a changed space or objective starts another; a
    changed budget continues the same study (raising ``trials`` adds trials), as does a curve
    (its trials record none)."""
    described = {k: v for k, v in tuning.describe().items() if k != "budget"}
    setting = json.dumps([described, seed_config(tuning.base)], sort_keys=True, default=str)
    return f"{name} seed {seed} {hashlib.sha256(setting.encode()).hexdigest()[:10]}"


def _counted(study: Any) -> list:
    """The trials of the budget: finished, pruned or failed — not running, not interrupted."""
    import optuna  # noqa: PLC0415

    states = optuna.trial.TrialState
    return [t for t in study.get_trials(deepcopy=False)
            if t.state in (states.COMPLETE, states.PRUNED)
            or (t.state == states.FAIL and not t.user_attrs.get("interrupted"))]


def _block(study: Any, tuning: TuningPlan, world: World, path: Path, study_name: str,
           spent: float) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    import optuna  # noqa: PLC0415

    states = optuna.trial.TrialState
    counted = _counted(study)
    complete = [t for t in counted if t.state == states.COMPLETE]
    block: dict[str, Any] = {
        **tuning.describe(), "stand_in": world.described, "study": str(path),
        "study_name": study_name, "trials": len(counted), "complete": len(complete),
        "pruned": sum(t.state == states.PRUNED for t in counted),
        "failed": sum(t.state == states.FAIL for t in counted), "seconds": spent,
        "history": [[t.number, t.value if t.state == states.COMPLETE else None,
                     t.state.name.lower()] for t in counted],
    }
    if not complete:
        errors = [t.user_attrs.get("error") for t in counted if t.user_attrs.get("error")]
        block["error"] = ("tuning: no trial finished" +
                          (f" (first failure: {errors[0]})" if errors else ""))
        return None, block
    best = study.best_trial
    block.update(params=dict(best.params), value=best.value, best_trial=best.number)
    log.info("tuned %s: %s = %.4g with %s (%d trials, %d pruned, %.1f s)", study_name,
             tuning.objective, best.value, best.params, len(counted), block["pruned"], spent)
    return dict(best.params), block


class _Trials:
    """Runs one trial: builds the unlearner with the trial's values, runs it in the stand-in
    experiment and returns the objective."""

    def __init__(self, world: World, tuning: TuningPlan, plan: Any, name: str) -> None:
        self.world, self.tuning, self.plan, self.name = world, tuning, plan, name
        if tuning.objective == AVG_GAP:
            self.key = f"avg_gap.{world.forget}.unlearned"
            builder = Builder()
            gap, _ = builder.component({"class": "AvgGap", "parameters": {
                "partition": world.forget, "retain": world.retain, "reference": VALIDATION,
                "target": "unlearned"}}, Slot(Measure, lazy=False), f"{tuning.where}.tune")
            builder.raise_if_problems()
            self.evaluator = Evaluator(measures=[gap])
        else:
            self.key = tuning.objective
            self.evaluator = Evaluator(measures=objective_measures(plan.evaluator, self.key))
        self.prunes = tuning.prune and tuning.objective == AVG_GAP  # as in _pruner
        self._gold: dict[str, float] | None = None

    def __call__(self, trial: Any, values: dict[str, Any]) -> float:
        try:
            unlearner = self.plan.build_unlearner(with_values(self.tuning.base, values),
                                                  self.tuning.where)
        except ConfigError as e:
            raise TrialFailed(e.problems[0].message) from None
        report = self._reporter(trial) if self.prunes else None
        record = self.world.session.unlearn_with(unlearner, f"{self.name} trial {trial.number}",
                                                 report=report, evaluator=self.evaluator,
                                                 curve=False)
        if record["status"] != "finished":
            raise TrialFailed(record["error"])
        value = record["metrics"].get(self.key)
        if value is None or not math.isfinite(value):
            why = {**record["failed_measures"], **record["not_applicable"]}
            raise TrialFailed(f"{self.key} was not measured" +
                              (f": {next(iter(why.values()))}" if why else ""))
        return float(value)

    def _reporter(self, trial: Any) -> Callable[[nn.Module], None]:
        steps = itertools.count()

        def report(model: nn.Module) -> None:
            trial.report(self.accuracy_gap(model), next(steps))
            if trial.should_prune():
                raise Prune()

        return report

    def accuracy_gap(self, model: nn.Module) -> float:
        """Mean absolute gap to the stand-in gold model of forget, retain and held-out accuracy
        (the attack-free part of the objective, cheap enough to report after every epoch)."""
        session = self.world.session
        parts = (self.world.forget, self.world.retain, VALIDATION)
        if self._gold is None:
            gold = OutputStore(session.golds[self.world.retain], session.data)
            self._gold = {p: gold(p).accuracy for p in parts}
        modes = [m.training for m in model.modules()]
        try:
            mine = OutputStore(model, session.data)
            return sum(abs(mine(p).accuracy - self._gold[p]) for p in parts) / len(parts)
        finally:  # the unlearner goes on training as it was
            for module, mode in zip(model.modules(), modes):
                module.training = mode


# -- the stand-in experiment ---------------------------------------------------------------------

def stand_in(session: Session, tuning: TuningPlan, unlearner: Unlearner) -> World:
    """The stand-in experiment for ``unlearner``'s tuning (built once per seed and setting)."""
    forget, retain = unlearner.ref_data_forget, unlearner.ref_data_retain
    key = json.dumps(["tuning stand-in", tuning.protocol, tuning.validation, forget, retain,
                      sorted(unlearner.gold_partitions())])
    return session.shared(key, lambda: _build_stand_in(session, tuning, unlearner))


def _build_stand_in(session: Session, tuning: TuningPlan, unlearner: Unlearner) -> World:
    data = session.data
    where = f"{tuning.where}.tune"
    f_name, r_name = unlearner.ref_data_forget, unlearner.ref_data_retain
    training_name = session.predictor.training_set
    train, forget, retain = (data[n].cpu() for n in (training_name, f_name, r_name))
    if isinstance(tuning.validation, str):
        held = data[tuning.validation].cpu()
        overlap = int(torch.isin(held, train).sum())
        if overlap:
            raise ConfigError.single(
                f"{where}.validation", f"{overlap} samples of '{tuning.validation}' are in the "
                f"training set '{training_name}': the original has seen them, so they are not "
                "held out", "Name a partition outside the training data, or give a fraction of "
                            "it to set aside (e.g. 0.1).")
        kept = train
        validation = {"partition": tuning.validation, "size": len(held)}
    else:
        pool = train[~torch.isin(train, forget)]
        n = round(tuning.validation * len(pool))
        if not 0 < n < len(pool):
            raise ConfigError.single(f"{where}.validation",
                                     f"{tuning.validation} of the {len(pool)} training samples "
                                     f"outside the forget set is {n} samples: none left on one side")
        order = torch.randperm(len(pool), generator=generator(session.seed, "tune", "validation",
                                                              str(tuning.validation)))
        held = torch.sort(pool[order[:n]]).values
        kept = train[~torch.isin(train, held)]
        validation = {"fraction": tuning.validation, "size": n, "of": training_name}
    if tuning.protocol == "oracle":
        stand_forget, how = forget, f"the evaluated forget set '{f_name}'"
        stand_retain = retain[torch.isin(retain, kept)]
    else:
        stand_forget, how = _redraw(session, f_name, kept, forget)
        stand_retain = kept[~torch.isin(kept, stand_forget)]
    if len(stand_retain) == 0:
        raise ConfigError.single(where, "the stand-in retain set is empty")
    partitions = {}
    for name, index in data.partitions.items():
        index = index.cpu()
        if name == training_name:
            partitions[name] = kept
        elif name == f_name:
            partitions[name] = stand_forget
        elif name == r_name:
            partitions[name] = stand_retain
        elif name == "all":
            partitions[name] = torch.cat([kept, held])
        elif not torch.isin(index, train).any():  # held-out data (test, validation…): V
            partitions[name] = held
        else:
            partitions[name] = index[torch.isin(index, kept)]
    partitions[VALIDATION] = held
    world = session.on_partitions(partitions, ("tuning", f"validation={tuning.validation}"))
    world.train_world(sorted({*unlearner.gold_partitions(), r_name}),
                      (tuning.protocol, f"forget={f_name}", f"retain={r_name}"))
    session.models.update(world.models)
    for label, seconds in world.timings.items():
        session.timings[label] = seconds
    described = {"protocol": tuning.protocol, "validation": validation,
                 "forget": {"size": len(stand_forget), "drawn": how},
                 "retain": len(stand_retain), "training": len(kept)}
    return World(world, f_name, r_name, described)


def _redraw(session: Session, f_name: str, kept: torch.Tensor, forget: torch.Tensor
            ) -> tuple[torch.Tensor, str]:
    """Another forget set drawn the way ``f_name`` was, from the stand-in's training data
    outside the evaluated forget set: the splitter that wrote ``f_name``, run again there
    (:meth:`~erasure.data.Splitter.redraw`); else as many samples drawn at random."""
    data = session.data
    pool = kept[~torch.isin(kept, forget)]
    stream = generator(session.seed, "tune", "forget", f_name)
    for splitter in session.plan.data.partitions:
        if f_name not in splitter.parts_names:
            continue
        read = torch.cat([data[r].cpu() for r in splitter.reads()])
        index = torch.unique(read[torch.isin(read, pool)])
        try:
            parts = splitter.redraw(index, data, stream)
        except ValueError as e:
            log.info("tuning: '%s' cannot be drawn again by %s (%s): drawing at random", f_name,
                     type(splitter).__name__, e)
            break
        drawn = torch.sort(parts[splitter.parts_names.index(f_name)].cpu()).values
        if 0 < len(drawn) < len(pool):
            return drawn, f"drawn like '{f_name}' by {type(splitter).__name__}" + \
                (f" (classes {_classes(data, drawn)})" if _by_class(splitter) else "")
        break
    n = min(len(forget), len(pool) - 1)
    drawn = torch.sort(pool[torch.randperm(len(pool), generator=stream)[:n]]).values
    return drawn, f"{n} samples drawn at random outside '{f_name}'"


def _by_class(splitter: Any) -> bool:
    return hasattr(splitter, "classes")


def _classes(data: Any, index: torch.Tensor) -> list[int]:
    return sorted(set(data.y[index.to(data.y.device)].tolist()))
