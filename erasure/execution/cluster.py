"""The Ray executor: one Ray task per seed's models, one per record, and one per tuning trial of
a batch (``tune.parallel`` above 1; the record task hands them out and waits for them).

The driver (the ``main.py`` process) joins the cluster named by ``globals.address`` (``auto``, or
``host:port``), or starts a local Ray instance sized to the machine; a process that has already
called ``ray.init`` (a test, a notebook) keeps its instance. Each seed's models are trained once,
by one task, and reach that seed's record tasks through Ray's object store; with the cache on,
the models unit also stores them in the model cache (which must then live on a file system every
node sees — ``--cache-dir``), so that a resumed or repeated run trains nothing. Each task
reserves ``globals.num_cpus`` CPUs and ``globals.num_gpus`` GPUs.

Faults: a task whose worker dies (killed, out of memory, a lost node) is retried once by Ray; a
second death is recorded as a failed record with the reason (a seed's models unit: every record of
that seed). An exception raised by the framework in a task stops the run as it would locally.
Closing the event iterator (Ctrl-C) ends every task still queued or running (:func:`_stop`).
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any, Iterator

from erasure.config import ConfigError
from erasure.execution import Event, ModelsReady, RecordDone, signals_held
from erasure.execution.units import (Job, models_unit, record_unit, replay, session_for,
                                     trial_unit)
from erasure.plan import Plan

log = logging.getLogger(__name__)

#: a task whose worker dies is run once more before its record says it failed
RETRIES = 1
#: seconds between checks for finished tasks (signals are handled between them)
POLL = 0.2
#: whether this process's Ray connection was made by :func:`connect` (so a stopped run may close
#: it), rather than by the caller (a test, a notebook), whose instance is left running
_connected_here = False


def connect(address: str | None) -> Any:
    """Ray, initialised: this process's instance if it has one, else the cluster at ``address``,
    else a new local instance (no dashboard).

    Raises:
        ConfigError: no cluster answers at ``address`` (``auto``: none runs on this machine).
    """
    import ray  # noqa: PLC0415

    global _connected_here
    if not ray.is_initialized():
        if address:
            log.info("joining the Ray cluster at %s", address)
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise ConfigError.single(
                    "globals.address", f"cannot join the Ray cluster at '{address}': {e}",
                    "Start it first ('ray start --head' on its head node), or leave --address "
                    "out to start a local Ray instance.") from None
        else:
            log.info("starting a local Ray instance")
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        _connected_here = True
    return ray


def check_fits(ray: Any, num_cpus: float, num_gpus: float) -> None:
    """Refuses what each task reserves when no node of the cluster has that much (Ray would
    queue the tasks for ever, waiting for such a node).

    Raises:
        ConfigError: at ``globals.num_cpus`` or ``globals.num_gpus``, with the largest node's.
    """
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    for key, name, wanted in (("CPU", "num_cpus", num_cpus), ("GPU", "num_gpus", num_gpus)):
        largest = max((float(n.get(key, 0)) for n in nodes), default=0.0)
        if wanted > largest:
            raise ConfigError.single(
                f"globals.{name}", f"each task asks for {wanted:g} {key}s, but the largest node "
                f"of the Ray cluster has {largest:g}",
                "Ask for at most that many, or add a node that has them." if key == "CPU" else
                "Ask for 0 GPUs (device cpu), or join a cluster with GPU nodes (--address).")


def events(plan: Plan, work: dict[int, list[int]], folder: Path) -> Iterator[Event]:
    settings = plan.settings
    ray = connect(settings.address)
    check_fits(ray, settings.num_cpus, settings.num_gpus)
    resources = {"num_cpus": settings.num_cpus, "num_gpus": settings.num_gpus,
                 "max_retries": RETRIES}
    models_task = ray.remote(models_unit).options(num_returns=2, **resources)
    record_task = ray.remote(_record).options(**resources)
    job = Job.of(plan, folder)
    job_ref = ray.put(job)
    pending: dict[Any, tuple[int, int | None]] = {}  # task → (seed, record index or None)
    trained: dict[int, Any] = {}
    for seed in work:
        ready_ref, trained[seed] = models_task.remote(job_ref, seed)
        pending[ready_ref] = (seed, None)
    log.info("Ray: %d tasks for the models of %d seeds, then %d records, each with %g CPU and "
             "%g GPU", len(work), len(work), sum(map(len, work.values())), settings.num_cpus,
             settings.num_gpus)
    waiting: list[int] = []  # seeds whose models are ready and records not yet submitted
    try:
        while pending or waiting:
            with signals_held():  # no exception from a signal handler inside Ray's calls
                for seed in waiting:
                    for i in work[seed]:
                        # boxed: the record task passes the reference on to its trials' tasks
                        task = record_task.remote(job_ref, seed, i, [trained[seed]], resources)
                        pending[task] = (seed, i)
                waiting.clear()
                finished, _ = ray.wait(list(pending), num_returns=1, timeout=POLL)
                outcomes = [(*pending.pop(ref), *_outcome(ray, ref)) for ref in finished]
            for seed, index, value, error in outcomes:
                if isinstance(error, ray.exceptions.RayTaskError):  # the framework's own: stop
                    raise (error.cause if isinstance(error.cause, BaseException) else error)
                if error is not None:  # the worker died twice, the node was lost…
                    reason = _death(error)
                    if index is None:
                        log.warning("the models of seed %d could not be trained: %s", seed, reason)
                        for i in work[seed]:
                            yield RecordDone(seed, i, _failed(plan, i, f"the seed's models: {reason}"))
                    else:
                        log.warning("record %s (seed %d) failed: %s", plan.names[index], seed,
                                    reason)
                        yield RecordDone(seed, index, _failed(plan, index, reason))
                    continue
                result, logs = value
                replay(logs)
                if index is None:
                    yield ModelsReady(**result)
                    waiting.append(seed)
                else:
                    yield RecordDone(seed, index, result)
            busy = {s for s, _ in pending.values()} | set(waiting)
            for seed in [s for s in trained if s not in busy]:
                del trained[seed]  # its records are done: the object store may drop the models
    finally:
        if pending:
            with signals_held(), contextlib.suppress(Exception):
                _stop(ray, list(pending))


def _outcome(ray: Any, ref: Any) -> tuple[Any, BaseException | None]:
    """A finished task's ``(value, None)``, or ``(None, error)``."""
    try:
        return ray.get(ref), None
    except ray.exceptions.RayError as e:
        return None, e


def _stop(ray: Any, refs: list) -> None:
    """Stops the tasks of a run that ends early (Ctrl-C, an error). A connection this module made
    is closed: Ray then ends every task the driver owns, on a local instance or a cluster alike.
    Otherwise each task is cancelled (a running one gets a KeyboardInterrupt: killing its worker
    while it replies can abort the driver inside Ray)."""
    global _connected_here
    if _connected_here:
        _connected_here = False
        ray.shutdown()
        return
    for ref in refs:
        with contextlib.suppress(Exception):
            ray.cancel(ref)


def _record(job: Job, seed: int, index: int, trained: list, resources: dict[str, Any]
            ) -> tuple[dict[str, Any], list]:
    """A record task: :func:`record_unit`, its tuning trials as tasks of their own."""
    import ray  # noqa: PLC0415

    trials = _Trials(job, seed, index, trained[0], resources)
    return record_unit(job, seed, index, lambda: ray.get(trained[0]), trials)


def _trial(job: Job, seed: int, index: int, trained: list, study_name: str, path: str,
           trial_id: int, values: dict[str, Any]) -> tuple[tuple[str, Any], list]:
    """A trial task: :func:`trial_unit`."""
    import ray  # noqa: PLC0415

    return trial_unit(job, seed, index, lambda: ray.get(trained[0]), study_name, path,
                      trial_id, values)


class _Trials:
    """Runs a batch of tuning trials (``tune.parallel`` of them) as that many Ray tasks, from
    within a record task; a batch of one runs in the record task itself (a task of its own would
    only add the cost of a second session)."""

    def __init__(self, job: Job, seed: int, index: int, trained: Any,
                 resources: dict[str, Any]) -> None:
        self.job, self.seed, self.index, self.trained = job, seed, index, trained
        self.resources = resources

    def __call__(self, batch: list, study_name: str, path: Path) -> list[tuple[str, Any]]:
        import ray  # noqa: PLC0415

        from erasure.tuning.study import run_trials  # noqa: PLC0415

        if len(batch) == 1:
            session = session_for(self.job, self.seed, lambda: ray.get(self.trained))
            return run_trials(session, self.index, batch)
        task = ray.remote(_trial).options(**self.resources)
        refs = [task.remote(self.job, self.seed, self.index, [self.trained], study_name,
                            str(path), trial._trial_id, values) for trial, values in batch]
        outcomes = []
        for ref in refs:
            try:
                outcome, logs = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                raise (e.cause if isinstance(e.cause, BaseException) else e) from None
            except ray.exceptions.RayError as e:
                outcome, logs = ("failed", _death(e)), []
            replay(logs)  # into this task's own logs, on their way to the driver
            outcomes.append(outcome)
        return outcomes


def _death(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return f"its Ray worker died {RETRIES + 1} times ({type(error).__name__}: {first})"


def _failed(plan: Plan, index: int, reason: str) -> dict[str, Any]:
    return {"name": plan.names[index], "config": plan.unlearners[index].config,
            "status": "failed", "error": reason, "metrics": {}, "failed_measures": {},
            "not_applicable": {}}
