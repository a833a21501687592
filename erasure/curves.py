"""Curves: chosen measures of an unlearner's model along the way (``evaluate_every``).

An :class:`~erasure.unlearners.EpochUnlearner` with ``evaluate_every: k`` reports its model after
each epoch of its main phase (``ctx.epoch_hook``); a :class:`Curve` evaluates every k-th report,
and the copy of the original before unlearning as epoch 0, and becomes the record's ``curve``::

    {"unit": "epoch", "every": k, "epochs": [0, k, 2k, …],
     "metrics": {"accuracy.forget.unlearned": [value per point], …}}

(with ``"failed_measures"``, measure → first error, only when a measure failed at some point; its
keys are then ``null`` there). Only keys of the unlearned model are kept.

A point never changes what the unlearner does: the model is evaluated in eval mode under inference
mode (no gradient, batch-norm statistics untouched), each module's train/eval mode is restored
afterwards, and the global random generators are set to a stream of the point's own and restored
(the unlearner's ``ctx.generator`` is not touched). What the points took is kept in
:attr:`Curve.seconds`, which the record's ``runtime.unlearn`` leaves out; its peak memory counts
the points during unlearning.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from torch import nn

from erasure.seeding import seeded

log = logging.getLogger(__name__)

#: ``evaluate(model)``: ``(metrics, failed_measures)`` of one point
Evaluate = Callable[[nn.Module], tuple[dict[str, Any], dict[str, str]]]


class Curve:
    """The points of one record's curve.

    Args:
        every: a point every ``every`` reports (epochs), besides epoch 0.
        evaluate: measures a model (the unlearner's, as it is at that epoch).
        seed: the stream each point's global random generators are seeded from (with the epoch).
    """

    def __init__(self, every: int, evaluate: Evaluate, seed: int) -> None:
        self.every, self.evaluate, self.seed = every, evaluate, seed
        self.epoch = 0  # reports so far
        self.epochs: list[int] = []
        self.points: list[dict[str, Any]] = []
        self.failed: dict[str, str] = {}
        #: seconds spent evaluating points
        self.seconds = 0.0

    def start(self, model: nn.Module) -> None:
        """The point at epoch 0: ``model`` before unlearning."""
        self._point(model)

    def report(self, model: nn.Module) -> None:
        """One epoch done: a point when it is a multiple of ``every``."""
        self.epoch += 1
        if self.epoch % self.every == 0:
            self._point(model)

    def chained(self, other: Optional[Callable[[nn.Module], None]]
                ) -> Callable[[nn.Module], None]:
        """A ``ctx.report`` that records the point first, then calls ``other`` (tuning's, which may
        raise to stop the unlearner)."""
        if other is None:
            return self.report

        def both(model: nn.Module) -> None:
            self.report(model)
            other(model)
        return both

    def _point(self, model: nn.Module) -> None:
        tick = time.perf_counter()
        modes = [m.training for m in model.modules()]
        try:
            model.eval()
            with seeded(self.seed, "curve", self.epoch):
                metrics, failed = self.evaluate(model)
        finally:  # the unlearner goes on as it was (some keep parts in eval mode)
            for module, mode in zip(model.modules(), modes):
                module.training = mode
        self.epochs.append(self.epoch)
        self.points.append({k: v for k, v in metrics.items() if "unlearned" in k.split(".")})
        for measure, error in failed.items():
            self.failed.setdefault(measure, error)
        self.seconds += time.perf_counter() - tick

    def as_record(self) -> dict[str, Any]:
        """The record's ``curve`` (keys in the order the measures wrote them; ``None`` where a
        point has no value)."""
        keys = list(dict.fromkeys(k for point in self.points for k in point))
        out: dict[str, Any] = {"unit": "epoch", "every": self.every, "epochs": list(self.epochs),
                               "metrics": {k: [p.get(k) for p in self.points] for k in keys}}
        if self.failed:
            out["failed_measures"] = dict(self.failed)
        return out
