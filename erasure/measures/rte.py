"""RTE: the unlearner's run time relative to retraining from scratch."""
from __future__ import annotations

from erasure.config import PartitionName

from .base import Measure, NotApplicable


class RTE(Measure):
    """Run-time efficiency: RTE = t_unlearn / t_retrain, the seconds this unlearner took divided
    by the seconds spent retraining the gold model on ``retain`` with the predictor's recipe
    (both timed by the pipeline around that stage alone; see :class:`Runtime`).

    Jia et al. ("Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023) and SalUn (Fan et
    al., ICLR 2024) report run-time efficiency (RTE) as an unlearner's wall-clock minutes beside
    retraining's; here it is the ratio, so that it compares across machines and datasets.
    Retraining is the exact but expensive unlearner: RTE < 1 is what an approximate method must
    achieve to be worth its inexactness; lower is better (retraining from scratch is 1 by
    definition).

    Configuring this measure makes the pipeline retrain the gold model on ``retain`` (it declares
    that partition in :meth:`gold_partitions`), once per experiment, so the retraining time is
    there to compare against. Note that the ``GoldModel`` record's own unlearning time is only the
    copy of that shared model (its real cost is ``runtime.retrain``).

    Args:
        retain: the partition the gold model is retrained on (default ``retain``).

    Keys: ``rte.unlearn``. Not applicable (with the reason) when no retraining time is known.
    """

    name = "rte"
    direction = "minimize"
    retain: PartitionName = "retain"

    def gold_partitions(self):
        return [self.retain]

    def measure(self, ctx):
        # one gold model is timed as "retrain"; several as "retrain.<partition>"
        retrain = ctx.timings.get(f"retrain.{self.retain}", ctx.timings.get("retrain"))
        if retrain is None or retrain <= 0:
            raise NotApplicable(f"no retraining time is known for a gold model on '{self.retain}' "
                                "(no gold model was retrained in this experiment), so the "
                                "unlearning time has nothing to be compared with")
        if "unlearn" not in ctx.timings:
            raise NotApplicable("no unlearning time is known for this record")
        return {"rte.unlearn": ctx.timings["unlearn"] / retrain}
