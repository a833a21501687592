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


def diagonal_fisher(model: nn.Module, data: Data, partition: str, *,
                    labels: Literal["true", "expected"] = "true", batch_size: int = 64,
                    max_samples: int | None = None, generator: torch.Generator | None = None,
                    ) -> dict[str, torch.Tensor]:
    """The diagonal of the Fisher information of ``model`` over ``partition``.

    Args:
        labels: ``true`` — the empirical Fisher, E_x[(∇ log p(y|x))²] with the sample's own label
            y (what SSD uses); ``expected`` — the Fisher proper, E_x Σ_c p(c|x)(∇ log p(c|x))²,
            exact over all classes (what Fisher forgetting uses; costs one pass per class).
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
