"""Per-weight importance (diagonal Fisher information) over a partition, shared by the methods
that need it (Fisher forgetting, SSD).

Per-sample gradients come from ``torch.func``: per sample, one forward pass and one
vector-Jacobian product per class (``vjp`` of a ``functional_call``, vectorised by ``vmap`` over
the classes and over a batch of samples) — exact per-sample squares with no Python loop over
samples or classes. The network is evaluated in eval mode (batch norm uses its running
statistics, dropout is off), so one sample's gradient does not depend on the others in its batch.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.func import functional_call, vjp, vmap

from erasure.data import Data

#: Floats the per-sample gradients of one vectorised call may hold when the batch size is chosen
#: automatically (2**28 floats = 1 GiB in float32).
GRADIENT_BUDGET = 2 ** 28


#: On a CPU, the floats one vectorised call should work on (see :func:`per_sample_batch_size`):
#: beyond it the batch falls out of the caches and gets slower as well as bigger. Measured on
#: digits (1 thread, median of 5–7 runs, batch sizes in random order) for the expected Fisher (10
#: gradients a sample): the MLP (9.6k weights) is fastest at 40–48 samples a call, and 56 takes
#: 3× as long; SmallCNN on 8×8 images (14k weights) at 24–32, 40 taking 1.7× as long; SmallCNN
#: on 28×28 images (106k weights) at 3–4, 2 and 6 taking 1.2× and 1.4× as long. This constant
#: picks 45, 26 and 3. For the empirical Fisher (one gradient) it picks 445, 207 and 22, where
#: the fastest measured were 256–512, 128–384 and 16–32.
CPU_WORKING_SET = 9 * 10 ** 6


def per_sample_batch_size(model: nn.Module, budget: int = GRADIENT_BUDGET,
                          largest: int = 512, sample: torch.Tensor | None = None,
                          gradients: int = 1) -> int:
    """A batch size for :func:`fisher_sum` whose per-sample gradients (batch × ``gradients`` ×
    weights floats) fit in ``budget`` floats: 512 for a 10k-weight MLP, 24 for an 11M-weight
    ResNet-18, with one gradient per sample (the empirical Fisher); the expected Fisher takes one
    per class, so its batch is that many times smaller.

    Per-sample gradients cost memory in proportion to the batch, and small batches cost time in
    ``vmap`` overhead, so no single fixed default suits both small and large networks. Given a
    ``sample`` (one input, batch dimension first) on a CPU, the batch is also kept within
    :data:`CPU_WORKING_SET` floats, counting per sample each gradient and its square
    (2 × weights) and the activation gradients of each backward pass, plus the forward
    activations twice — which convolutional networks need.
    """
    weights = sum(p.numel() for p in model.parameters())
    size = max(1, min(largest, budget // max(weights * gradients, 1)))
    if sample is not None and sample.device.type == "cpu":
        activations = activation_floats(model, sample[:1])
        per_sample = gradients * (2 * weights + activations) + 2 * activations
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


def fisher_sum(model: nn.Module, data: Data, index: torch.Tensor, *,
               labels: Literal["true", "expected"] = "true", batch_size: int | None = None
               ) -> dict[str, torch.Tensor]:
    """The sum over the samples ``index`` of the per-sample squares whose mean
    :func:`diagonal_fisher` returns: sums over disjoint sets add up exactly (no sample's gradient
    is computed twice), and the count is ``len(index)``.

    Samples are taken in sorted order, so the result depends on the set, not on its order.

    Args:
        labels: see :func:`diagonal_fisher`.
        batch_size: samples per vectorised call; ``None`` picks one with
            :func:`per_sample_batch_size` (one gradient per class for ``expected``).

    Returns:
        One tensor per parameter name, the same shape as the parameter.
    """
    index = index.sort().values
    size = batch_size or per_sample_batch_size(
        model, sample=data.x[:1], gradients=data.num_classes if labels == "expected" else 1)
    return squared_gradient_sum(model, data, index, labels, size)


def squared_gradient_sum(model: nn.Module, data: Data, index: torch.Tensor,
                         labels: Literal["true", "expected"], batch_size: int
                         ) -> dict[str, torch.Tensor]:
    """Σ over ``index`` of the per-sample squared gradients of log p(y|x) (``true``) or of
    Σ_c p(c|x)(∇ log p(c|x))² (``expected``), ``batch_size`` samples per vectorised call.

    Per sample, one forward pass gives the logits z and p = softmax(z), and the vector-Jacobian
    product of a row r gives Jᵀr (J = ∂z/∂θ). Since ∇ log p(c|x) = Jᵀ(e_c − p), the rows are
    √p_c·(e_c − p), one per class, for ``expected`` (their squares carry the weight p_c), and
    e_y − p for ``true``.
    """
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = {name: b.detach() for name, b in model.named_buffers()}

    def squares(p: dict, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        logits, pullback = vjp(lambda q: functional_call(model, (q, buffers), (x.unsqueeze(0),))[0], p)
        probs = logits.detach().softmax(-1)
        classes = torch.arange(len(probs), device=probs.device)
        if labels == "true":  # one row: called directly (a vmap over one row is slower)
            (grads,) = pullback((classes == y).to(probs.dtype) - probs)
            return {name: g.pow(2) for name, g in grads.items()}
        rows = ((classes.unsqueeze(1) == classes).to(probs.dtype) - probs) * probs.sqrt().unsqueeze(1)
        (grads,) = vmap(pullback)(rows)
        return {name: g.pow(2).sum(0) for name, g in grads.items()}

    per_sample = vmap(squares, in_dims=(None, 0, 0))
    total = {name: torch.zeros_like(p) for name, p in params.items()}
    was_training = model.training
    model.eval()
    try:
        for x, y in data.index_batches(index, batch_size):
            for name, g in per_sample(params, x, y).items():
                total[name] += g.sum(0)
    finally:
        model.train(was_training)
    return total


def diagonal_fisher(model: nn.Module, data: Data, partition: str, *,
                    labels: Literal["true", "expected"] = "true", batch_size: int | None = None,
                    max_samples: int | None = None, generator: torch.Generator | None = None,
                    ) -> dict[str, torch.Tensor]:
    """The diagonal of the Fisher information of ``model`` over ``partition``.

    Args:
        labels: ``true`` — the empirical Fisher, E_x[(∇ log p(y|x))²] with the sample's own label
            y (what the SSD authors' code squares); ``expected`` — the Fisher proper,
            E_x Σ_c p(c|x)(∇ log p(c|x))², exact over all classes (what Fisher forgetting and, by
            default, SSD use; one forward and one backward per class and sample).
        batch_size: samples per vectorised per-sample-gradient call (memory grows with it times
            the number of weights, times the classes for ``expected``); ``None`` picks one
            (:func:`per_sample_batch_size`).
        max_samples: estimate from a random subset of this size (drawn from ``generator``).

    Returns:
        One tensor per parameter name, the same shape as the parameter.
    """
    index = data[partition]
    if max_samples is not None and max_samples < len(index):
        index = index[torch.randperm(len(index), generator=generator)[:max_samples].to(index.device)]
    total = fisher_sum(model, data, index, labels=labels, batch_size=batch_size)
    return {name: t / max(len(index), 1) for name, t in total.items()}
