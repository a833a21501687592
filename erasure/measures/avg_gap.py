"""Avg gap (SalUn): the mean distance to the retrained model over UA, RA, TA and MIA-Efficacy."""
from __future__ import annotations

from functools import partial

from .base import NotApplicable, as_list
from .mia_efficacy import SvcAttackMeasure, key_name


class AvgGap(SvcAttackMeasure):
    """Avg gap of Fan, Liu, Zhang, Wong, Wei, Liu, "SalUn: Empowering Machine Unlearning via
    Gradient-based Weight Saliency in Both Image Classification and Generation", ICLR 2024:

        avg_gap = ¼ (|UA − UA*| + |RA − RA*| + |TA − TA*| + |MIA − MIA*|)

    where UA = 1 − accuracy on the forget set, RA = accuracy on the retain set, TA = accuracy on
    the test set, MIA = MIA-Efficacy (Jia et al., NeurIPS 2023; :class:`MIAEfficacy`), and a star
    marks the gold model retrained on ``retain`` (trained once per experiment, shared). Both
    models' MIA-Efficacy come from the same procedure with the same draw of the attacker's
    training samples (the draw :class:`MIAEfficacy` uses too, so its number is the MIA term
    here), each attacker trained on its own model's outputs.

    All four quantities are fractions in [0, 1], so the value is too; SalUn's tables give
    percentages (CIFAR-10, 10% random forgetting: SalUn 1.15, i.e. 0.0115 here). 0 is ideal, and
    the gold model itself scores exactly 0.

    Args (besides :class:`~erasure.measures.membership.MembershipMeasure`'s ``partition``: the
    forget set; ``reference``: TA, and the attacker's non-members; ``target``):
        retain: the retain partition; the gold model is the one retrained on it.
        features, C, gamma: MIA-Efficacy's attack (see :class:`MIAEfficacy`; defaults as SalUn).

    Keys: ``avg_gap.<partition>.<target>`` (``avg_gap_entropy.…`` or
    ``avg_gap_modified_entropy.…`` when MIA-Efficacy uses those features).
    """

    name = "avg_gap"
    direction = "minimize"

    def gold_partitions(self):
        return [self.retain]

    def measure(self, ctx):
        if self.retain not in ctx.gold_outputs:
            raise NotApplicable(f"no gold model retrained on '{self.retain}' in this experiment")
        gold = self.metrics(ctx, f"gold/{self.retain}", partial(ctx.gold_output, self.retain))
        out = {}
        for target in as_list(self.target):
            mine = self.metrics(ctx, target, partial(ctx.output, target))
            gaps = [abs(a - b) for a, b in zip(mine, gold)]
            out[f"{key_name(self.name, self.features)}.{self.partition}.{target}"] = sum(gaps) / len(gaps)
        return out

    def metrics(self, ctx, model: str, output) -> tuple[float, float, float, float]:
        """UA, RA, TA and MIA-Efficacy of one model, given its outputs per partition."""
        forget, retain, test = output(self.partition), output(self.retain), output(self.reference)
        mia = self.attack(ctx, model, output)
        return 1.0 - forget.accuracy, retain.accuracy, test.accuracy, mia
