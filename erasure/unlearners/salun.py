"""SalUn: random-label unlearning restricted to the weights most salient for the forget set."""
from __future__ import annotations

import torch
from torch import nn

from erasure.config import IntRange, LogUniform, Uniform, spec
from erasure.data import Data
from erasure.models import OptimizerFactory, fit

from .base import TrainingUnlearner
from .successive_random_labels import random_label_batches


def forget_gradient(model: nn.Module, data: Data, partition: str, loss_fn: nn.Module,
                    batch_size: int) -> dict[str, torch.Tensor]:
    """The gradient of the mean loss over all of ``partition`` with respect to every parameter,
    the network in eval mode (batch norm uses its running statistics and is not updated).

    Batches are weighted by their size, so the result is the full-partition gradient whatever the
    batch size (the loss must average over its batch, as ``CrossEntropyLoss`` does by default).
    """
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]
    total = [torch.zeros_like(p) for p in params]
    index = data[partition]
    was_training = model.training
    model.eval()
    try:
        for x, y in data.index_batches(index, batch_size):
            loss = loss_fn(model(x), y) * (len(y) / len(index))
            for t, g in zip(total, torch.autograd.grad(loss, params, allow_unused=True)):
                if g is not None:
                    t += g
    finally:
        model.train(was_training)
    return dict(zip(names, total))


def saliency_mask(gradients: dict[str, torch.Tensor], fraction: float) -> dict[str, torch.Tensor]:
    """Boolean masks keeping the ``int(fraction × n)`` weights of largest |gradient| among all
    ``n`` weights of the network together (one global threshold, not one per layer).

    Ties at the threshold are broken by position (a stable sort), so exactly that many weights
    are kept.
    """
    flat = torch.cat([g.abs().flatten() for g in gradients.values()])
    keep = int(len(flat) * fraction)
    chosen = torch.zeros(len(flat), dtype=torch.bool, device=flat.device)
    chosen[torch.sort(flat, descending=True, stable=True).indices[:keep]] = True
    masks, start = {}, 0
    for name, g in gradients.items():
        masks[name] = chosen[start:start + g.numel()].view_as(g)
        start += g.numel()
    return masks


class SalUn(TrainingUnlearner):
    """Saliency unlearning: (1) a weight-saliency mask from the gradient of the forget loss at the
    original weights, keeping the weights whose |gradient| is in the top ``mask_fraction`` of all
    the network's weights; (2) random-label training (every forget sample given a random wrong
    label, redrawn each epoch, shuffled together with D_r) that updates only the masked weights.

    Fan, Liu, Zhang, Wei, Wong, Liu, "SalUn: Empowering Machine Unlearning via Gradient-based
    Weight Saliency in Both Image Classification and Generation", ICLR 2024.

    Details, and where the paper and its official code (OPTML-Group/Unlearn-Saliency) differ:

    - the saliency is |∇_θ ℓ(θ; D_f)| at the original weights with the predictor's loss
      (cross-entropy), over the whole forget set, the network in eval mode (the code sums the
      gradients of batch means, which ranks the weights the same up to a smaller last batch).
    - the threshold is a single *global* one over all weights, as in the official
      ``generate_mask.py``, which ranks the concatenation of every parameter's |gradient|; not one
      per layer. Biases and normalisation weights are ranked with the rest. Exactly
      ``int(mask_fraction × n)`` weights are kept, ties at the threshold broken by position.
    - the unlearned model is m ⊙ θ_u + (1 − m) ⊙ θ_o: gradients are masked before each step and,
      after each step, weights outside the mask are written back from the original (as the
      official ``RL.py`` does), so momentum, weight decay or an adaptive optimizer cannot move
      them. They stay bit-identical to the original's.
    - forget labels are *wrong* labels (y' ≠ y, the paper's objective); the official code draws
      uniformly over all classes, so about 1/C of its labels are the true ones.
    - D_f with random labels and D_r are shuffled into one stream (the official code's path for
      CIFAR-100/TinyImageNet; its CIFAR-10 path runs a forget pass, then a retain pass).

    With ``mask_fraction = 1`` every weight is salient and the method is plain random-label
    training (:class:`SuccessiveRandomLabels` with the same seed gives the same weights).

    Known to fail: short runs forget the class but cost retain accuracy — the retain term needs
    the epochs to repair the damage (measured on digits: guide/method-notes.md).

    Args:
        mask_fraction: fraction of all weights kept in the mask, in (0, 1] (paper and code:
            0.5, i.e. the threshold is the median |gradient|).
        epochs: passes over D_r ∪ D_f (official command line: 10).
        optimizer: the official recipe, SGD with lr 0.1, momentum 0.9, weight decay 5e-4.
        batch_size: for the mask gradient and the training; ``None`` uses the predictor's.
    """

    mask_fraction: float = 0.5
    epochs: int = 10
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.1, momentum=0.9, weight_decay=5e-4)

    # the paper's lr range and its ablation of the mask's sparsity (1.0 is random labels alone)
    search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1), "epochs": IntRange(1, 10),
                    "mask_fraction": Uniform(0.1, 1.0)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.mask_fraction <= 1.0:
            raise ValueError(f"mask_fraction must lie in (0, 1], got {self.mask_fraction}")

    def saliency(self, model: nn.Module, ctx) -> dict[str, torch.Tensor]:
        """The boolean mask of salient weights, one tensor per trainable parameter name."""
        size = self.batch_size or ctx.predictor.batch_size
        gradients = forget_gradient(model, ctx.data, self.ref_data_forget, ctx.loss_fn(), size)
        return saliency_mask(gradients, self.mask_fraction)

    def unlearn(self, model, ctx):
        masks = self.saliency(model, ctx)
        params = dict(model.named_parameters())
        partial = {name: mask for name, mask in masks.items() if not bool(mask.all())}
        frozen = [(params[name], ~mask, params[name].detach().clone())
                  for name, mask in partial.items()]

        def write_back(*_):
            with torch.no_grad():
                for p, outside, original in frozen:
                    p.copy_(torch.where(outside, original, p))

        optimizer = self.optimizer(model.parameters())
        # gradients masked as they reach each parameter; after each step, weights outside the
        # mask are written back from the original
        handles = [params[name].register_hook(lambda g, mask=mask: g * mask)
                   for name, mask in partial.items()]
        handles.append(optimizer.register_step_post_hook(write_back))
        try:
            fit(model, random_label_batches(self, ctx), optimizer, ctx.loss_fn(), self.epochs,
                on_epoch=ctx.epoch_hook(model))
        finally:
            for handle in handles:
                handle.remove()
        return model
