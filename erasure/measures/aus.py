"""One-number summaries of forgetting and utility: AUS (DUCK) and NoMUS."""
from __future__ import annotations

from typing import Annotated, Literal

from erasure.config import PartitionName, Probability, Range

from .base import Measure, Targets, as_list
from .umia import umia_scores


class AUS(Measure):
    """Adaptive Unlearning Score, from Cotogni, Bonato, Sabetta, Pelosin, Nicolosi, "DUCK:
    Distance-based Unlearning via Centroid Kinematics", arXiv:2312.02052, 2023:

        AUS = (1 − (TA_original − TA)) / (1 + |TA − FA|)      (mode ``random``)
        AUS = (1 − (TA_original − TA)) / (1 + FA)             (mode ``class``)

    with accuracies in [0, 1] (as in the authors' code): TA the target's accuracy on ``test``,
    TA_original the original's, FA the target's accuracy on ``forget``. The numerator charges the
    test accuracy lost to unlearning; the denominator the forget accuracy's distance from what a
    model that never saw D_f would score — its test accuracy for a random forget set (the paper's
    "homogeneous removal"), 0 for a removed class (the paper's "class removal", where ``forget``
    is best the test samples of the removed classes and ``test`` the test samples of the
    others). An original that loses nothing and forgets perfectly scores 1.

    Args:
        forget: the partition FA is measured on.
        test: the partition TA is measured on.
        mode: ``random`` or ``class`` forgetting (the denominator above).
        target: ``original``, ``unlearned`` or both (the original's AUS is the baseline:
            nothing lost, nothing forgotten).

    Keys: ``aus.<forget>.<target>``. In [0, 2]; ideal 1 (above 1 only if unlearning raises the
    test accuracy).
    """

    name = "aus"
    direction = "maximize"
    forget: PartitionName = "forget"
    test: PartitionName = "test"
    mode: Literal["random", "class"] = "random"
    target: Targets = ("original", "unlearned")

    def measure(self, ctx):
        original_test = ctx.output("original", self.test).accuracy
        out = {}
        for target in as_list(self.target):
            test = ctx.output(target, self.test).accuracy
            forget = ctx.output(target, self.forget).accuracy
            gap = abs(test - forget) if self.mode == "random" else forget
            out[f"aus.{self.forget}.{target}"] = (1.0 - (original_test - test)) / (1.0 + gap)
        return out


class NoMUS(Measure):
    """Normalised Machine Unlearning Score, from Choi and Na, "Towards Machine Unlearning
    Benchmarks: Forgetting the Personal Identities in Facial Recognition Systems",
    arXiv:2311.02240, 2023:

        NoMUS = λ · TA + (1 − λ) · (1 − 2 · |U-MIA − 0.5|),

    TA the target's test accuracy in [0, 1], U-MIA the loss-based attack of :class:`UMIA` (the
    forget set against an equal-size sample of ``test``; the same computation, drawn from this
    measure's own stream, so its U-MIA may differ slightly from the UMIA measure's). The second
    term is 1 when the attacker is at chance and 0 when it always (or never) tells D_f apart.

    Args:
        forget: the forget partition (U-MIA's members).
        test: the test partition (TA, and U-MIA's non-members).
        weight: λ, the weight of test accuracy (0.5 in the paper).
        n_splits: U-MIA's cross-validation splits.
        target: ``original``, ``unlearned`` or both.

    Keys: ``nomus.<forget>.<target>``. In [0, 1]; ideal: the gold model's (1 only with perfect
    test accuracy and an attacker at chance).
    """

    name = "nomus"
    forget: PartitionName = "forget"
    test: PartitionName = "test"
    weight: Probability = 0.5
    n_splits: Annotated[int, Range(ge=2)] = 10
    target: Targets = ("original", "unlearned")

    def measure(self, ctx):
        targets = as_list(self.target)
        attack = umia_scores(ctx, self.forget, self.test, targets, self.n_splits)
        out = {}
        for target in targets:
            test = ctx.output(target, self.test).accuracy
            privacy = 1.0 - 2.0 * abs(attack[target] - 0.5)
            out[f"nomus.{self.forget}.{target}"] = self.weight * test + (1.0 - self.weight) * privacy
        return out
