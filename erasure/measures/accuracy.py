"""Accuracy per partition, for the original and the unlearned model."""
from __future__ import annotations

from erasure.config import PartitionNames

from .base import Measure, Targets, as_list


class Accuracy(Measure):
    """Top-1 accuracy on each partition for each target: forget (FA; UA = 1 − FA), retain (RA) and
    test (TA) accuracy in the unlearning literature.

    Args:
        partition: partition name(s).
        target: ``original``, ``unlearned`` or both.

    Keys: ``accuracy.<partition>.<target>``.
    """

    name = "accuracy"
    partition: PartitionNames = ("forget", "retain", "test")
    target: Targets = ("original", "unlearned")

    def measure(self, ctx):
        out = {}
        for target in as_list(self.target):
            for partition in as_list(self.partition):
                out[f"accuracy.{partition}.{target}"] = ctx.output(target, partition).accuracy
        return out
