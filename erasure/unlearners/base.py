"""The unlearner interface: one method, ``unlearn(model, ctx) -> model``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, ClassVar, Iterable, Optional

import torch
from torch import nn

from erasure.config import (BatchSize, Component, Distribution, Epochs, IntRange, LogUniform,
                            PartitionName, Range, spec)
from erasure.data import Data
from erasure.models import OptimizerFactory, Predictor


@dataclass
class UnlearningContext:
    """What the pipeline hands an unlearner besides the model.

    Attributes:
        data: every sample and partition (shared, read-only: never modify it).
        predictor: the recipe that trained the original (network factory, loss, batch size).
        generator: this unlearner's own seeded stream (batch order, random labels, noise).
        seed: the seed of this unlearner's stream (the global RNG is also seeded from it).
        gold: ``gold(partition)`` returns a fresh, trainable copy of the model retrained from
            scratch on that partition (trained once per experiment and shared).
        report: set while tuning (:mod:`erasure.tuning`) and while recording a curve
            (``evaluate_every``: :mod:`erasure.curves`): called with the model after each epoch of
            the method's main phase, so that a hopeless trial can be stopped early (it may raise
            to stop the unlearner) and the curve gets its points. Pass :meth:`epoch_hook` to
            :func:`~erasure.models.fit`; call it once per epoch of the main phase, never more.
    """

    data: Data
    predictor: Predictor
    generator: torch.Generator
    seed: int
    gold: Callable[[str], nn.Module]
    report: Optional[Callable[[nn.Module], None]] = None

    @property
    def device(self) -> torch.device:
        return self.data.device

    def loss_fn(self) -> nn.Module:
        return self.predictor.loss_fn()

    def epoch_hook(self, model: nn.Module) -> Optional[Callable[[int, float], None]]:
        """``fit``'s ``on_epoch`` that reports ``model`` after each epoch while tuning or recording
        a curve (None otherwise): ``fit(..., on_epoch=ctx.epoch_hook(model))``."""
        if self.report is None:
            return None
        report = self.report
        return lambda epoch, loss: report(model)


class Unlearner(Component):
    """Base of every unlearner. Subclass it, declare hyper-parameters as fields, implement
    :meth:`unlearn`.

    The model passed in is the unlearner's own copy of the original's weights: change it in place
    or return another model. Nothing an unlearner does reaches the original, the data or another
    unlearner.

    Args:
        ref_data_retain: the partition to keep (D_r).
        ref_data_forget: the partition to forget (D_f).

    Example::

        class ShrinkWeights(Unlearner):
            factor: Annotated[float, Range(gt=0)] = 0.5

            def unlearn(self, model, ctx):
                with torch.no_grad():
                    for p in model.parameters():
                        p.mul_(self.factor)
                return model
    """

    kind_name = "unlearner"
    abstract = True
    #: what a config error says besides the accepted names when an unlearner is given one of
    #: these parameters it does not take
    parameter_hints: ClassVar[dict[str, str]] = {
        name: "Only unlearners that train in epochs (Finetuning, NegGrad, SCRUB, SalUn, UNSIR…: "
              "subclasses of EpochUnlearner) record a curve; this one does not train in epochs."
        for name in ("evaluate_every", "curve_measures")}
    #: the default search space of tuning (:mod:`erasure.config.space`): parameter path →
    #: distribution; empty means nothing to tune unless a config names a space
    search_space: ClassVar[dict[str, Distribution]] = {}

    ref_data_retain: PartitionName = "retain"
    ref_data_forget: PartitionName = "forget"

    def unlearn(self, model: nn.Module, ctx: UnlearningContext) -> nn.Module:
        raise NotImplementedError

    def gold_partitions(self) -> list[str]:
        """Partitions whose retrained gold model this unlearner needs (trained before any
        unlearner runs, so that timing and results do not depend on order)."""
        return []


#: The parameters of a curve (:class:`EpochUnlearner`): what is recorded along the way, never how
#: the unlearner works.
CURVE_PARAMETERS = ("evaluate_every", "curve_measures")


def seed_config(config: Any) -> Any:
    """An unlearner's resolved config without the curve's parameters, at every level (a cascade's
    steps too): what its random stream is derived from, so that recording a curve changes no
    number (ARCHITECTURE.md, rule 3)."""
    if isinstance(config, list):
        return [seed_config(c) for c in config]
    if not isinstance(config, dict):
        return config
    out = {k: seed_config(v) for k, v in config.items()}
    parameters = out.get("parameters")
    if "class" in out and isinstance(parameters, dict) \
            and all(name in parameters for name in CURVE_PARAMETERS):
        out["parameters"] = {k: v for k, v in parameters.items() if k not in CURVE_PARAMETERS}
    return out


class EpochUnlearner(Unlearner):
    """Base of unlearners that run in epochs and report each epoch of their main phase through
    ``ctx.epoch_hook`` (or ``ctx.report``): they may record a curve, the chosen measures of the
    model along the way, in the record's ``curve`` (:mod:`erasure.curves`).

    What an epoch is, is the method's main phase: one pass of its training loop (SCRUB: one max
    and min pass; SalUn: one pass over D_r ∪ D_f; UNSIR: one repair epoch, or impair epoch when
    ``repair_epochs`` is 0). An unlearner that never reports has only the point at epoch 0.

    Args:
        evaluate_every: every how many epochs the curve gets a point (at least 1); epoch 0, the
            copy of the original before unlearning, always is one. ``None`` (the default): no
            curve. Points fall on multiples of it, so the last epoch is one only when the epochs
            are a multiple of it. Never part of what seeds the unlearner: the record's other
            numbers are the same with and without a curve.
        curve_measures: the evaluator's measures the curve follows, by class name (default
            ``["Accuracy"]``: accuracy on the partitions the evaluator's Accuracy measures);
            each must be in the evaluator. Only their keys of the unlearned model are recorded.
            Each point runs them again, so keep to measures that read the model's outputs
            (accuracy, per-class accuracy, distances to the gold model); attacks that train
            cost their training at every point.
    """

    abstract = True

    evaluate_every: Optional[Annotated[int, Range(ge=1)]] = None
    curve_measures: list[str] = ("Accuracy",)


class TrainingUnlearner(EpochUnlearner):
    """Base of unlearners that take gradient steps: an optimizer, epochs and a batch size (and,
    from :class:`EpochUnlearner`, a curve: ``evaluate_every``, ``curve_measures``).

    The bounds of ``epochs`` and ``batch_size`` hold in every subclass, also one that redeclares
    the field to change its default (``epochs: int = 10``).

    Args:
        epochs: passes over the data the method iterates on (1 to ``MAX_EPOCHS``).
        optimizer: optimizer for the unlearning steps.
        batch_size: batch size (at least 1); ``None`` uses the predictor's.
    """

    abstract = True

    epochs: Epochs = 1
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01, momentum=0.9)
    batch_size: Optional[BatchSize] = None

    search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1), "epochs": IntRange(1, 10)}

    def batches(self, ctx: UnlearningContext, partition: str, size: Optional[int] = None
                ) -> Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]]:
        """A callable giving one shuffled pass over ``partition`` from this unlearner's stream,
        in batches of ``size`` (default: ``batch_size``, else the predictor's)."""
        size = size or self.batch_size or ctx.predictor.batch_size
        return lambda: ctx.data.batches(partition, size, shuffle=True, generator=ctx.generator)
