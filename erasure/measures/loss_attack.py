"""A loss-threshold membership attack (Yeom et al. 2018), reported as ROC AUC."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from erasure.config import PartitionName

from .base import Measure, Targets, as_list, balanced_pick
from .ranking import roc_auc


@dataclass(kw_only=True)
class LossAttack(Measure):
    """The loss-threshold attack of Yeom, Giacomelli, Fredrikson, Jha, "Privacy Risk in Machine
    Learning: Analyzing the Connection to Overfitting", IEEE CSF 2018: a sample is called a member
    when its loss is below a threshold. Reported over every threshold at once, as the area under
    the ROC curve (no threshold to choose, nothing to train).

    Members are the forget set's samples, non-members an equal-size random sample of the reference
    (test) set — ``min(|forget|, |test|)`` of each, drawn once from the measure's own stream and
    used for every target. The score of a sample is −(its cross-entropy loss), and

        loss_auc = P(score(member) > score(non-member)) + ½ P(tie)   (the ROC AUC, exactly).

    0.5 means the forget set's losses are indistinguishable from unseen data's — what the
    retrained model gives on a random forget set; 1.0 means every forget sample has a lower loss
    than every test sample (typical of a model that still remembers them). For a forgotten
    class, the gold model's forget losses are high (it never learnt the class) and the value falls
    below 0.5; compare against the gold model's value rather than 0.5 there.

    Args:
        partition: the forget partition (members).
        reference: the unseen partition (non-members).
        target: ``original``, ``unlearned`` or both.

    Keys: ``loss_auc.<partition>.<target>``, in [0, 1].
    """

    name = "loss_auc"
    partition: PartitionName = "forget"
    reference: PartitionName = "test"
    target: Targets = ("original", "unlearned")

    def measure(self, ctx):
        members, others = len(ctx.data[self.partition]), len(ctx.data[self.reference])
        n = min(members, others)
        if n == 0:
            raise ValueError(f"the loss attack needs samples in '{self.partition}' and "
                             f"'{self.reference}', got {members} and {others}")
        pick_members, pick_others = balanced_pick(members, others, ctx.generator)
        labels = np.r_[np.ones(n), np.zeros(n)]
        out = {}
        for target in as_list(self.target):
            def auc(target: str = target) -> float:
                losses = torch.cat([ctx.output(target, self.partition).losses.cpu()[pick_members],
                                    ctx.output(target, self.reference).losses.cpu()[pick_others]])
                return roc_auc(labels, -losses.double().numpy())

            out[f"loss_auc.{self.partition}.{target}"] = ctx.per_target(target, "auc", auc)
        return out
