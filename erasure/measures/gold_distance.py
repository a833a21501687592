"""Distances to the gold model: L2 between weights; KL and Jensen–Shannon divergence between output
distributions. Also the divergence helpers every measure shares (ZRF uses the same JS)."""
from __future__ import annotations

import math
from typing import Literal, Union

import torch
import torch.nn.functional as F
from torch import nn

from erasure.config import PartitionName

from .base import Measure, NotApplicable, Targets, as_list

LN2 = math.log(2.0)


def _log_ratio_to_mixture(d: torch.Tensor) -> torch.Tensor:
    """log(p / m) with m = (p + q) / 2, given d = log q − log p, exact 0 where d = 0 and free of
    overflow for any d (the two branches are the same function, each stable on its side)."""
    negative = -torch.log1p(0.5 * torch.expm1(d.clamp(max=0)))          # d <= 0
    positive = LN2 - d - torch.log1p(torch.exp(-d.clamp(min=0)))        # d > 0
    return torch.where(d > 0, positive, negative)


def _weighted(p: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Σ_c p_c · values_c per row, with 0 · anything = 0 (a class of probability 0 adds nothing,
    even where its log-ratio is infinite or undefined)."""
    return torch.where(p > 0, p * values, torch.zeros_like(values)).sum(1)


def js_divergence(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Per-row Jensen–Shannon divergence, in bits (log base 2), between two batches of
    distributions given as log-probabilities (e.g. ``log_softmax(logits)``; ``-inf`` allowed):

        JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M),  M = ½ (P + Q),

    so it lies in [0, 1]: 0 for identical distributions (exactly, when the inputs are equal), 1
    for distributions with disjoint supports. Computed from log-probability differences, never from
    ``log`` of a sum of probabilities, so it neither overflows nor loses precision.
    """
    d = log_q - log_p
    nats = 0.5 * (_weighted(log_p.exp(), _log_ratio_to_mixture(d))
                  + _weighted(log_q.exp(), _log_ratio_to_mixture(-d)))
    return (nats / LN2).clamp(0.0, 1.0)


def kl_divergence(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Per-row KL(P ‖ Q) = Σ p (log p − log q), in bits, from log-probabilities; ``inf`` where Q
    gives probability 0 to a class that P does not."""
    return (_weighted(log_p.exp(), log_p - log_q) / LN2).clamp(min=0.0)


def log_probabilities(logits: torch.Tensor) -> torch.Tensor:
    return F.log_softmax(logits.double(), 1)


def gold(ctx, retain: str) -> nn.Module:
    """The gold model retrained on ``retain``, or :class:`NotApplicable` when there is none."""
    if retain not in ctx.golds:
        raise NotApplicable(f"no gold model retrained on '{retain}' in this experiment")
    return ctx.golds[retain]


class WeightDistance(Measure):
    """Euclidean (L2) distance between the target's parameters and the gold model's, as one
    flattened vector each: ‖θ_target − θ_gold‖₂ (trainable and frozen parameters alike, not
    buffers such as BatchNorm running statistics) — the "verification error" of Thudi, Deza,
    Chandrasekaran, Papernot, "Unrolling SGD: Understanding Factors Influencing Machine
    Unlearning", IEEE EuroS&P 2022.

    Both networks share the predictor's architecture but not their initialisation, so even a
    perfect unlearner is far from the gold model in weight space: compare unlearners with one
    another (and with the original's distance), not with 0. The gold model itself scores 0.

    Args:
        retain: the partition the gold model was retrained on.
        target: ``original``, ``unlearned`` or both.

    Keys: ``l2_to_gold.<retain>.<target>``. Ideal: 0. Not applicable when the two networks'
    parameters differ in names or shapes (the reason lists the first mismatch).
    """

    name = "l2_to_gold"
    direction = "minimize"
    retain: PartitionName = "retain"
    target: Targets = ("original", "unlearned")

    def gold_partitions(self):
        return [self.retain]

    def measure(self, ctx):
        reference = dict(gold(ctx, self.retain).named_parameters())
        out = {}
        for target in as_list(self.target):
            params = dict(ctx.models[target].named_parameters())
            mismatch = _mismatch(params, reference)
            if mismatch:
                raise NotApplicable(f"the {target} model's architecture differs from the gold "
                                    f"model's: {mismatch}")
            squares = sum(((params[k].detach().double() - reference[k].detach().double()) ** 2).sum()
                          for k in reference)
            out[f"l2_to_gold.{self.retain}.{target}"] = float(torch.as_tensor(squares).sqrt())
        return out


def _mismatch(params: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> str:
    for name in reference:
        if name not in params:
            return f"it has no parameter '{name}'"
        if params[name].shape != reference[name].shape:
            return (f"parameter '{name}' has shape {tuple(params[name].shape)}, the gold model's "
                    f"{tuple(reference[name].shape)}")
    extra = sorted(set(params) - set(reference))
    return f"it has parameter '{extra[0]}', which the gold model lacks" if extra else ""


Divergence = Literal["kl", "js"]


class OutputDivergence(Measure):
    """How far the target's output distributions are from the gold model's on a partition (the
    forget set by default): the mean over its samples of

    - ``kl``: KL(gold ‖ target) = Σ_c p_gold,c (log p_gold,c − log p_target,c);
    - ``js``: Jensen–Shannon divergence ½ KL(gold ‖ M) + ½ KL(target ‖ M), M = ½ (gold + target);

    with p = softmax(logits), both in bits (log base 2), so JS lies in [0, 1]. Computed from
    log-softmax outputs in double precision (never ``log`` of a probability that may underflow to
    0). The JS divergence to the retrained model on the forget set is reported by Chundawat,
    Tarun, Mandal, Kankanhalli, "Can Bad Teaching Induce Forgetting?", AAAI 2023; KL(gold ‖
    target) is the same comparison, unbounded and asymmetric (it is infinite where the target
    rules out a class the gold model allows).

    Args:
        partition: where the outputs are compared (the forget set).
        retain: the partition the gold model was retrained on.
        target: ``original``, ``unlearned`` or both.
        divergence: ``kl``, ``js`` or both.

    Keys: ``kl_to_gold.<partition>.<target>`` and ``js_to_gold.<partition>.<target>``. Ideal: 0
    (the gold model scores exactly 0).
    """

    name = "kl_to_gold"  # and "js_to_gold"
    direction = "minimize"

    def key_prefixes(self):
        return ["kl_to_gold", "js_to_gold"]
    partition: PartitionName = "forget"
    retain: PartitionName = "retain"
    target: Targets = ("original", "unlearned")
    divergence: Union[Divergence, list[Divergence]] = ("kl", "js")

    def gold_partitions(self):
        return [self.retain]

    def measure(self, ctx):
        gold(ctx, self.retain)
        log_gold = log_probabilities(ctx.gold_output(self.retain, self.partition).logits)
        functions = {"kl": kl_divergence, "js": js_divergence}
        out = {}
        for target in as_list(self.target):
            log_target = log_probabilities(ctx.output(target, self.partition).logits)
            for kind in as_list(self.divergence):
                value = functions[kind](log_gold, log_target).mean()
                out[f"{kind}_to_gold.{self.partition}.{target}"] = value.item()
        return out
