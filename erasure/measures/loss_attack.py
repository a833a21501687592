"""A loss-threshold membership attack (Yeom et al. 2018), reported as ROC AUC."""
from __future__ import annotations

from functools import partial

from .membership import MembershipMeasure
from .ranking import roc_auc


class LossAttack(MembershipMeasure):
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

    Args: those of :class:`~erasure.measures.membership.MembershipMeasure` (``partition``,
    ``reference``, ``target``).

    Keys: ``loss_auc.<partition>.<target>``, in [0, 1].
    """

    name = "loss_auc"
    attack_name = "the loss attack"

    def measure(self, ctx):
        sample = self.draw(ctx)

        def auc(target: str) -> float:
            losses = sample.losses(partial(ctx.output, target))
            return roc_auc(sample.labels, -losses.double().numpy())

        return self.report(ctx, "auc", auc)
