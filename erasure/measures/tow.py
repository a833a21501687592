"""ToW ("tug of war"): how closely the target matches the gold model's accuracy on forget, retain
and test at once."""
from __future__ import annotations

from erasure.config import PartitionName

from .base import Measure, Targets, as_list
from .gold_distance import gold


class ToW(Measure):
    """Tug of War, from Zhao, Kurmanji, Bărbulescu, Triantafillou, Triantafillou, "What makes
    unlearning hard and what to do about it", NeurIPS 2024:

        ToW = (1 − |acc(D_f) − acc_gold(D_f)|) · (1 − |acc(D_r) − acc_gold(D_r)|)
              · (1 − |acc(D_t) − acc_gold(D_t)|),

    accuracies in [0, 1], the gold model being the network retrained on the retain partition (the
    experiment trains it once and shares it). A perfect unlearner matches the gold model on all
    three partitions at once; failing on any one (forgetting too little, or too much, or losing
    utility) pulls the product down. ToW of the gold model against itself is exactly 1.

    Args:
        forget: the forget partition (D_f).
        retain: the retain partition (D_r); also the partition the gold model is retrained on.
        test: the test partition (D_t).
        target: ``original``, ``unlearned`` or both.

    Keys: ``tow.<forget>.<target>``. In [0, 1]; ideal 1.
    """

    name = "tow"
    direction = "maximize"
    forget: PartitionName = "forget"
    retain: PartitionName = "retain"
    test: PartitionName = "test"
    target: Targets = ("original", "unlearned")

    def gold_partitions(self):
        return [self.retain]

    def measure(self, ctx):
        gold(ctx, self.retain)
        partitions = (self.forget, self.retain, self.test)
        reference = [ctx.gold_output(self.retain, p).accuracy for p in partitions]
        out = {}
        for target in as_list(self.target):
            value = 1.0
            for partition, gold_accuracy in zip(partitions, reference, strict=True):
                value *= 1.0 - abs(ctx.output(target, partition).accuracy - gold_accuracy)
            out[f"tow.{self.forget}.{target}"] = value
        return out
