"""Which modules of a network are its "layers" for methods that act on the last k of them."""
from __future__ import annotations

from torch import nn


def parameterised_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules that own parameters directly (Linear, Conv, norm layers…), in registration
    order — for ``nn.Sequential`` stacks and the usual ``__init__`` layout, the order of the
    forward pass. Modules without weights (ReLU, Flatten, pooling) are not layers here.

    Returns:
        ``(qualified name, module)`` pairs, input side first.
    """
    return [(name, module) for name, module in model.named_modules()
            if next(module.parameters(recurse=False), None) is not None]


def last_layers(model: nn.Module, k: int) -> list[tuple[str, nn.Module]]:
    """The last ``k`` parameterised layers, counted from the output, among those with a trainable
    parameter: a frozen part of the network (``requires_grad=False``, a frozen pretrained
    encoder) is not counted, so it is never unfrozen or re-initialised. In a network with no
    trainable parameter at all (the frozen original itself) every parameterised layer counts.

    Raises:
        ValueError: ``k`` is below 1 or above the number of parameterised layers (the message
            names both numbers and the layers).
    """
    layers = parameterised_layers(model)
    if any(p.requires_grad for p in model.parameters()):  # else a wholly frozen copy: all count
        layers = [(name, module) for name, module in layers
                  if any(p.requires_grad for p in module.parameters(recurse=False))]
    if not 1 <= k <= len(layers):
        names = ", ".join(f"{name or '<root>'} ({type(m).__name__})" for name, m in layers)
        raise ValueError(f"last_trainable_layers={k}, but the network has "
                         f"{'only ' if k > len(layers) else ''}{len(layers)} parameterised "
                         f"layers: {names}")
    return layers[-k:]
