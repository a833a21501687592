"""The units of work, as any process runs them: a seed's models (:func:`models_unit`) and one
record (:func:`run_record`, or :func:`record_unit` in a process that did not train the models).

A unit run elsewhere (a Ray task) gets a :class:`Job` — the resolved config and the folders the
driver chose — and builds its plan and session from it, so that it needs nothing of the driver's
process: each worker process keeps the plan and a session per seed it has seen, and the log
lines of each unit travel back with its result (the driver writes them to ``run.log``).
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from erasure import saving
from erasure.experiment import Keep, Session, cache_location
from erasure.cache import ModelCache
from erasure.config import ConfigError
from erasure.plan import Plan, prepare

log = logging.getLogger(__name__)


def run_record(session: Session, index: int, folder: Path, trials: Any = None
               ) -> dict[str, Any]:
    """The record of unlearner ``index`` (without its seed): tuned first where its entry says so
    (the study lives in ``folder``, the run folder, unless the entry names its storage; its
    trials run by ``trials``, default here: :data:`erasure.tuning.study.Trials`). The record of
    a sweep point carries it: ``"sweep": {path as written in the sweep: value}``. With
    ``globals.save_models``, its unlearned model is saved into ``folder`` (:mod:`erasure.saving`)
    and the record names the file (``saved_model``)."""
    plan = session.plan
    keep = _keeper(session, Path(folder))
    if index < len(plan.tuning) and plan.tuning[index] is not None:
        from erasure.tuning.study import tune_and_unlearn  # noqa: PLC0415 (needs Optuna)

        record = tune_and_unlearn(session, index, folder, trials, keep=keep)
    else:
        record = session.unlearn(index, keep=keep) if keep else session.unlearn(index)
    point = plan.sweep_point(index)
    if point is not None:
        record["sweep"] = point
    return record


def _keeper(session: Session, folder: Path) -> Keep | None:
    """What saves a finished record's unlearned model, None when ``save_models`` is ``none``. A
    model that cannot be written is logged; the record then has no ``saved_model``."""
    if session.plan.settings.save_models == "none":
        return None

    def keep(model, record, timings, memory) -> None:
        try:
            record["saved_model"] = saving.save_unlearned(folder, session.seed, model, record,
                                                          timings, memory, session.plan.resolved)
        except OSError as e:
            log.warning("cannot save the model of %s into %s: %s", record["name"], folder,
                        e.strerror or e)

    return keep


def save_trained_models(session: Session, folder: Path) -> None:
    """With ``globals.save_models: "all"``, saves the session's original and gold models into
    the run ``folder`` (:mod:`erasure.saving`); a failure to write is logged."""
    if session.plan.settings.save_models != "all":
        return
    models = {"original": (session.original, session.predictor.training_set),
              **{f"gold.{p}": (m, p) for p, m in session.golds.items()}}
    try:
        saving.save_trained(Path(folder), session.seed, models, session.models,
                            session.plan.resolved)
    except OSError as e:
        log.warning("cannot save the trained models of seed %s into %s: %s", session.seed, folder,
                    e.strerror or e)


@dataclass(frozen=True)
class Job:
    """What a unit in another process needs to rebuild the run's plan and session.

    Attributes:
        config: the plan's config as given (:attr:`Plan.source`: preparing it again gives the
            same plan).
        config_file: the config file (absolute), where user modules and relative paths start.
        folder: the run folder (absolute).
        cache: the model cache folder (absolute), None when the cache is off.
        run: this run's id: a worker reuses a session only within one run (another run may
            read edited data files).
        checkpoint: the SHA-256 of the predictor's checkpoint as the driver read it (None
            without one): a worker's plan is rebuilt when the file changed, and refused when
            the worker reads other bytes than the driver did.
    """

    config: dict
    config_file: str | None
    folder: str
    cache: str | None
    run: str
    checkpoint: str | None = None

    @classmethod
    def of(cls, plan: Plan, folder: Path) -> "Job":
        cache = cache_location(plan)
        return cls(plan.source, str(plan.config_file) if plan.config_file else None,
                   str(Path(folder).resolve()), str(cache.resolve()) if cache else None,
                   uuid.uuid4().hex, plan.checkpoint.sha256 if plan.checkpoint else None)

    @property
    def key(self) -> str:
        """What the plan depends on."""
        text = json.dumps([self.config, self.config_file, self.cache, self.checkpoint],
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: per worker process: the plans and sessions of the jobs it ran (the latest few)
_PLANS: dict[str, Plan] = {}
_SESSIONS: dict[tuple[str, int], Session] = {}  # by (run, seed)
KEPT_SESSIONS = 2


def _new_session(job: Job, seed: int) -> Session:
    plan = _PLANS.get(job.key)
    if plan is None:
        _PLANS.clear()
        plan = _PLANS[job.key] = prepare(copy.deepcopy(job.config), config_file=job.config_file)
        read = plan.checkpoint.sha256 if plan.checkpoint else None
        if read != job.checkpoint:
            del _PLANS[job.key]
            raise ConfigError.single("predictor.parameters.checkpoint",
                                     f"the checkpoint changed while the run started (sha256 "
                                     f"{str(job.checkpoint)[:12]}… read by the driver, "
                                     f"{str(read)[:12]}… by a worker)",
                                     "Leave the file as it is while a run uses it.")
    session = Session(plan, seed)
    # the cache the driver chose (its environment may differ from this process's)
    session.cache = ModelCache(Path(job.cache)) if job.cache else None
    session.load_data()
    return session


def _keep(job: Job, seed: int, session: Session) -> None:
    _SESSIONS[(job.run, seed)] = session
    while len(_SESSIONS) > KEPT_SESSIONS:
        del _SESSIONS[next(iter(_SESSIONS))]


def models_unit(job: Job, seed: int) -> tuple[tuple[dict[str, Any], list], dict[str, Any]]:
    """Loads seed ``seed``'s data and trains its models (or takes them from the cache).

    Returns:
        ``((ready, logs), trained)``: what the results header needs (the fields of
        :class:`~erasure.execution.ModelsReady`), this unit's log records, and the models
        (:meth:`Session.trained`) for the record units.
    """
    with captured_logs() as logs:
        session = _new_session(job, seed)
        session.train_models()
        save_trained_models(session, Path(job.folder))
        _keep(job, seed, session)
        ready = {"seed": seed, "device": str(session.device), "sizes": session.data.sizes(),
                 "timings": dict(session.timings), "models": copy.deepcopy(session.models)}
    return (ready, logs), session.trained()


def session_for(job: Job, seed: int, trained: Callable[[], dict[str, Any]]) -> Session:
    """This process's session of ``seed``: kept from an earlier unit, else built with the models
    ``trained()`` gives (:func:`models_unit`'s)."""
    session = _SESSIONS.get((job.run, seed))
    if session is None:
        session = _new_session(job, seed)
        session.adopt(trained())
        _keep(job, seed, session)
    return session


def record_unit(job: Job, seed: int, index: int, trained: Callable[[], dict[str, Any]],
                trials: Any = None) -> tuple[dict[str, Any], list]:
    """Runs record ``index`` of seed ``seed`` with the models of :func:`models_unit` (its tuning
    trials run by ``trials``).

    Returns:
        ``(record, logs)``.
    """
    with captured_logs() as logs:
        session = session_for(job, seed, trained)
        record = run_record(session, index, Path(job.folder), trials)
    return record, logs


def trial_unit(job: Job, seed: int, index: int, trained: Callable[[], dict[str, Any]],
               study_name: str, path: str, trial_id: int, values: dict[str, Any]
               ) -> tuple[tuple[str, Any], list]:
    """Runs one tuning trial of record ``index`` (:func:`erasure.tuning.study.run_remote_trial`).

    Returns:
        ``(outcome, logs)``.
    """
    from erasure.tuning.study import run_remote_trial  # noqa: PLC0415 (needs Optuna)

    with captured_logs() as logs:
        session = session_for(job, seed, trained)
        outcome = run_remote_trial(session, index, study_name, Path(path), trial_id, values)
    return outcome, logs


class _Collector(logging.Handler):
    """Keeps the log records of a unit, made plain enough to travel to another process."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        plain = copy.copy(record)
        plain.msg, plain.args = record.getMessage(), None
        if record.exc_info:
            plain.exc_text = logging.Formatter().formatException(record.exc_info)
        plain.exc_info = None
        self.records.append(plain)


@contextlib.contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Within the block, the framework's log records (INFO and up) are kept in the yielded list
    instead of shown: the driver replays them (:func:`replay`)."""
    logger = logging.getLogger("erasure")
    collector = _Collector()
    saved = logger.level, logger.propagate
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield collector.records
    finally:
        logger.removeHandler(collector)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def replay(records: list[logging.LogRecord]) -> None:
    """Hands log records from another process to this process's handlers (console, ``run.log``)."""
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
