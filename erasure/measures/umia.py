"""U-MIA: can a loss-based attacker tell the forget set from unseen test data?"""
from __future__ import annotations

from functools import partial
from typing import Annotated

import numpy as np
import torch

from erasure.config import Range
from erasure.seeding import generator as make_generator

from .base import MeasureContext, as_list
from .membership import MembershipMeasure, draw


class UMIA(MembershipMeasure):
    """Membership inference from per-sample losses, as in Kurmanji et al., "Towards Unbounded
    Machine Unlearning", NeurIPS 2023 (the NeurIPS 2023 unlearning challenge's simple MIA).

    The per-sample cross-entropy losses of the forget set (label 1) and of an equal-size random
    sample of the reference (test) set (label 0) train a logistic regression; the score is its
    cross-validated accuracy (``n_splits`` stratified shuffle splits). 0.5 means the attacker
    cannot tell forgotten samples from unseen ones — what the retrained model scores on a random
    forget set.

    Args (besides :class:`~erasure.measures.membership.MembershipMeasure`'s ``partition``,
    ``reference``, ``target``):
        n_splits: cross-validation splits.

    Keys: ``umia.<partition>.<target>``.
    """

    name = "umia"
    n_splits: Annotated[int, Range(ge=2)] = 10

    def measure(self, ctx):
        scores = umia_scores(ctx, self.partition, self.reference, as_list(self.target), self.n_splits)
        return {f"umia.{self.partition}.{target}": score for target, score in scores.items()}


def umia_scores(ctx: MeasureContext, partition: str, reference: str, targets: list[str],
                n_splits: int = 10) -> dict[str, float]:
    """The U-MIA score of each target (see :class:`UMIA`): members are ``partition``, non-members
    an equal-size sample of ``reference``, both drawn once from ``ctx.generator`` and shared by
    the targets; cross-validation splits seeded by ``ctx.seed``.

    Raises:
        ValueError: fewer than ``n_splits`` samples in either partition.
    """
    sample = draw(ctx, partition, reference, "U-MIA", at_least=n_splits)
    splits = stratified_splits(len(sample.members), n_splits,
                               make_generator(ctx.seed, "umia splits"))

    def score(target: str) -> float:
        losses = sample.losses(partial(ctx.output, target)).double().numpy()
        return logistic_cv_accuracy(losses, sample.labels, splits)

    return {target: ctx.memo(f"umia/{partition}/{reference}/{n_splits}", partial(score, target),
                             model=target)
            for target in targets}


def stratified_splits(n: int, n_splits: int, generator: torch.Generator
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` random ``(train, test)`` splits of ``n`` members (positions ``0 … n−1``) and
    ``n`` non-members (``n … 2n−1``), stratified like scikit-learn's ``StratifiedShuffleSplit``
    with 10% held out: each split holds out ⌈n / 10⌉ members and as many non-members (so at
    least one of each) and trains on the rest; drawn from ``generator``.

    Args:
        n: members, and non-members; at least 2 (one to hold out and one to train on).
    """
    held_out = max(1, -(-n // 10))
    order = torch.rand(n_splits, 2, n, generator=generator).argsort(2).numpy()
    order[:, 1] += n  # the non-members' positions
    return [(split[:, held_out:].ravel(), split[:, :held_out].ravel()) for split in order]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−z), without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logistic_cv_accuracy(x: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]],
                         C: float = 1.0, iterations: int = 100) -> float:
    """Mean held-out accuracy of scikit-learn's default ``LogisticRegression`` (L2, ``C`` = 1,
    unpenalised intercept) on one feature, over ``splits`` — solved exactly by Newton's method
    for every split at once, instead of one lbfgs fit per split (faster — bench/README.md; the
    same optimum, to within lbfgs's own tolerance).

    Args:
        x: the feature, shape ``(n,)``; y: labels 0/1; splits: ``(train, test)`` index pairs.
    """
    train = np.zeros((len(splits), len(x)))
    for s, (fit, _) in enumerate(splits):
        train[s, fit] = 1.0
    w, b = np.zeros(len(splits)), np.zeros(len(splits))
    step = np.inf
    for _ in range(iterations):
        p = sigmoid(w[:, None] * x + b[:, None])
        r, h = train * (p - y), train * p * (1.0 - p)
        gw, gb = w + C * (r * x).sum(1), C * r.sum(1)
        hww, hwb, hbb = 1.0 + C * (h * x * x).sum(1), C * (h * x).sum(1), C * h.sum(1)
        det = hww * hbb - hwb * hwb
        dw, db = (hbb * gw - hwb * gb) / det, (hww * gb - hwb * gw) / det
        w, b = w - dw, b - db
        step = max(np.abs(dw).max(), np.abs(db).max())
        if not step > 1e-12:  # converged (or NaN: then scikit-learn decides below)
            break
    if not (np.isfinite(w).all() and np.isfinite(b).all() and step < 1e-6):
        # imported here: scikit-learn is slow to import, needed only on this path
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_score

        return float(cross_val_score(LogisticRegression(), x.reshape(-1, 1), y, cv=splits,
                                     scoring="accuracy").mean())
    accuracies = [np.mean(((w[s] * x[test] + b[s]) > 0) == y[test]) for s, (_, test) in enumerate(splits)]
    return float(np.mean(accuracies))
