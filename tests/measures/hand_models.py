"""Hand-made models and contexts for the gold-comparison and summary measures' unit tests: models
whose predictions (or logits) are known exactly, and a context that carries a gold model."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from erasure.measures import OutputStore
from tests.unlearners import fixtures as fx

CLASSES = 4


class Shift(nn.Module):
    """Logits are the inputs rolled by ``shift`` classes: x = one-hot(p) predicts p + shift."""

    def __init__(self, shift: int = 0):
        super().__init__()
        self.shift = shift

    def forward(self, x):
        return torch.roll(x, self.shift, dims=1)


class Logits(nn.Module):
    """Returns its input: the samples are the logits."""

    def forward(self, x):
        return x


def known_data(predicted, labels, partitions, eval_batch_size=3):
    """Samples that one-hot encode what :class:`Shift` (0) predicts."""
    x = torch.nn.functional.one_hot(torch.tensor(predicted), CLASSES).float()
    return fx.tiny_data(x, torch.tensor(labels), partitions, eval_batch_size=eval_batch_size)


def context(data, models: dict[str, nn.Module], gold: nn.Module | None = None,
            retain: str = "retain", seed: int = 0):
    """A measure context whose gold model (retrained on ``retain``) is ``gold``."""
    ctx = fx.measure_context(data, models, seed=seed)
    if gold is not None:
        ctx = replace(ctx, golds={retain: gold}, gold_outputs={retain: OutputStore(gold, data)})
    return ctx
