"""Chapter 8: an unlearner of your own that tuning can search.

Two additions to an unlearner make it tunable: ``search_space``, a class attribute beside the
fields (each parameter path → the range tuning draws it from), and ``on_epoch=ctx.epoch_hook(model)``
passed to ``fit``, which reports each epoch so that pruning can stop a bad trial early (outside
tuning the hook is None and nothing is reported). ``tuning.jsonc`` beside this file tunes it.
"""
from __future__ import annotations

from typing import Annotated

import torch

from erasure import IntRange, LogUniform, Range, TrainingUnlearner, Uniform, fit


class TunableNoisyFinetuning(TrainingUnlearner):
    """Chapter 3's NoisyFinetuning, tunable: noise on every weight, then repair on the retain set.

    Args:
        sigma: standard deviation of the noise, relative to each tensor's own standard deviation.
        epochs: repair epochs on the retain set.
        optimizer: optimizer for the repair.
    """

    sigma: Annotated[float, Range(ge=0)] = 0.5
    epochs: int = 3

    search_space = {"sigma": Uniform(0.0, 2.0),
                    "optimizer.parameters.lr": LogUniform(1e-4, 1e-1),
                    "epochs": IntRange(1, 10)}

    def unlearn(self, model, ctx):
        with torch.no_grad():  # the noise of chapter 3's add_noise
            for p in model.parameters():
                noise = torch.randn(p.shape, generator=ctx.generator).to(p.device)
                p.add_(noise * self.sigma * p.std().nan_to_num(0.0))
        fit(model, self.batches(ctx, self.ref_data_retain), self.optimizer(model.parameters()),
            ctx.loss_fn(), self.epochs, on_epoch=ctx.epoch_hook(model))
        return model
