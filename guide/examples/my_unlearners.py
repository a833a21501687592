"""Chapter 3: your own unlearners, in your own module, outside the ``erasure`` package.

``unlearner.jsonc`` beside this file names them by dotted path (``my_unlearners.NoisyFinetuning``).
The config file's folder is on the import path, so nothing needs installing.
"""
from __future__ import annotations

import itertools
from typing import Annotated

import torch

from erasure import OptimizerFactory, Range, TrainingUnlearner, Unlearner, fit, spec


class AddNoise(Unlearner):
    """Adds Gaussian noise to every weight (a deliberately naive unlearner).

    Args:
        sigma: standard deviation of the noise, relative to each tensor's own standard deviation.
    """

    sigma: Annotated[float, Range(ge=0)] = 0.5

    def unlearn(self, model, ctx):
        add_noise(model, self.sigma, ctx.generator)
        return model


def add_noise(model, sigma, generator):
    """Adds noise of ``sigma`` times each weight tensor's own standard deviation, in place."""
    with torch.no_grad():
        for p in model.parameters():
            noise = torch.randn(p.shape, generator=generator).to(p.device)
            p.add_(noise * sigma * p.std().nan_to_num(0.0))


class NoisyFinetuning(TrainingUnlearner):
    """Perturbs every weight with Gaussian noise, then fine-tunes on the retain set to repair.

    Args:
        sigma: standard deviation of the noise, relative to each tensor's own standard deviation.
        epochs: repair epochs on the retain set.
        optimizer: optimizer for the repair.
        batch_size: repair batch size (default: the predictor's).
    """

    sigma: Annotated[float, Range(ge=0)] = 0.5
    epochs: int = 3  # a new default; TrainingUnlearner's bounds on epochs still hold

    def unlearn(self, model, ctx):
        add_noise(model, self.sigma, ctx.generator)  # the helper of step 1
        fit(model, self.batches(ctx, self.ref_data_retain), self.optimizer(model.parameters()),
            ctx.loss_fn(), self.epochs)
        return model


class GradientDifference(TrainingUnlearner):
    """Each step descends the retain loss and ascends the forget loss:
    ``loss = L(retain batch) - forget_weight * L(forget batch)``. Each batch is a pair, a retain
    batch and a forget batch (the forget batches cycle, since the forget set is the smaller one).

    Args:
        forget_weight: weight of the forget term.
        epochs: passes over the retain set.
        optimizer: optimizer for both terms.
        batch_size: batch size of both partitions (default: the predictor's).
    """

    forget_weight: float = 0.3
    epochs: int = 3
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01)

    def __post_init__(self) -> None:
        if self.forget_weight >= 1:
            raise ValueError(f"forget_weight must be below 1 (the ascent would outweigh the "
                             f"descent), got {self.forget_weight}")

    def unlearn(self, model, ctx):
        loss_fn = ctx.loss_fn()
        retain_batches = self.batches(ctx, self.ref_data_retain)
        forget_batches = self.batches(ctx, self.ref_data_forget)

        def pairs():  # one pass over the retain set, a forget batch beside each retain batch
            return zip(retain_batches(), itertools.cycle(forget_batches()))

        def step(model, batch):  # the loss of one batch; fit takes its gradient
            (xr, yr), (xf, yf) = batch
            return loss_fn(model(xr), yr) - self.forget_weight * loss_fn(model(xf), yf)

        fit(model, pairs, self.optimizer(model.parameters()), epochs=self.epochs, step=step)
        return model
