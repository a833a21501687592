"""Accuracy of each class, per partition and target."""
from __future__ import annotations

import torch

from erasure.config import PartitionNames

from .base import Measure, Targets, as_list


class PerClassAccuracy(Measure):
    """Top-1 accuracy restricted to the samples of each class (the recall of each class): where a
    whole class is forgotten, its accuracy should fall to the gold model's (0 on the forget set,
    ~0 on the test samples of that class) while the other classes' hold.

    Args:
        partition: partition name(s).
        target: ``original``, ``unlearned`` or both.

    Keys: ``class_accuracy.<partition>.<target>.<class>``, ``<class>`` the integer label; a class
    with no sample in the partition has no key. In [0, 1].
    """

    name = "class_accuracy"
    partition: PartitionNames = ("forget", "retain", "test")
    target: Targets = ("original", "unlearned")

    def measure(self, ctx):
        out = {}
        classes = ctx.data.num_classes
        for target in as_list(self.target):
            for partition in as_list(self.partition):
                o = ctx.output(target, partition)
                labels = o.labels.long()
                totals = torch.bincount(labels, minlength=classes)
                correct = torch.bincount(labels[o.predictions == labels], minlength=classes)
                for c in torch.nonzero(totals).flatten().tolist():
                    out[f"class_accuracy.{partition}.{target}.{c}"] = correct[c].item() / totals[c].item()
        return out
