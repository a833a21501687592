"""NegGrad: gradient ascent on the forget set."""
from __future__ import annotations

from erasure.config import IntRange, LogUniform, spec
from erasure.models import OptimizerFactory, fit

from .base import TrainingUnlearner


class NegGrad(TrainingUnlearner):
    """Maximises the loss on D_f by gradient ascent.

    Thudi, Deza, Chandrasekaran, Papernot, "Unrolling SGD: Understanding Factors Influencing
    Machine Unlearning", EuroS&P 2022.

    Known to fail: very sensitive to learning rate and steps — run long, it destroys the model
    (how the defaults were chosen: guide/method-notes.md).

    Args:
        epochs: passes over D_f (default 4).
        optimizer: default SGD, lr 0.01, momentum 0.9.
    """

    epochs: int = 4
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)

    # an epoch over D_f is cheap and may be a single step (41 samples in batches of 64)
    search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1), "epochs": IntRange(1, 30)}

    def unlearn(self, model, ctx):
        loss_fn = ctx.loss_fn()
        fit(model, self.batches(ctx, self.ref_data_forget), self.optimizer(model.parameters()),
            lambda logits, y: -loss_fn(logits, y), self.epochs, on_epoch=ctx.epoch_hook(model))
        return model
