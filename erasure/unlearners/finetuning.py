"""Finetuning: continue training on the retain set only."""
from __future__ import annotations

from erasure.config import IntRange, LogUniform, spec
from erasure.models import OptimizerFactory, fit

from .base import TrainingUnlearner


class Finetuning(TrainingUnlearner):
    """Fine-tunes the original on D_r; forgetting comes from catastrophic interference.

    Golatkar, Achille, Soatto, "Eternal Sunshine of the Spotless Net", CVPR 2020; Warnecke et al.,
    NDSS 2023. SalUn's protocol (Fan et al., ICLR 2024) uses 10 epochs with the learning rate
    searched in [1e-4, 1e-1].

    Known to fail: it only ever trains on D_r, so a whole removed class is only partly
    forgotten, far from the gold model's forget accuracy of 0 (digits: guide/method-notes.md, CFk).

    Args:
        epochs: passes over D_r (default 10, as in SalUn's protocol).
        optimizer: default SGD, lr 0.01, momentum 0.9.
    """

    epochs: int = 10
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)

    search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1), "epochs": IntRange(1, 10)}

    def unlearn(self, model, ctx):
        fit(model, self.batches(ctx, self.ref_data_retain), self.optimizer(model.parameters()),
            ctx.loss_fn(), self.epochs, on_epoch=ctx.epoch_hook(model))
        return model
