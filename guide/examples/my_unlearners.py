"""Chapter 3: your own unlearners, in your own module, outside the ``erasure`` package.

``unlearner.jsonc`` beside this file names them by dotted path (``my_unlearners.NoisyFinetuning``).
The config file's folder is on the import path, so nothing needs installing.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from erasure.config import spec
from erasure.models import OptimizerFactory, check_finite, fit
from erasure.unlearners import TrainingUnlearner, Unlearner


@dataclass(kw_only=True)
class AddNoise(Unlearner):
    """Adds Gaussian noise to every weight (a deliberately naive unlearner).

    Args:
        sigma: standard deviation of the noise, relative to each tensor's own standard deviation.
    """

    sigma: float = 0.5

    def __post_init__(self) -> None:
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")

    def unlearn(self, model, ctx):
        add_noise(model, self.sigma, ctx.generator)
        return model


def add_noise(model, sigma, generator):
    """Adds noise of ``sigma`` times each weight tensor's own standard deviation, in place."""
    with torch.no_grad():
        for p in model.parameters():
            noise = torch.randn(p.shape, generator=generator).to(p.device)
            p.add_(noise * sigma * p.std().nan_to_num(0.0))


@dataclass(kw_only=True)
class NoisyFinetuning(TrainingUnlearner):
    """Perturbs every weight with Gaussian noise, then fine-tunes on the retain set to repair.

    Args:
        sigma: standard deviation of the noise, relative to each tensor's own standard deviation.
        epochs: repair epochs on the retain set.
        optimizer: optimizer for the repair.
        batch_size: repair batch size (default: the predictor's).
    """

    sigma: float = 0.5
    epochs: int = 3
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)

    def __post_init__(self) -> None:
        super().__post_init__()  # TrainingUnlearner checks epochs and batch_size
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")

    def unlearn(self, model, ctx):
        add_noise(model, self.sigma, ctx.generator)  # the helper of step 1
        fit(model, self.batches(ctx, self.ref_data_retain), self.optimizer(model.parameters()),
            ctx.loss_fn(), self.epochs)
        return model


@dataclass(kw_only=True)
class GradientDifference(TrainingUnlearner):
    """Each step descends the retain loss and ascends the forget loss:
    ``loss = L(retain batch) - forget_weight * L(forget batch)``. A hand-written loop over two
    partitions at once (the forget batches cycle, since the forget set is the smaller one).

    Args:
        forget_weight: weight of the forget term.
        epochs: passes over the retain set.
        optimizer: optimizer for both terms.
        batch_size: batch size of both partitions (default: the predictor's).
    """

    forget_weight: float = 0.3
    epochs: int = 3
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01)

    def unlearn(self, model, ctx):
        loss_fn = ctx.loss_fn()
        optimizer = self.optimizer(model.parameters())
        retain_batches = self.batches(ctx, self.ref_data_retain)
        forget_batches = self.batches(ctx, self.ref_data_forget)
        model.train()
        for epoch in range(self.epochs):
            total = 0.0
            for (xr, yr), (xf, yf) in zip(retain_batches(), itertools.cycle(forget_batches())):
                optimizer.zero_grad()
                loss = loss_fn(model(xr), yr) - self.forget_weight * loss_fn(model(xf), yf)
                loss.backward()
                optimizer.step()
                total += loss.item()
            check_finite(total, f"in epoch {epoch + 1}")  # a NaN loss fails this record only
        return model
