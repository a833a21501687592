"""Identity: the original, untouched — the "no unlearning" row of every table."""
from __future__ import annotations

from .base import Unlearner


class Identity(Unlearner):
    """Returns the original model unchanged (its own copy of the weights)."""

    def unlearn(self, model, ctx):
        return model
