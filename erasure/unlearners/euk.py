"""EU-k: exactly unlearn the last k layers by re-initialising them and training them on the
retain set."""
from __future__ import annotations

import torch
from torch import nn

from erasure.models.layers import last_layers

from .base import UnlearningContext
from .cfk import CFk, train_last_layers


def _own_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters and buffers a module holds directly (not its children's)."""
    return {**dict(module.named_parameters(recurse=False)),
            **dict(module.named_buffers(recurse=False))}


def _same_layout(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = _own_state(a), _own_state(b)
    return type(a) is type(b) and sa.keys() == sb.keys() and all(
        sa[k].shape == sb[k].shape and sa[k].dtype == sb[k].dtype for k in sa)


class EUk(CFk):
    """EU-k: re-initialises the last k parameterised layers, freezes the rest and trains the last
    k on D_r. Only the frozen lower layers can still carry information about D_f; if they do not,
    the result is an exact unlearning of the top of the network.

    Goel, Prabhu, Sanyal, Lim, Torr, Kumaraguru, "Towards Adversarial Evaluation of Machine
    Unlearning" (also titled "Evaluating Inexact Unlearning Requires Revisiting Forgetting"),
    arXiv:2201.06640, 2022.

    A layer is a module that owns parameters (Linear, Conv, batch norm…), counted from the output;
    ReLU, Flatten and pooling are not layers.

    Re-initialisation: each of the last k layers gets the values the architecture's own
    initialiser gives it — the corresponding layer (same qualified name, type and shapes) of a
    fresh network from ``ctx.predictor.new_model(ctx.data)``, drawn from the unlearner's seeded
    global RNG. That honours custom initialisation schemes of a network's ``__init__``, which a
    layer's ``reset_parameters()`` would not; ``reset_parameters()`` is the fallback for a layer
    the fresh network lacks. Parameters and buffers are both reset (a re-initialised batch-norm
    layer starts from running mean 0, variance 1).

    Frozen batch norm: as in :class:`~erasure.unlearners.cfk.CFk`, every frozen layer stays
    bit-identical, running statistics included — frozen modules with parameters or buffers run
    in eval mode during training; batch-norm layers among the last k train normally.

    Known to fail: whatever the frozen lower layers learnt from D_f stays in them (measurements:
    guide/method-notes.md).

    Args:
        last_trainable_layers: k, the number of parameterised layers (from the output) that are
            re-initialised and trained (default 1, a fresh classifier on frozen features; the
            paper varies k); k equal to the layer count retrains the whole network from scratch
            on D_r with this unlearner's optimizer. It must not exceed the network's layer count
            (checked when the model is known; the run is then recorded as failed with both
            numbers).
        epochs: passes over D_r (default 10, as Finetuning).
        optimizer: default SGD, lr 0.01, momentum 0.9 (as Finetuning).
        batch_size: ``None`` uses the predictor's.
    """

    # last_trainable_layers, epochs and optimizer: CFk's fields and defaults
    search_space = {**CFk.search_space}

    def reinitialise(self, model: nn.Module, ctx: UnlearningContext) -> list[tuple[str, nn.Module]]:
        """Re-initialises the last k layers of ``model`` in place.

        Returns:
            The re-initialised ``(name, layer)`` pairs.

        Raises:
            ValueError: k exceeds the number of layers, or a layer has neither a counterpart in a
                fresh network nor ``reset_parameters()``.
        """
        layers = last_layers(model, self.last_trainable_layers)
        fresh = dict(ctx.predictor.new_model(ctx.data).named_modules())
        with torch.no_grad():
            for name, layer in layers:
                twin = fresh.get(name)
                if twin is not None and _same_layout(layer, twin):
                    target = _own_state(twin)
                    for key, tensor in _own_state(layer).items():
                        tensor.copy_(target[key])
                elif callable(getattr(layer, "reset_parameters", None)):
                    layer.reset_parameters()
                else:
                    raise ValueError(f"cannot re-initialise layer '{name}' "
                                     f"({type(layer).__name__}): a fresh network has no such "
                                     "layer and it has no reset_parameters()")
        return layers

    def unlearn(self, model, ctx):
        layers = self.reinitialise(model, ctx)
        train_last_layers(model, layers, self, ctx, self.ref_data_retain)
        return model
