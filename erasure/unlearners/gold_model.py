"""Gold model: retraining from scratch without the forget set — the exact unlearner."""
from __future__ import annotations

from .base import Unlearner


class GoldModel(Unlearner):
    """A freshly initialised network trained on ``ref_data_retain`` with the predictor's recipe
    (same network, optimizer, loss, epochs and batch size as the original).

    The reference every other method is measured against, and the only exact unlearner. It is
    trained once per experiment and shared with every measure that compares against it; its
    training time is reported as ``runtime.retrain``.
    """

    def unlearn(self, model, ctx):
        return ctx.gold(self.ref_data_retain)

    def gold_partitions(self):
        return [self.ref_data_retain]
