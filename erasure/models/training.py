"""The training loop every part shares, and the slots a config fills with torch components."""
from __future__ import annotations

import math
from typing import Annotated, Any, Callable, Iterable, Optional, Sequence

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
NetworkFactory = Annotated[Factory, Slot(nn.Module, derived=("input_shape", "num_classes", "graph",
                                                                "vocab_size", "pad_id"))]


class Diverged(RuntimeError):
    """A loss became NaN or infinite: the run is stopped rather than reporting garbage."""


def check_finite(loss: torch.Tensor | float, where: str) -> None:
    value = float(loss)
    if not math.isfinite(value):
        raise Diverged(f"loss became {value} {where}")


#: One pass over the training data per call: ``(x, y)`` batches, or whatever a ``step`` takes.
Batches = Callable[[], Iterable[Any]]
#: The loss of one training step: ``step(model, batch) -> scalar tensor``.
Step = Callable[[nn.Module, Any], torch.Tensor]


def fit(model: nn.Module, batches: Batches, optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        epochs: int = 1, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, *,
        step: Step | None = None, frozen: Sequence[nn.Module] = (), stage: str = "",
        first_epoch: int = 0, on_epoch: Callable[[int, float], None] | None = None,
        on_step: Callable[[int, torch.Tensor], None] | None = None) -> list[float]:
    """The training loop: ``epochs`` passes over ``batches()``, one optimizer step per batch.

    Each step minimises ``step(model, batch)``, a scalar loss; the default, with ``loss_fn``, is
    supervised training, ``loss_fn(model(x), y)`` on ``(x, y)`` batches. A batch is whatever
    ``batches()`` yields (a pair of batches, a batch with a weight per sample…).

    The loss is summed on the device and checked once per epoch, so there is no host sync per
    step. Modules in ``frozen`` stay in eval mode while the rest trains (a frozen batch-norm
    layer then normalises with, and never updates, its running statistics). A ``scheduler``
    steps once per epoch. ``stage`` names the phase in a divergence message ("in impair epoch
    1"); epochs are numbered from ``first_epoch`` (for a caller that runs one epoch per call).
    ``on_epoch(epoch, mean_loss)`` is called after each epoch (progress bars);
    ``on_step(step, loss)`` after each optimizer step, with the steps this call has taken (1
    after the first) and the step's loss, detached (reading it waits for the device: relearn
    time checks every step's loss, as it counts after every step anyway).

    Returns:
        The mean loss of each epoch.

    Raises:
        Diverged: the loss of an epoch is NaN or infinite (``on_step`` may raise it sooner).
    """
    if (step is None) == (loss_fn is None):
        raise TypeError("fit takes either loss_fn or step")
    if step is None:
        def step(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
            x, y = batch
            return loss_fn(model(x), y)
    history, taken = [], 0
    for epoch in range(first_epoch, first_epoch + epochs):
        model.train()
        for module in frozen:  # not .eval(): that would also reach trainable children
            module.training = False
        total, steps = torch.zeros((), device=next(model.parameters()).device), 0
        for batch in batches():
            optimizer.zero_grad(set_to_none=True)
            loss = step(model, batch)
            loss.backward()
            optimizer.step()
            total += loss.detach()
            steps += 1
            taken += 1
            if on_step is not None:
                on_step(taken, loss.detach())
        if scheduler is not None:
            scheduler.step()
        mean = float(total) / max(steps, 1)
        check_finite(mean, f"in {stage + ' ' if stage else ''}epoch {epoch + 1}")
        history.append(mean)
        if on_epoch is not None:
            on_epoch(epoch, mean)
    return history
