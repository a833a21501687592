"""Per-weight importance (diagonal Fisher information) over a partition, shared by the methods
that need it (Fisher forgetting, SSD).

Per-sample gradients come from ``torch.func`` (``vmap`` over ``grad`` of a ``functional_call``),
a batch at a time — exact per-sample squares with no Python loop over samples. The network is
evaluated in eval mode (batch norm uses its running statistics, dropout is off), so one sample's
gradient does not depend on the others in its batch.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from erasure.data import Data

#: Floats the per-sample gradients of one vectorised call may hold when the batch size is chosen
#: automatically (2**28 floats = 1 GiB in float32).
GRADIENT_BUDGET = 2 ** 28


def per_sample_batch_size(model: nn.Module, budget: int = GRADIENT_BUDGET,
                          largest: int = 512) -> int:
    """A batch size for :func:`diagonal_fisher` whose per-sample gradients (batch × weights
    floats) fit in ``budget`` floats: 512 for a 10k-weight MLP, 24 for an 11M-weight ResNet-18.

    Per-sample gradients cost memory in proportion to the batch, and small batches cost time in
    ``vmap`` overhead (on digits' MLP, batch 64 is about four times slower than 256), so no single
    fixed default suits both small and large networks.
    """
    weights = sum(p.numel() for p in model.parameters())
    return max(1, min(largest, budget // max(weights, 1)))


def diagonal_fisher(model: nn.Module, data: Data, partition: str, *,
                    labels: Literal["true", "expected"] = "true", batch_size: int = 64,
                    max_samples: int | None = None, generator: torch.Generator | None = None,
                    ) -> dict[str, torch.Tensor]:
    """The diagonal of the Fisher information of ``model`` over ``partition``.

    Args:
        labels: ``true`` — the empirical Fisher, E_x[(∇ log p(y|x))²] with the sample's own label
            y (what the SSD authors' code squares); ``expected`` — the Fisher proper,
            E_x Σ_c p(c|x)(∇ log p(c|x))², exact over all classes (what Fisher forgetting and, by
            default, SSD use; costs one pass per class).
        batch_size: samples per vectorised per-sample-gradient call (memory grows with it times
            the number of weights).
        max_samples: estimate from a random subset of this size (drawn from ``generator``).

    Returns:
        One tensor per parameter name, the same shape as the parameter.
    """
    index = data[partition]
    if max_samples is not None and max_samples < len(index):
        index = index[torch.randperm(len(index), generator=generator)[:max_samples].to(index.device)]
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    was_training = model.training
    model.eval()

    def log_likelihood(p: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return -F.cross_entropy(logits, y.unsqueeze(0))

    per_sample = vmap(grad(log_likelihood), in_dims=(None, 0, 0))
    total = {name: torch.zeros_like(p) for name, p in params.items()}
    try:
        for x, y in data.index_batches(index, batch_size):
            if labels == "true":
                for name, g in per_sample(params, x, y).items():
                    total[name] += g.pow(2).sum(0)
                continue
            with torch.no_grad():
                probs = model(x).softmax(1)
            for c in range(probs.shape[1]):
                weight = probs[:, c]
                grads = per_sample(params, x, torch.full_like(y, c))
                for name, g in grads.items():
                    total[name] += torch.einsum("b,b...->...", weight, g.pow(2))
    finally:
        model.train(was_training)
    return {name: t / max(len(index), 1) for name, t in total.items()}
