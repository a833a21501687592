"""CF-k: catastrophically forget by fine-tuning only the last k layers on the retain set."""
from __future__ import annotations

from torch import nn

from erasure.config import Count, IntRange, LogUniform, spec
from erasure.models import OptimizerFactory, fit
from erasure.models.layers import last_layers

from .base import TrainingUnlearner, UnlearningContext


def train_last_layers(model: nn.Module, layers: list[tuple[str, nn.Module]],
                      unlearner: TrainingUnlearner, ctx: UnlearningContext, partition: str) -> None:
    """Trains only the parameters of ``layers`` on ``partition``; everything else stays
    bit-identical, batch-norm running statistics included.

    The loop is :func:`erasure.models.fit`; the optimizer gets only the trainable parameters, and
    every module outside ``layers`` that holds parameters or buffers is kept in eval mode, so a
    frozen batch-norm layer normalises with its stored running statistics and never updates
    them. Modules without state (dropout) keep training behaviour. The ``requires_grad`` flags
    and train/eval modes are restored afterwards, so a later cascade step can train the whole
    model. A parameter shared between a frozen and a trainable layer is trained.

    Raises:
        Diverged: the loss of an epoch is NaN or infinite.
    """
    chosen = {id(m) for _, m in layers}
    params, seen = [], set()
    for _, module in layers:
        for p in module.parameters(recurse=False):
            if p.requires_grad and id(p) not in seen:  # a frozen parameter stays frozen
                seen.add(id(p))
                params.append(p)
    frozen = [m for m in model.modules() if id(m) not in chosen and (
        next(m.parameters(recurse=False), None) is not None
        or next(m.buffers(recurse=False), None) is not None)]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    modes = [(m, m.training) for m in model.modules()]
    try:
        for p, _ in flags:
            p.requires_grad_(id(p) in seen)
        fit(model, unlearner.batches(ctx, partition), unlearner.optimizer(params), ctx.loss_fn(),
            unlearner.epochs, frozen=frozen, on_epoch=ctx.epoch_hook(model))
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        for module, mode in modes:
            module.training = mode


class CFk(TrainingUnlearner):
    """CF-k: freezes all but the last k parameterised layers and fine-tunes those on D_r, so that
    forgetting comes from catastrophic interference confined to the top of the network.

    Goel, Prabhu, Sanyal, Lim, Torr, Kumaraguru, "Towards Adversarial Evaluation of Machine
    Unlearning" (also titled "Evaluating Inexact Unlearning Requires Revisiting Forgetting"),
    arXiv:2201.06640, 2022.

    A layer is a module that owns parameters (Linear, Conv, batch norm…), counted from the output;
    ReLU, Flatten and pooling are not layers. With k equal to the number of layers, CF-k is
    :class:`~erasure.unlearners.finetuning.Finetuning` step for step.

    Frozen batch norm: every frozen layer stays bit-identical, running statistics included —
    frozen layers (and any frozen module with buffers) run in eval mode during fine-tuning, so
    they normalise with the statistics learnt on the full training set. Batch-norm layers among
    the last k train normally (batch statistics, running statistics updated).

    Known to fail: a whole class is only partly forgotten, as with full fine-tuning (measured on
    digits: guide/method-notes.md).

    Args:
        last_trainable_layers: k, the number of parameterised layers (from the output) that are
            fine-tuned (default 1, only the classifier; the paper varies k). It must not exceed
            the network's layer count (checked when the model is known; the run is then
            recorded as failed with both numbers).
        epochs: passes over D_r (default 10, as Finetuning).
        optimizer: default SGD, lr 0.01, momentum 0.9 (as Finetuning).
        batch_size: ``None`` uses the predictor's.
    """

    last_trainable_layers: Count = 1
    epochs: int = 10
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)

    # k up to 2: the built-in networks have at least two layers at their default widths (k = 2
    # on the digits MLP is Finetuning); a k above the network's layer count fails the run
    search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1), "epochs": IntRange(1, 10),
                    "last_trainable_layers": IntRange(1, 2)}

    def unlearn(self, model, ctx):
        layers = last_layers(model, self.last_trainable_layers)
        train_last_layers(model, layers, self, ctx, self.ref_data_retain)
        return model
