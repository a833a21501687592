"""Where the work of a run happens: the executors.

A run's work is one unit per seed — load the data, train (or take from the cache) the original and
the gold models — and one unit per record (an unlearner with one seed, tuning included). An
executor runs the units and reports what finished as :class:`ModelsReady` and
:class:`RecordDone` events; :func:`erasure.runner.run` turns the events into the results file,
whatever their order.

- ``local`` (:mod:`.local`, the default): every unit in this process, one after another.
- ``ray`` (:mod:`.cluster`): one Ray task per unit on a Ray cluster (``globals.executor``,
  ``--executor ray``). A seed's models are trained once and reach its record tasks through Ray's
  object store; the records are the same as the local executor's (runtime and memory aside).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from erasure.plan import Plan


@dataclass
class ModelsReady:
    """A seed's data is loaded and its models trained."""

    seed: int
    device: str
    sizes: dict[str, int]
    timings: dict[str, float]
    models: dict[str, dict[str, Any]]


@dataclass
class RecordStarted:
    """A record began (the local executor says so; a cluster runs many at once)."""

    seed: int
    index: int


@dataclass
class RecordDone:
    """A record finished (or failed: its ``status`` says so)."""

    seed: int
    index: int
    record: dict[str, Any]


Event = ModelsReady | RecordStarted | RecordDone


class _Held:
    """Signals that arrived inside :func:`signals_held`."""

    active = False
    error: BaseException | None = None


def defer(error: BaseException) -> bool:
    """For a signal handler: inside :func:`signals_held`, keeps ``error`` to be raised when the
    block ends and returns True; elsewhere returns False (the handler raises it at once)."""
    if _Held.active:
        _Held.error = _Held.error or error
        return True
    return False


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Within the block, the runner's SIGINT/SIGTERM handler keeps its exception until the block
    ends, then it is raised: an exception raised by a signal handler inside Ray's compiled calls
    (``ray.wait``) comes out as a ``SystemError`` instead. Never yield inside the block."""
    _Held.active = True
    try:
        yield
    finally:
        _Held.active = False
        error, _Held.error = _Held.error, None
        if error is not None:
            raise error


def events(plan: Plan, work: dict[int, list[int]], folder: Path) -> Iterator[Event]:
    """Runs ``work`` (per seed, the indices of the unlearners to run) with the plan's executor.

    Every seed's :class:`ModelsReady` comes before its records. Closing the iterator (an
    interruption) cancels what is still running.
    """
    if plan.settings.executor == "ray":
        from erasure.execution import cluster  # noqa: PLC0415 (imports Ray)

        return cluster.events(plan, work, folder)
    from erasure.execution import local  # noqa: PLC0415

    return local.events(plan, work, folder)
