"""LiRA: the likelihood-ratio membership attack with shadow models, aimed at the forget set."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Optional

import torch
from torch import nn

from erasure.config import Epochs, Range
from erasure.models import fit

from .base import MeasureContext, NotApplicable, OutputStore
from .membership import MembershipMeasure
from .ranking import roc_auc


def scaled_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """LiRA's per-sample statistic φ = log(p_y / (1 − p_y)) with p = softmax(logits) and y the true
    class, computed stably as z_y − logsumexp_{j ≠ y} z_j."""
    labels = labels.view(-1, 1)
    true = logits.gather(1, labels).squeeze(1)
    others = logits.scatter(1, labels, float("-inf"))
    return true - torch.logsumexp(others, 1)


def lira_scores(target: torch.Tensor, shadows: torch.Tensor, inside: torch.Tensor, *,
                offline: bool = False, fixed_variance: bool = True) -> torch.Tensor:
    """Membership scores of samples (higher: more likely a member of the target's training data).

    Args:
        target: φ of each sample under the attacked model, shape ``(n,)``.
        shadows: φ of each sample under each shadow model, shape ``(shadows, n)``.
        inside: whether each shadow trained on each sample, shape ``(shadows, n)``; online, every
            sample needs at least one shadow in and one out; offline, one out.
        offline: score against the OUT Gaussian only (one-sided: (φ − μ_out) / σ_out, monotone in
            Carlini et al.'s offline Λ = Φ((φ − μ_out) / σ_out)); otherwise the log likelihood
            ratio log N(φ; μ_in, σ_in²) − log N(φ; μ_out, σ_out²).
        fixed_variance: one variance for every sample and for IN and OUT alike (the pooled
            within-sample variance), as Carlini et al. advise with few shadows; otherwise a
            variance per sample and side.

    Raises:
        ValueError: a sample without the shadows the chosen variant needs.
    """
    inside = inside.bool()
    sides = (~inside,) if offline else (inside, ~inside)
    stats = []
    for mask in sides:
        weight = mask.to(shadows.dtype)
        count = weight.sum(0)
        if bool((count == 0).any()):
            side = "IN" if mask is inside else "OUT"
            raise ValueError(f"{int((count == 0).sum())} samples have no {side} shadow model")
        mean = (shadows * weight).sum(0) / count
        stats.append((mean, ((shadows - mean) ** 2) * weight, count))
    if fixed_variance:
        squares = sum(float(dev.sum()) for _, dev, _ in stats)
        dof = sum(float((count - 1).sum()) for _, _, count in stats)
        shared = torch.tensor(squares / dof if dof > 0 else 1.0, dtype=shadows.dtype)
        variances = [shared.clamp_min(1e-12)] * len(stats)
    else:
        variances = [(dev.sum(0) / count).clamp_min(1e-12) for _, dev, count in stats]
    if offline:
        (mean, _, _), = stats
        return (target - mean) / variances[0].sqrt()

    def log_density(mean, variance):
        return -0.5 * ((target - mean) ** 2 / variance + variance.log())

    (mean_in, _, _), (mean_out, _, _) = stats
    return log_density(mean_in, variances[0]) - log_density(mean_out, variances[1])


@dataclass
class Shadows:
    """Shadow models and, per sample of the whole data, which shadows trained on it."""

    models: list[nn.Module]
    keep: torch.Tensor  # (shadows, samples) bool


class LiRA(MembershipMeasure):
    """LiRA, the likelihood-ratio membership attack (Carlini, Chien, Nasr, Song, Terzis, Tramèr,
    "Membership Inference Attacks From First Principles", IEEE S&P 2022), aimed at the forget set
    as in U-LiRA (Hayes, Shumailov, Triantafillou, Khalifa, Papernot, "Inexact Unlearning Needs
    More Careful Evaluations to Avoid a False Sense of Privacy", 2024).

    Shadow models: ``n_shadows`` networks of the predictor's architecture, trained with its recipe
    (optimizer, loss, scheduler, batch size; ``shadow_epochs`` or the predictor's epochs) on random
    halves of the pool = the predictor's training set ∪ ``partition`` ∪ ``reference``, drawn as in
    Carlini et al.'s code so that every pool sample is IN for exactly ``n_shadows // 2`` shadows
    and OUT for the rest. The reference (test) samples are in the pool so that they, too, have IN
    shadows and are scored exactly like the forget samples. The shadows, and their logits on
    ``partition`` and ``reference``, are computed once per experiment (``ctx.memo``) and shared
    by every record and every LiRA measure with the same shadow settings.

    For each sample, φ = log(p_y / (1 − p_y)) of the true class; Gaussians are fitted to the
    shadows' φ when IN (μ_in) and OUT (μ_out); the attacked model's φ is scored by the likelihood
    ratio log N(φ; μ_in, σ²) − log N(φ; μ_out, σ²) (online, the default), or, with ``offline``,
    by the one-sided OUT-only test (φ − μ_out)/σ. The score is the attack's ROC AUC at separating
    D_f (positives: the samples that should be forgotten) from an equal-size random sample of
    ``reference`` (negatives, never trained on). A model retrained without D_f scores about 0.5
    on a random forget set; the original, which trained on D_f, scores above it. On a forgotten
    class the reference's other classes make even the retrained model score below 0.5 (its φ on
    a class it never saw is far below every shadow's); compare with the gold model's value there.

    Caveats. (1) Few shadows: Carlini et al. use 64–256; with the default 4, μ_in and μ_out are
    means of 2 shadows each, so the attack is much weaker than the paper's and its AUC is a
    lower bound on what a strong attacker achieves — hence the fixed (pooled) variance, which
    Carlini et al. recommend below ~64 shadows; the AUC also ignores their preferred
    TPR-at-low-FPR view, which ~100 negatives cannot resolve. (2) U-LiRA proper trains the IN
    shadows on x and then *unlearns* x with the method under test, so its IN distribution is the
    method's own; that costs one unlearning run per shadow and unlearner. Here the shadows are
    plain LiRA shadows (IN = trained with x), shared across unlearners: the question asked is
    whether the unlearned model still looks like a model trained on D_f rather than one that never
    saw it.

    Args (besides :class:`~erasure.measures.membership.MembershipMeasure`'s ``partition``: D_f,
    the positives; ``reference``: the negatives; ``target``):
        n_shadows: shadow models (default 4, at least 2).
        shadow_epochs: epochs per shadow; ``None`` uses the predictor's.
        offline: OUT-only scoring (Carlini et al.'s offline variant).
        fixed_variance: one pooled variance (default) instead of one per sample.

    Keys: ``lira.<partition>.<target>`` (AUC; ideal: the gold model's, ≈ 0.5 on a random forget
    set).
    """

    name = "lira"
    attack_name = "LiRA"
    n_shadows: Annotated[int, Range(ge=2)] = 4
    shadow_epochs: Optional[Epochs] = None
    offline: bool = False
    fixed_variance: bool = True

    def shadow_key(self, ctx: MeasureContext) -> str:
        epochs = self.shadow_epochs or ctx.predictor.epochs
        pool = "+".join(sorted({ctx.predictor.training_set, self.partition, self.reference}))
        return f"lira/shadows/n={self.n_shadows}/epochs={epochs}/pool={pool}"

    def train_shadows(self, ctx: MeasureContext) -> Shadows:
        """Trains the shadows (call it through ``ctx.memo``: the global RNG is seeded there)."""
        data, predictor = ctx.data, ctx.predictor
        pool = torch.unique(torch.cat([data[predictor.training_set], data[self.partition],
                                       data[self.reference]]))
        half = self.n_shadows // 2
        keep_pool = (torch.rand(self.n_shadows, len(pool)).argsort(0) < half).to(pool.device)
        batches = torch.Generator().manual_seed(int(torch.randint(0, 2**62, ())))
        models = []
        for s in range(self.n_shadows):
            model = predictor.new_model(data)
            optimizer = predictor.optimizer(model.parameters())
            scheduler = predictor.scheduler(optimizer=optimizer) if predictor.scheduler else None
            index = pool[keep_pool[s]]
            fit(model, lambda index=index: data.index_batches(
                index, predictor.batch_size, shuffle=True, generator=batches),
                optimizer, predictor.loss_fn(), self.shadow_epochs or predictor.epochs, scheduler)
            models.append(model.eval().requires_grad_(False))
        keep = torch.zeros(self.n_shadows, len(data.y), dtype=torch.bool, device=pool.device)
        keep[:, pool] = keep_pool
        return Shadows(models, keep)

    def shadow_phi(self, ctx: MeasureContext, key: str, shadows: Shadows,
                   partition: str) -> torch.Tensor:
        """φ of every shadow on ``partition``, shape ``(shadows, samples)``, computed once."""
        def compute():
            labels = ctx.data.y[ctx.data[partition]]
            return torch.stack([scaled_logits(OutputStore(m, ctx.data)(partition).logits, labels)
                                for m in shadows.models]).cpu()
        return ctx.memo(f"{key}/phi/{partition}", compute, private=False)

    def measure(self, ctx):
        if ctx.predictor is None:
            raise NotApplicable("no training recipe (predictor) to train shadow models with")
        sample = self.draw(ctx)  # D_f first (positives), then the reference
        key = self.shadow_key(ctx)
        shadows = ctx.memo(key, lambda: self.train_shadows(ctx), private=False)
        shadow_phi = torch.cat([self.shadow_phi(ctx, key, shadows, p)[:, pick]
                                for p, pick in sample.picks], 1)
        inside = torch.cat([shadows.keep[:, ctx.data[p]].cpu()[:, pick]
                            for p, pick in sample.picks], 1)

        def auc(target: str) -> float:
            phi = sample.gather(partial(ctx.output, target),
                                lambda out: scaled_logits(out.logits, out.labels))
            scores = lira_scores(phi, shadow_phi, inside, offline=self.offline,
                                 fixed_variance=self.fixed_variance)
            return roc_auc(sample.labels, scores.numpy())

        return self.report(ctx, "auc", auc)
