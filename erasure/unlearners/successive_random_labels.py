"""Successive random labels: train on the forget set relabelled at random, beside the retain set."""
from __future__ import annotations

import torch

from erasure.config import IntRange, LogUniform, spec
from erasure.models import OptimizerFactory, fit
from erasure.models.training import Batches

from .base import TrainingUnlearner, UnlearningContext


class SuccessiveRandomLabels(TrainingUnlearner):
    """Gives every forget sample a random *wrong* label, drawn anew each epoch, and trains on those
    together with D_r ("amnesiac" relabelling).

    Graves, Nagisetty, Ganesh, "Amnesiac Machine Learning", AAAI 2021.

    Args:
        epochs: passes over D_r ∪ D_f (default 6: within tolerance of the gold model in the four
            settings of ``bench/defaults.py``, 3 in three of them).
        optimizer: default SGD, lr 0.01, momentum 0.9.
    """

    epochs: int = 6
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)

    search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1), "epochs": IntRange(1, 10)}

    def unlearn(self, model, ctx):
        fit(model, random_label_batches(self, ctx), self.optimizer(model.parameters()),
            ctx.loss_fn(), self.epochs, on_epoch=ctx.epoch_hook(model))
        return model


def random_label_batches(unlearner: TrainingUnlearner, ctx: UnlearningContext) -> Batches:
    """A callable giving one shuffled pass over D_r ∪ D_f in which every forget sample has a
    random *wrong* label, drawn anew on each call from the unlearner's stream (used by SalUn
    too)."""
    data, classes = ctx.data, ctx.data.num_classes
    retain, forget = data[unlearner.ref_data_retain], data[unlearner.ref_data_forget]
    index = torch.cat([retain, forget])
    size = unlearner.batch_size or ctx.predictor.batch_size

    def batches():
        # a shift in 1..classes-1 modulo classes never lands on the true label
        shift = torch.randint(1, classes, (len(forget),), generator=ctx.generator).to(data.device)
        labels = torch.cat([data.y[retain], (data.y[forget] + shift) % classes])
        order = torch.randperm(len(index), generator=ctx.generator).to(data.device)
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            yield data.x[index[chunk]], labels[chunk]

    return batches
