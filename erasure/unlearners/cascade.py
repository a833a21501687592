"""Cascade: several unlearners applied one after another to the same model."""
from __future__ import annotations

import dataclasses

from erasure.seeding import derive_seed, generator, seeded

from .base import Unlearner


class Cascade(Unlearner):
    """Runs ``unlearners`` in sequence (e.g. UNSIR then Finetuning). Each step draws from its own
    seeded stream, derived from the cascade's; each uses its own partitions.

    Args:
        unlearners: the steps, in order.
    """

    unlearners: list[Unlearner]

    def __post_init__(self) -> None:
        if not self.unlearners:
            raise ValueError("a cascade needs at least one unlearner")

    def unlearn(self, model, ctx):
        for step, unlearner in enumerate(self.unlearners):
            step_seed = derive_seed(ctx.seed, "cascade", step)
            step_ctx = dataclasses.replace(ctx, seed=step_seed, generator=generator(step_seed))
            with seeded(step_seed):
                model = unlearner.unlearn(model, step_ctx)
        return model

    def gold_partitions(self):
        return [name for u in self.unlearners for name in u.gold_partitions()]
