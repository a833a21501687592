"""The training loop every part shares, and the slots a config fills with torch components."""
from __future__ import annotations

import math
from typing import Annotated, Callable, Iterable, Optional, Sequence

import torch
from torch import nn

from erasure.config import Factory, Slot

#: An optimizer named in a config; the pipeline supplies the parameters it optimises.
OptimizerFactory = Annotated[Factory, Slot(torch.optim.Optimizer, runtime=("params",))]
#: A learning-rate scheduler; the pipeline supplies the optimizer.
SchedulerFactory = Annotated[Optional[Factory],
                             Slot(torch.optim.lr_scheduler.LRScheduler, runtime=("optimizer",))]
#: A loss module such as ``CrossEntropyLoss``.
LossFactory = Annotated[Factory, Slot(nn.Module)]
#: A network; ``input_shape`` and ``num_classes`` come from the data unless the config sets them.
NetworkFactory = Annotated[Factory, Slot(nn.Module, derived=("input_shape", "num_classes", "graph"))]


class Diverged(RuntimeError):
    """A loss became NaN or infinite: the run is stopped rather than reporting garbage."""


def check_finite(loss: torch.Tensor | float, where: str) -> None:
    value = float(loss)
    if not math.isfinite(value):
        raise Diverged(f"loss became {value} {where}")


Batches = Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]]


def fit(model: nn.Module, batches: Batches, optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], epochs: int,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        frozen: Sequence[nn.Module] = (), stage: str = "",
        on_epoch: Callable[[int, float], None] | None = None) -> list[float]:
    """Plain supervised training: ``epochs`` passes over ``batches()``.

    The loss is summed on the device and checked once per epoch, so there is no host sync per
    step. Modules in ``frozen`` stay in eval mode while the rest trains (a frozen batch-norm
    layer then normalises with, and never updates, its running statistics). ``stage`` names the
    phase in a divergence message ("in impair epoch 1"). ``on_epoch(epoch, mean_loss)`` is called
    after each epoch (progress bars).

    Returns:
        The mean training loss of each epoch.

    Raises:
        Diverged: the loss of an epoch is NaN or infinite.
    """
    history = []
    for epoch in range(epochs):
        model.train()
        for module in frozen:  # not .eval(): that would also reach trainable children
            module.training = False
        total, steps = torch.zeros((), device=next(model.parameters()).device), 0
        for x, y in batches():
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            steps += 1
        if scheduler is not None:
            scheduler.step()
        mean = float(total) / max(steps, 1)
        check_finite(mean, f"in {stage + ' ' if stage else ''}epoch {epoch + 1}")
        history.append(mean)
        if on_epoch is not None:
            on_epoch(epoch, mean)
    return history
