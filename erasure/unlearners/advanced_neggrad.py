"""NegGrad+ ("Advanced NegGrad"): descend on the retain set while ascending on the forget set."""
from __future__ import annotations

import itertools

from erasure.config import IntRange, LogUniform, Probability, Uniform, spec
from erasure.models import OptimizerFactory, fit

from .base import TrainingUnlearner


class AdvancedNegGrad(TrainingUnlearner):
    """Minimises β·L(D_r) − (1−β)·L(D_f), stepping through retain batches with forget batches
    cycled beside them.

    Kurmanji, Triantafillou, Hayes, Triantafillou, "Towards Unbounded Machine Unlearning",
    NeurIPS 2023 (the SCRUB paper's NegGrad+ baseline).

    Known to fail: a smaller β or more epochs erode retain accuracy (how the defaults were
    chosen: guide/method-notes.md).

    Args:
        beta: weight of the retain loss (the forget loss gets 1 − β); default 0.95 (the paper
            tunes β per setting).
        epochs: passes over D_r (default 4).
        optimizer: default SGD, lr 0.01, momentum 0.9.
    """

    beta: Probability = 0.95
    epochs: int = 4
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)

    # the learning rate sets the strength; β the balance (below 0.8 the ascent soon dominates)
    search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1), "epochs": IntRange(1, 10),
                    "beta": Uniform(0.8, 1.0)}

    def unlearn(self, model, ctx):
        loss_fn = ctx.loss_fn()
        retain, forget = self.batches(ctx, self.ref_data_retain), self.batches(ctx, self.ref_data_forget)

        def step(model, batch):
            (xr, yr), (xf, yf) = batch
            return self.beta * loss_fn(model(xr), yr) - (1 - self.beta) * loss_fn(model(xf), yf)

        fit(model, lambda: zip(retain(), itertools.cycle(forget())),
            self.optimizer(model.parameters()), epochs=self.epochs, step=step,
            on_epoch=ctx.epoch_hook(model))
        return model
