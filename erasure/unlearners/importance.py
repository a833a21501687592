"""Per-weight importance (diagonal Fisher information) over a partition, shared by the methods
that need it (Fisher forgetting, SSD).

Exact per-sample squares, two ways, with no Python loop over samples:

- in closed form (:func:`closed_form_sum`) when every parameter is the weight or bias of a linear
  layer, a 2-D convolution or a batch norm that the forward pass calls once
  (:func:`closed_form_layers`): one forward pass per batch, one backward pass per class for the
  whole batch, and per layer the per-sample weight gradients from its input and the gradients of
  its output — a linear layer's never materialised;
- with ``torch.func`` (:func:`squared_gradient_sum`) for any other network (graph networks,
  shared weights, parameters of custom modules): per sample, one forward pass and one
  vector-Jacobian product per class (``vjp`` of a ``functional_call``, vectorised by ``vmap`` over
  the classes and over a batch of samples). It is the reference the closed form is tested against.

The network is evaluated in eval mode (batch norm uses its running statistics, dropout is off),
so one sample's gradient does not depend on the others in its batch. Only trainable parameters
(``requires_grad``) get an importance (:func:`counted`): a frozen part of a network (a frozen
pretrained encoder) is left out, and the closed form needs only the layers holding trainable
parameters.
"""
from __future__ import annotations

from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.graph import get_gradient_edge
from torch.func import functional_call, vjp, vmap

from erasure.data import Data
from erasure.models.acceleration import full_precision

#: Floats the per-sample gradients of one vectorised call may hold when the batch size is chosen
#: automatically (2**28 floats = 1 GiB in float32).
GRADIENT_BUDGET = 2 ** 28


#: On a CPU, the floats one vectorised call should work on (see :func:`per_sample_batch_size`
#: and :func:`closed_form_batch_size`): beyond it the batch falls out of the caches and gets
#: slower as well as bigger. Chosen from timings of the MLP and SmallCNN on digits
#: (bench/README.md, "Timings behind choices in the code").
CPU_WORKING_SET = 9 * 10 ** 6

#: The smallest batch :func:`closed_form_batch_size` picks on a CPU: where one sample's floats
#: exceed :data:`CPU_WORKING_SET` the caches are lost anyway and a larger batch gives the layers'
#: matrix products better shapes (timed on ResNet-18: bench/README.md, "Timings behind choices
#: in the code").
CLOSED_FORM_SMALLEST = 4


def counted(model: nn.Module) -> Callable[[torch.Tensor], bool]:
    """Which parameters of ``model`` get an importance: the trainable ones (``requires_grad``),
    or all of them in a network with none trainable (a frozen network inspected as it is, such as
    a session's original)."""
    if any(p.requires_grad for p in model.parameters()):
        return lambda p: p.requires_grad
    return lambda p: True


def per_sample_batch_size(model: nn.Module, budget: int = GRADIENT_BUDGET,
                          largest: int = 512, sample: torch.Tensor | None = None,
                          gradients: int = 1) -> int:
    """A batch size for :func:`squared_gradient_sum` whose per-sample gradients (batch ×
    ``gradients`` × weights floats) fit in ``budget`` floats: 512 for a 10k-weight MLP, 24 for an
    11M-weight ResNet-18, with one gradient per sample (the empirical Fisher); the expected Fisher
    takes one per class, so its batch is that many times smaller.

    Per-sample gradients cost memory in proportion to the batch, and small batches cost time in
    ``vmap`` overhead, so no single fixed default suits both small and large networks. Given a
    ``sample`` (one input, batch dimension first) on a CPU, the batch is also kept within
    :data:`CPU_WORKING_SET` floats, counting per sample each gradient and its square
    (2 × weights) and the activation gradients of each backward pass, plus the forward
    activations twice — which convolutional networks need.
    """
    weights = sum(p.numel() for p in filter(counted(model), model.parameters()))
    size = max(1, min(largest, budget // max(weights * gradients, 1)))
    if sample is not None and sample.device.type == "cpu":
        activations = activation_floats(model, sample[:1])
        per_sample = gradients * (2 * weights + activations) + 2 * activations
        size = max(1, min(size, CPU_WORKING_SET // max(per_sample, 1)))
    return size


def activation_floats(model: nn.Module, sample: torch.Tensor) -> int:
    """How many values the leaf modules of ``model`` output for ``sample`` (eval mode, no
    gradients); 0 when the probe fails (the caller then counts weights only)."""
    probe = leaf_calls(model, sample)
    return 0 if probe is None else outputs_size(probe)


def leaf_calls(model: nn.Module, sample: torch.Tensor
               ) -> dict[nn.Module, list[tuple[tuple, object]]] | None:
    """The (inputs, output) of every call of each leaf module (one without children) in a
    forward pass of ``model`` on ``sample`` (see :func:`module_calls`); ``None`` when it fails."""
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    probe = module_calls(model, sample, leaves)
    return None if probe is None else probe[1]


def outputs_size(calls: dict[nn.Module, list[tuple[tuple, object]]]) -> int:
    """How many values the calls recorded by :func:`leaf_calls` output."""
    return sum(output.numel() for seen in calls.values() for _, output in seen
               if isinstance(output, torch.Tensor))


def module_calls(model: nn.Module, sample: torch.Tensor, modules: list[nn.Module]
                 ) -> tuple[object, dict[nn.Module, list[tuple[tuple, object]]]] | None:
    """The output of one forward pass of ``model`` on ``sample`` (eval mode, no gradients, not
    compiled) and the (inputs, output) of every call of each of ``modules`` in it; ``None`` when
    it fails."""
    calls: dict[nn.Module, list[tuple[tuple, object]]] = {m: [] for m in modules}
    handles = [m.register_forward_hook(lambda m, inputs, output: calls[m].append((inputs, output)))
               for m in modules]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad(), torch.compiler.set_stance("force_eager"):
            logits = model(sample)
    except Exception:
        return None
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return logits, calls


#: Layers whose per-sample gradients :func:`closed_form_sum` computes from their input and the
#: gradients of their output — these exact types: a subclass may compute something else.
CLOSED_FORM_LAYERS = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d)
#: The batch norms among them.
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)

#: The input dimensions (batch first) the closed form takes per layer type; a linear layer: any
#: from 2 on.
INPUT_DIMS = {nn.Conv2d: {4}, nn.BatchNorm1d: {2, 3}, nn.BatchNorm2d: {4}}


def closed_form_layers(model: nn.Module, sample: torch.Tensor) -> dict[str, nn.Module] | None:
    """The modules holding the parameters of ``model``, by name, when :func:`closed_form_sum`
    can compute their per-sample squares; ``None`` when it cannot (:func:`squared_gradient_sum`
    then serves the whole network).

    It can when every parameter is the weight or bias of exactly one module of a type in
    :data:`CLOSED_FORM_LAYERS` — convolutions with ``groups=1`` and zero padding given as
    numbers, batch norms with running statistics — and a forward pass on ``sample`` (a batch of
    a few inputs) calls each of these modules exactly once, from a batch-first input to a
    batch-first output, and returns one row of logits per sample. A module called twice (a
    weight shared across calls) or never (a weight used outside its module's ``forward``, as in
    :class:`~erasure.models.graph.GCN`) rules it out, as does a parameter of any other module
    (a custom ``nn.Parameter``, a grouped convolution). Not detectable here: a weight that a
    module's ``forward`` uses once and other code also uses directly (a tied weight read by a
    functional call) — such a network gives wrong squares in closed form; compute its Fisher
    with :func:`squared_gradient_sum`.
    """
    layers, owned, keep = {}, set(), counted(model)
    for name, module in model.named_modules():
        params = {n: p for n, p in module.named_parameters(recurse=False) if keep(p)}
        if not params:
            continue
        if (type(module) not in CLOSED_FORM_LAYERS or not params.keys() <= {"weight", "bias"}
                or owned & {id(p) for p in params.values()}):
            return None
        if isinstance(module, nn.Conv2d) and (module.groups != 1 or module.padding_mode != "zeros"
                                              or isinstance(module.padding, str)):
            return None
        if isinstance(module, BATCH_NORMS) and module.running_mean is None:
            return None
        layers[name] = module
        owned |= {id(p) for p in params.values()}
    probe = module_calls(model, sample, list(layers.values()))
    if probe is None:
        return None
    logits, calls = probe
    n = len(sample)
    if not (isinstance(logits, torch.Tensor) and logits.ndim == 2 and len(logits) == n):
        return None
    for module, seen in calls.items():
        if len(seen) != 1:
            return None
        (inputs, output), = seen
        a = inputs[0] if inputs else None
        if not (isinstance(a, torch.Tensor) and isinstance(output, torch.Tensor) and a.ndim >= 2
                and a.ndim in INPUT_DIMS.get(type(module), {a.ndim})
                and len(a) == len(output) == n):
            return None
    return layers


def fisher_sum(model: nn.Module, data: Data, index: torch.Tensor, *,
               labels: Literal["true", "expected"] = "true", batch_size: int | None = None
               ) -> dict[str, torch.Tensor]:
    """The sum over the samples ``index`` of the per-sample squares whose mean
    :func:`diagonal_fisher` returns: sums over disjoint sets add up exactly (no sample's gradient
    is computed twice), and the count is ``len(index)``.

    Samples are taken in sorted order, so the result depends on the set, not on its order. The
    closed form (:func:`closed_form_sum`) serves networks whose every parameter sits in a layer
    it handles (:func:`closed_form_layers`, decided once per call), ``torch.func``
    (:func:`squared_gradient_sum`) all others.

    Args:
        labels: see :func:`diagonal_fisher`.
        batch_size: samples per batch; ``None`` picks one with :func:`closed_form_batch_size`
            or :func:`per_sample_batch_size` (one gradient per class for ``expected``).

    Returns:
        One tensor per name of a :func:`counted` parameter, the same shape as the parameter.
    """
    index = index.sort().values
    sample = data.x[:2]
    layers = closed_form_layers(model, sample)
    if layers is not None:
        size = batch_size or closed_form_batch_size(model, layers, sample)
        return closed_form_sum(model, layers, data, index, labels, size)
    size = batch_size or per_sample_batch_size(
        model, sample=data.x[:1], gradients=data.num_classes if labels == "expected" else 1)
    return squared_gradient_sum(model, data, index, labels, size)


def cotangents(probs: torch.Tensor, y: torch.Tensor, labels: Literal["true", "expected"]
               ) -> torch.Tensor:
    """The rows r whose vector-Jacobian products Jᵀr (J = ∂logits/∂θ) are the gradients to
    square, stacked along a new first dimension, for probabilities ``probs`` (classes last) and
    labels ``y``: since ∇ log p(c|x) = Jᵀ(e_c − p), one row e_y − p for ``true``, and one row
    √p_c·(e_c − p) per class c for ``expected`` (their squares carry the weight p_c)."""
    classes = torch.arange(probs.shape[-1], device=probs.device)
    if labels == "true":
        return ((classes == y.unsqueeze(-1)).to(probs.dtype) - probs).unsqueeze(0)
    basis = (classes.unsqueeze(1) == classes).to(probs.dtype)
    basis = basis.view(len(classes), *(1,) * (probs.ndim - 1), len(classes))
    return (basis - probs) * probs.movedim(-1, 0).sqrt().unsqueeze(-1)


def squared_gradient_sum(model: nn.Module, data: Data, index: torch.Tensor,
                         labels: Literal["true", "expected"], batch_size: int
                         ) -> dict[str, torch.Tensor]:
    """Σ over ``index`` of the per-sample squared gradients of log p(y|x) (``true``) or of
    Σ_c p(c|x)(∇ log p(c|x))² (``expected``), ``batch_size`` samples per vectorised call.

    Per sample, one forward pass gives the logits z and p = softmax(z), and the vector-Jacobian
    product of each row of :func:`cotangents` gives one gradient, squared. A network prepared
    for bf16 runs in fp32 here (:func:`~erasure.models.acceleration.full_precision`): batch norm
    under ``vmap`` and bf16 autocast fails in torch.
    """
    keep = counted(model)
    params = {name: p.detach() for name, p in model.named_parameters() if keep(p)}
    buffers = {name: b.detach() for name, b in model.named_buffers()}

    def squares(p: dict, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        logits, pullback = vjp(lambda q: functional_call(model, (q, buffers), (x.unsqueeze(0),))[0], p)
        rows = cotangents(logits.detach().softmax(-1), y, labels)
        if labels == "true":  # one row: called directly (a vmap over one row is slower)
            (grads,) = pullback(rows[0])
            return {name: g.pow(2) for name, g in grads.items()}
        (grads,) = vmap(pullback)(rows)
        return {name: g.pow(2).sum(0) for name, g in grads.items()}

    per_sample = vmap(squares, in_dims=(None, 0, 0))
    total = {name: torch.zeros_like(p) for name, p in params.items()}
    was_training = model.training
    model.eval()
    try:
        with full_precision(model):
            for x, y in data.index_batches(index, batch_size):
                for name, g in per_sample(params, x, y).items():
                    total[name] += g.sum(0)
    finally:
        model.train(was_training)
    return total


def closed_form_sum(model: nn.Module, layers: dict[str, nn.Module], data: Data,
                    index: torch.Tensor, labels: Literal["true", "expected"], batch_size: int
                    ) -> dict[str, torch.Tensor]:
    """The sum :func:`squared_gradient_sum` computes, for a network whose parameters all sit in
    ``layers`` (from :func:`closed_form_layers`), ``batch_size`` samples per forward pass,
    with no per-sample gradient of the whole network.

    One forward pass per batch records each layer's input and the gradient edge of its output
    (the edge, not the tensor: an in-place operation after the layer, such as ResNet's
    ``ReLU(inplace=True)``, takes over the tensor). Then per row of :func:`cotangents` one
    backward pass from the logits gives the gradients δ of every layer's output for the whole
    batch — row b of δ is sample b's, since in eval mode a sample's logits depend on its own
    input only — and each layer's per-sample gradients follow from δ_b and its input a_b
    (:func:`closed_form_squares`); a linear layer on 2-D input needs only δ², summed over the
    rows before its one product per batch (:func:`linear_squares`).
    """
    keep = counted(model)
    params = {name: p.detach().requires_grad_() for name, p in model.named_parameters()
              if keep(p)}
    buffers = {name: b.detach() for name, b in model.named_buffers()}
    names = {module: f"{name}." if name else "" for name, module in layers.items()}
    total = {name: torch.zeros_like(p) for name, p in params.items()}
    records: dict[nn.Module, tuple[torch.Tensor, object]] = {}

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        records[module] = (inputs[0].detach(), get_gradient_edge(output))

    handles = [module.register_forward_hook(record) for module in layers.values()]
    was_training = model.training
    model.eval()
    try:
        for x, y in data.index_batches(index, batch_size):
            # eagerly: the recording hooks would break a compiled forward at every layer
            # (SmallCNN: 20 graphs compiled)
            with torch.enable_grad(), torch.compiler.set_stance("force_eager"):
                logits = functional_call(model, (params, buffers), (x,))
            modules = list(records)
            features = [closed_form_features(m, records[m][0]) for m in modules]
            rows = cotangents(logits.detach().softmax(-1), y, labels)
            summed: dict[nn.Module, torch.Tensor] = {}  # Σ over rows of δ², per 2-D linear layer
            for i, row in enumerate(rows):
                deltas = torch.autograd.grad(logits, [records[m][1] for m in modules], row,
                                             retain_graph=i + 1 < len(rows), allow_unused=True)
                for module, a, delta in zip(modules, features, deltas):
                    if delta is None:  # the layer does not reach the logits
                        continue
                    delta = delta.to(a.dtype)
                    if isinstance(module, nn.Linear) and delta.ndim == 2:
                        squared = delta.square()
                        summed[module] = (summed[module].add_(squared) if module in summed
                                          else squared)
                        continue
                    for key, s in closed_form_squares(module, a, delta).items():
                        if names[module] + key in total:  # (a frozen bias has none)
                            total[names[module] + key] += s
            for module, squared in summed.items():
                a = features[modules.index(module)]
                for key, s in linear_squares(module, a, squared).items():
                    if names[module] + key in total:
                        total[names[module] + key] += s
            records.clear()
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total


def closed_form_features(module: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """What :func:`closed_form_squares` needs from the input ``a`` (batch first) of ``module``,
    computed once per batch in the weights' precision: for a linear layer a² (2-D input) or the
    input as batch × positions × features; for a convolution the unfolded input patches, batch ×
    positions × (channels·kernel); for a batch norm the input normalised by the running
    statistics, batch × channels × positions."""
    a = a.to(module.weight.dtype)
    if isinstance(module, nn.Linear):
        return a.square() if a.ndim == 2 else a.reshape(len(a), -1, a.shape[-1])
    if isinstance(module, nn.Conv2d):
        return F.unfold(a, module.kernel_size, module.dilation, module.padding,
                        module.stride).transpose(1, 2)
    shape = (1, -1) + (1,) * (a.ndim - 2)
    normalised = (a - module.running_mean.view(shape)) * (module.running_var.view(shape)
                                                          + module.eps).rsqrt()
    return normalised.reshape(len(a), a.shape[1], -1)


def closed_form_squares(module: nn.Module, features: torch.Tensor, delta: torch.Tensor
                        ) -> dict[str, torch.Tensor]:
    """Σ over a batch of the squared per-sample gradients of ``module``'s parameters (by
    parameter name), from ``features`` of its input (:func:`closed_form_features`) and the
    gradients ``delta`` of its output in one backward pass.

    Per sample b, with δ_b of shape channels × positions: a convolution's weight gradient is
    δ_b·unfold(a_b)ᵀ and a linear layer's δ_b·a_bᵀ (positions: the input's middle dimensions);
    a batch norm's γ gradient is Σ_positions δ_b·x̂_b; the bias (β) gradient is Σ_positions δ_b.
    A linear layer on 2-D input needs no per-sample matrix: Σ_b (δ_b a_bᵀ)² = (δ²)ᵀ(a²).
    """
    if isinstance(module, nn.Linear) and delta.ndim == 2:
        return linear_squares(module, features, delta.square())
    n = len(delta)
    delta = (delta.reshape(n, -1, module.out_features).transpose(1, 2)
             if isinstance(module, nn.Linear) else delta.reshape(n, delta.shape[1], -1))
    weight = ((delta * features).sum(2) if isinstance(module, BATCH_NORMS)
              else torch.bmm(delta, features))
    squares = {"weight": weight.square_().sum(0).view(module.weight.shape),
               "bias": delta.sum(2).square_().sum(0)}
    return squares if module.bias is not None else {"weight": squares["weight"]}


def linear_squares(module: nn.Linear, squared_inputs: torch.Tensor, squared_deltas: torch.Tensor
                   ) -> dict[str, torch.Tensor]:
    """Σ over a batch of the squared per-sample gradients of a linear layer on 2-D input, from
    its input squared a² (:func:`closed_form_features`) and its output gradients squared δ²:
    Σ_b (δ_b a_bᵀ)² = (δ²)ᵀ(a²) for the weight, Σ_b δ_b² for the bias. Both are linear in δ², so
    :func:`closed_form_sum` passes the δ² of every row of :func:`cotangents` summed — one product
    per batch instead of one per row (exact algebra; the rounding differs, as sums in another
    order do)."""
    squares = {"weight": squared_deltas.T @ squared_inputs}
    if module.bias is not None:
        squares["bias"] = squared_deltas.sum(0)
    return squares


def closed_form_batch_size(model: nn.Module, layers: dict[str, nn.Module], sample: torch.Tensor,
                           budget: int = GRADIENT_BUDGET, largest: int = 1024) -> int:
    """A batch size for :func:`closed_form_sum` on ``layers`` (from :func:`closed_form_layers`,
    which has run ``model`` on ``sample``) whose floats fit in ``budget``, and on a CPU within
    :data:`CPU_WORKING_SET` — but at least :data:`CLOSED_FORM_SMALLEST` where the budget allows.

    It needs no per-sample gradient of a whole network, and as much memory whatever the labels:
    per sample, the leaf modules' outputs twice (kept for the backward passes, and one backward
    pass's gradients), what each layer needs from its input (:func:`closed_form_features`: the
    unfolded patches of a convolution) and the largest layer's per-sample weight gradients (one
    layer's at a time). 1024 samples (the largest) for the MLP on digits, 516 for SmallCNN on 8×8
    images, 57 on 28×28, 4 for ResNet-18 on 32×32 (one sample: 11M floats).
    """
    features, gradients = 0, 0
    # one probe for both: the layers are leaf modules
    calls = leaf_calls(model, sample[:1])
    for module in layers.values():
        (inputs, output), = calls[module]
        if isinstance(module, nn.Conv2d):
            features += module.weight[0].numel() * output[0, 0].numel()
        else:
            features += inputs[0].numel()
        if isinstance(module, nn.Conv2d) or isinstance(module, nn.Linear) and inputs[0].ndim > 2:
            gradients = max(gradients, module.weight.numel())
    per_sample = max(2 * outputs_size(calls) + features + gradients, 1)
    size = max(1, min(largest, budget // per_sample))
    if sample.device.type == "cpu":
        size = min(size, max(CLOSED_FORM_SMALLEST, CPU_WORKING_SET // per_sample))
    return size


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
        batch_size: samples per batch (memory grows with it: in closed form, times the
            activations; through ``torch.func``, times the number of weights, times the classes
            for ``expected``); ``None`` picks one (:func:`closed_form_batch_size`,
            :func:`per_sample_batch_size`).
        max_samples: estimate from a random subset of this size (drawn from ``generator``).

    Returns:
        One tensor per name of a :func:`counted` parameter, the same shape as the parameter.
    """
    index = data[partition]
    if max_samples is not None and max_samples < len(index):
        index = index[torch.randperm(len(index), generator=generator)[:max_samples].to(index.device)]
    total = fisher_sum(model, data, index, labels=labels, batch_size=batch_size)
    return {name: t / max(len(index), 1) for name, t in total.items()}
