"""Wall-clock time of each stage."""
from __future__ import annotations

from .base import Measure


class Runtime(Measure):
    """Seconds spent training the original (``runtime.train_original``), retraining the gold model
    (``runtime.retrain``, when the experiment trains one) and running this unlearner
    (``runtime.unlearn``), each timed around that stage alone. A model from the cache reports
    what its training took when it was trained (the results' ``timings`` hold this run's
    seconds). An original loaded from the predictor's checkpoint was not trained: no
    ``runtime.train_original``."""

    name = "runtime"
    direction = "minimize"

    def measure(self, ctx):
        return {f"runtime.{stage}": seconds for stage, seconds in sorted(ctx.timings.items())}
