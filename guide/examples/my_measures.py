"""Chapter 5: your own measures. ``measure.jsonc`` names them by dotted path."""
from __future__ import annotations

import torch

from erasure import Measure, PartitionName, Targets


class MeanConfidence(Measure):
    """Mean top-1 softmax probability on a partition: ``confidence.<partition>.<target>``."""

    name = "confidence"
    partition: PartitionName = "forget"

    def measure(self, ctx):
        out = {}
        for target in ("original", "unlearned"):
            probs = ctx.output(target, self.partition).probabilities
            out[f"confidence.{self.partition}.{target}"] = probs.max(1).values.mean().item()
        return out


class ConfusionMatrix(Measure):
    """The confusion matrix on a partition, as counts: ``confusion.<partition>.<target>.<true>.
    <predicted>`` is the number of samples of class ``<true>`` that the target predicts as
    ``<predicted>``. Only the true classes present in the partition get keys (one per predicted
    class, zeros included, so that every record has the same keys).

    Args:
        partition: where the matrix is computed (the forget set).
        target: ``original``, ``unlearned`` or both.
    """

    name = "confusion"
    partition: PartitionName = "forget"
    target: Targets = ("original", "unlearned")

    def measure(self, ctx):
        classes = ctx.data.num_classes
        targets = [self.target] if isinstance(self.target, str) else self.target
        keys = {}
        for target in targets:
            out = ctx.output(target, self.partition)  # logits, labels, predictions, losses...
            pairs = out.labels * classes + out.predictions  # one number per (true, predicted)
            matrix = torch.bincount(pairs, minlength=classes * classes).view(classes, classes)
            for true in out.labels.unique().tolist():
                for predicted in range(classes):
                    key = f"{self.name}.{self.partition}.{target}.{true}.{predicted}"
                    keys[key] = float(matrix[true, predicted])
        return keys


class GoldAgreement(Measure):
    """The fraction of a partition on which the target predicts the same class as the gold
    model (retrained without the forget set): ``agreement.<partition>.<target>``. Ideal: 1.

    Args:
        partition: where the predictions are compared (the forget set).
        retain: the partition the gold model is retrained on.
    """

    name = "agreement"
    partition: PartitionName = "forget"
    retain: PartitionName = "retain"

    def gold_partitions(self):
        return [self.retain]  # the pipeline trains this gold model once, before any unlearner

    def measure(self, ctx):
        gold = ctx.gold_output(self.retain, self.partition).predictions
        out = {}
        for target in ("original", "unlearned"):
            same = ctx.output(target, self.partition).predictions == gold
            out[f"{self.name}.{self.partition}.{target}"] = same.float().mean().item()
        return out
