"""A user's own unlearner and measure, outside the ``erasure`` package.

``custom.jsonc`` beside this file names them by dotted path (``my_components.NoisyFinetuning``);
the config file's folder is on the import path, so nothing needs installing.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from erasure.config import PartitionName, spec
from erasure.measures import Measure
from erasure.models import OptimizerFactory, fit
from erasure.unlearners import TrainingUnlearner


@dataclass(kw_only=True)
class NoisyFinetuning(TrainingUnlearner):
    """Perturb every weight with Gaussian noise, then fine-tune on the retain set to repair.

    Args:
        sigma: standard deviation of the noise, relative to each tensor's own standard deviation.
        epochs: repair epochs on the retain set.
        optimizer: optimizer for the repair.
    """

    sigma: float = 0.5
    epochs: int = 3
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {self.sigma}")

    def unlearn(self, model, ctx):
        with torch.no_grad():
            for p in model.parameters():
                noise = torch.randn(p.shape, generator=ctx.generator).to(p.device)
                p.add_(noise * self.sigma * p.std().nan_to_num(0.0))
        fit(model, self.batches(ctx, self.ref_data_retain), self.optimizer(model.parameters()),
            ctx.loss_fn(), self.epochs)
        return model


@dataclass(kw_only=True)
class MeanConfidence(Measure):
    """Mean top-1 softmax probability on a partition: ``confidence.<partition>.<target>``."""

    name = "confidence"
    partition: PartitionName = "forget"

    def measure(self, ctx):
        out = {}
        for target in ("original", "unlearned"):
            probs = ctx.output(target, self.partition).probabilities
            out[f"confidence.{self.partition}.{target}"] = probs.max(1).values.mean().item()
        return out
