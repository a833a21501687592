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


#: On a CPU, the floats one vectorised call should work on (per-sample gradients plus about twice
#: the activations, per sample): beyond it the batch falls out of the caches and gets slower as
#: well as bigger. Measured on digits (1 thread): the MLP (~10k floats a sample) is fastest at
#: 512, SmallCNN on 8×8 images (~24k) at 256–512, SmallCNN on 28×28 images (~240k) at 32–64 —
#: where 512 took 1.6× as long and 875 MB more memory.
CPU_WORKING_SET = 2 ** 23


def per_sample_batch_size(model: nn.Module, budget: int = GRADIENT_BUDGET,
                          largest: int = 512, sample: torch.Tensor | None = None) -> int:
    """A batch size for :func:`diagonal_fisher` whose per-sample gradients (batch × weights
    floats) fit in ``budget`` floats: 512 for a 10k-weight MLP, 24 for an 11M-weight ResNet-18.

    Per-sample gradients cost memory in proportion to the batch, and small batches cost time in
    ``vmap`` overhead (on digits' MLP, batch 64 is about four times slower than 256), so no single
    fixed default suits both small and large networks. Given a ``sample`` (one input, batch
    dimension first) on a CPU, the batch is also kept within :data:`CPU_WORKING_SET` floats
    counting the network's activations on it, which convolutional networks need.
    """
    weights = sum(p.numel() for p in model.parameters())
    size = max(1, min(largest, budget // max(weights, 1)))
    if sample is not None and sample.device.type == "cpu":
        per_sample = weights + 2 * activation_floats(model, sample[:1])
        size = max(1, min(size, CPU_WORKING_SET // max(per_sample, 1)))
    return size


def activation_floats(model: nn.Module, sample: torch.Tensor) -> int:
    """How many values the leaf modules of ``model`` output for ``sample`` (eval mode, no
    gradients); 0 when the probe fails (the caller then counts weights only)."""
    total = [0]

    def count(module, inputs, output):
        if isinstance(output, torch.Tensor):
            total[0] += output.numel()

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(count) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(sample)
    except Exception:
        return 0
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total[0]


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
