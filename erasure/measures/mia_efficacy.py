"""MIA-Efficacy (Jia et al. 2023, used by SalUn): how much of the forget set an attacker trained on
retain-vs-test outputs takes for unseen data."""
from __future__ import annotations

import json
import math
from functools import partial
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from erasure.config import PartitionName
from erasure.seeding import generator as make_generator

from .base import MeasureContext, Outputs, as_list, balanced_pick
from .membership import MembershipMeasure

#: The per-sample features the attacker may look at (see :func:`attack_features`).
Feature = Literal["confidence", "entropy", "modified_entropy"]
#: ``gamma`` of scikit-learn's SVC: a positive number, ``"auto"`` (1 / features) or ``"scale"``.
Gamma = float | Literal["auto", "scale"]

#: Probabilities are floored here before a logarithm (as in Song & Mittal's code), so that a
#: saturated softmax gives a large finite feature rather than an infinite one.
_FLOOR = math.log(1e-30)


def attack_features(outputs: Outputs, features: str) -> np.ndarray:
    """One feature per sample, shape ``(n, 1)``, computed from the logits in float64.

    - ``confidence``: softmax probability of the true label, p_y.
    - ``entropy``: −Σ_i p_i log p_i.
    - ``modified_entropy`` (Song & Mittal, "Systematic Evaluation of Privacy Risks of Machine
      Learning Models", USENIX Security 2021): −(1 − p_y) log p_y − Σ_{i≠y} p_i log(1 − p_i).
      Jia et al.'s code indexes ``[:, labels]`` (every row at every label present) and takes
      log p for log(1 − p); this is the definition as the paper writes it.
    """
    logits, labels = outputs.logits.detach().cpu().double(), outputs.labels.cpu()
    log_p = F.log_softmax(logits, 1)
    p = log_p.exp()
    if features == "confidence":
        value = p.gather(1, labels[:, None])[:, 0]
    elif features == "entropy":
        value = -torch.special.xlogy(p, p).sum(1)
    elif features == "modified_entropy":
        true = F.one_hot(labels, logits.shape[1]).bool()
        log_p = log_p.clamp_min(_FLOOR)
        log_rest = torch.log(-torch.expm1(log_p)).clamp_min(_FLOOR)  # log(1 − p), accurately
        value = -torch.where(true, (1 - p) * log_p, p * log_rest).sum(1)
    else:
        raise ValueError(f"unknown features '{features}'")
    return value.numpy().reshape(-1, 1)


def svc_efficacy(retain: Outputs, test: Outputs, forget: Outputs,
                 pick: tuple[torch.Tensor, torch.Tensor], *, features: str = "confidence",
                 C: float = 3.0, gamma: float | str = "auto") -> float:
    """Jia et al.'s attack on one model's outputs: an RBF SVC learns members (the picked retain
    samples, label 1) from non-members (the picked test samples, label 0); the result is the
    fraction of the forget samples it predicts to be non-members.

    Args:
        retain, test, forget: the model's outputs on the three partitions.
        pick: positions in ``retain`` and ``test`` of the attacker's training samples (from
            :func:`balanced_pick`); reuse one pick to compare two models on equal terms.
        features, C, gamma: see :class:`MIAEfficacy`.
    """
    if len(forget.labels) == 0:
        raise ValueError("MIA-Efficacy needs a non-empty forget set")
    members, others = pick
    if len(members) == 0 or len(others) == 0:
        raise ValueError("MIA-Efficacy needs non-empty retain and test sets to train its attacker")
    x = np.concatenate([attack_features(retain, features)[members.numpy()],
                        attack_features(test, features)[others.numpy()]])
    y = np.r_[np.ones(len(members)), np.zeros(len(others))]
    # imported here: scikit-learn is slow to import, which runs without it skip
    from sklearn.svm import SVC

    attacker = SVC(C=C, gamma=gamma, kernel="rbf").fit(x, y)
    return float(1.0 - attacker.predict(attack_features(forget, features)).mean())


class SvcAttackMeasure(MembershipMeasure):
    """The parameters of Jia et al.'s SVC membership attack, shared by :class:`MIAEfficacy` and
    :class:`~erasure.measures.avg_gap.AvgGap` (see MIAEfficacy for their meaning)."""

    abstract = True

    retain: PartitionName = "retain"
    features: Feature = "confidence"
    C: float = 3.0
    gamma: Gamma = "auto"

    def __post_init__(self) -> None:
        check_svc(self.C, self.gamma)

    def attack(self, ctx: MeasureContext, model: str, outputs) -> float:
        """MIA-Efficacy of one model (``outputs(partition)`` gives its outputs), on the
        attacker sample every SVC-attack measure of the experiment draws alike — so MIA-Efficacy
        and AvgGap with the same parameters report the same number, computed once per record for
        the unlearned model (``model`` = ``"unlearned"``) and once per experiment for the others
        (``"original"``, ``"gold/<retain>"``)."""
        pick = ctx.memo(f"svc-attack/pick/{self.retain}/{self.reference}",
                        lambda: balanced_pick(len(ctx.data[self.retain]),
                                              len(ctx.data[self.reference]),
                                              make_generator(ctx.experiment_seed, "svc attack",
                                                             self.retain, self.reference)),
                        private=False)
        key = json.dumps(["svc-attack", self.partition, self.retain, self.reference,
                          self.features, self.C, self.gamma])

        def compute() -> float:
            return svc_efficacy(outputs(self.retain), outputs(self.reference),
                                outputs(self.partition), pick, features=self.features,
                                C=self.C, gamma=self.gamma)

        return ctx.memo(key, compute, model=model, private=False)


class MIAEfficacy(SvcAttackMeasure):
    """MIA-Efficacy of Jia, Liu, Ram, Yao, Liu, Liu, Sharma, Liu, "Model Sparsity Can Simplify
    Machine Unlearning", NeurIPS 2023 — the privacy column of SalUn (Fan et al., ICLR 2024).

    For each target model: a support-vector classifier (RBF kernel, ``C``, ``gamma``) is trained
    on one feature of the model's predictions, with retain samples as members (label 1) and
    test samples as non-members (label 0), an equal number of each (``min(|retain|, |test|)``,
    drawn once per experiment and shared with :class:`~erasure.measures.avg_gap.AvgGap`, whose
    MIA term is then this very number — their code takes the first ``|test|`` retain samples
    and the whole test set). It is then applied to the forget set:

        MIA-Efficacy = |{x ∈ D_f : attacker predicts non-member}| / |D_f|   (a fraction;
        SalUn's tables give percentages).

    Higher means the forget samples look more like data the model never saw. The ideal value is
    the retrained (gold) model's, not 1: for a random forget set the gold model's forget samples
    are unseen data that still resemble training data (SalUn, CIFAR-10, 10% random: 12.88%).
    One draw of the attacker's training samples serves every target.

    Args (besides :class:`~erasure.measures.membership.MembershipMeasure`'s ``partition``: where
    the attacker is applied; ``reference``: its training's non-members; ``target``):
        retain: members for the attacker's training.
        features: ``confidence`` (softmax probability of the true label — what SalUn reports as
            MIA-Efficacy), ``entropy`` of the softmax, or ``modified_entropy`` (Song & Mittal,
            USENIX Security 2021); see :func:`attack_features`. Jia et al.'s code computes
            these three, and also ``correctness`` and ``prob`` (the whole probability vector),
            which are not offered here.
        C: the SVC's regularisation (their code: 3).
        gamma: the RBF kernel's width (their code: ``"auto"``, i.e. 1 / number of features).

    Keys: ``mia_efficacy.<partition>.<target>``, in [0, 1], for the default ``confidence``
    features; ``mia_efficacy_entropy.…`` and ``mia_efficacy_modified_entropy.…`` for the others,
    so that one config can report all three.
    """

    name = "mia_efficacy"

    def measure(self, ctx):
        return {f"{key_name(self.name, self.features)}.{self.partition}.{target}":
                self.attack(ctx, target, partial(ctx.output, target))
                for target in as_list(self.target)}


def key_name(name: str, features: str) -> str:
    """``name`` for the default ``confidence`` features, ``name_<features>`` for the others."""
    return name if features == "confidence" else f"{name}_{features}"


def check_svc(C: float, gamma: float | str) -> None:
    """Rejects a non-positive ``C`` or numeric ``gamma`` (ValueError → a config problem)."""
    if not C > 0:
        raise ValueError(f"C must be positive, got {C}")
    if not isinstance(gamma, str) and not gamma > 0:
        raise ValueError(f"gamma must be positive, 'auto' or 'scale', got {gamma}")
