"""The measure interface (one method returning named numbers) and model outputs computed once."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, ClassVar, Literal, Optional, TypeVar, Union

import torch
import torch.nn.functional as F
from torch import nn

from erasure.config import Component
from erasure.data import Data
from erasure.seeding import seeded

T = TypeVar("T")

TargetName = Literal["original", "unlearned"]
#: One target or a list of them.
Targets = Union[TargetName, list[TargetName]]


class NotApplicable(Exception):
    """Raised by a measure that cannot apply to this record (say why); the record lists it under
    ``not_applicable`` with the reason, instead of a silent gap or a failure."""


def as_list(value: str | list[str] | tuple[str, ...]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def balanced_pick(members: int, others: int, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions of an equal number of members and non-members, ``min(members, others)`` each,
    drawn without replacement from ``generator``."""
    n = min(members, others)
    return (torch.randperm(members, generator=generator)[:n],
            torch.randperm(others, generator=generator)[:n])


@dataclass
class Outputs:
    """A model's logits on one partition, with the quantities measures derive from them."""

    logits: torch.Tensor
    labels: torch.Tensor

    @cached_property
    def losses(self) -> torch.Tensor:
        """Per-sample cross-entropy."""
        return F.cross_entropy(self.logits, self.labels, reduction="none")

    @cached_property
    def predictions(self) -> torch.Tensor:
        return self.logits.argmax(1)

    @cached_property
    def probabilities(self) -> torch.Tensor:
        return self.logits.softmax(1)

    @cached_property
    def accuracy(self) -> float:
        """Top-1 accuracy in [0, 1] (NaN on an empty partition, written as null)."""
        return (self.predictions == self.labels).float().mean().item()


class OutputStore:
    """Computes a model's outputs per partition at most once, in large batches, under inference
    mode — every measure of that model reads from here."""

    def __init__(self, model: nn.Module, data: Data) -> None:
        self.model, self.data = model, data
        self._cache: dict[str, Outputs] = {}
        self.computed = 0  # how many partitions were actually evaluated (for tests)

    def __call__(self, partition: str) -> Outputs:
        if partition not in self._cache:
            self.model.eval()
            with torch.inference_mode():
                logits = [self.model(x) for x, _ in self.data.batches(partition)]
            logits = torch.cat(logits) if logits else torch.empty(0, self.data.num_classes)
            self._cache[partition] = Outputs(logits.float(), self.data.y[self.data[partition]])
            self.computed += 1
        return self._cache[partition]


class Store(dict):
    """Values by key: ``store(key, build)`` returns the value kept under ``key``, calling
    ``build()`` the first time only."""

    def __call__(self, key: str, build: Callable[[], T]) -> T:
        if key not in self:
            self[key] = build()
        return self[key]


class Memos:
    """Where :meth:`MeasureContext.memo` keeps values: the pipeline's, never a measure's to
    change. One per record, shared by the measures of that record.

    Args:
        experiment: ``experiment(key, build)``, the store of the values every record reuses (the
            session's, shared by its records). By default nothing is kept for the experiment: a
            context built by hand is one record, and its measures, all with ``seed`` 0, would
            otherwise read each other's private values.
    """

    def __init__(self, experiment: Callable[[str, Callable[[], Any]], Any] | None = None) -> None:
        self.experiment = experiment if experiment is not None else lambda key, build: build()
        self.record = Store()


#: The models :meth:`MeasureContext.memo` knows the scope of (and ``"gold/<retain>"``).
MEMO_MODELS = ("original", "unlearned", "gold")


@dataclass(frozen=True)
class MeasureContext:
    """What the pipeline hands a measure for one unlearner's record; read-only (each measure gets
    its own copy, with its own ``seed`` and ``generator``).

    Attributes:
        data: samples and partitions.
        models: ``{"original": ..., "unlearned": ...}`` (do not modify them).
        outputs: one :class:`OutputStore` per target; use :meth:`output`.
        golds: the gold model retrained on each partition a measure or unlearner asked for
            (see :meth:`Measure.gold_partitions`), trained once per experiment; read-only.
        gold_outputs: their outputs, computed once per experiment; use :meth:`gold_output`.
        timings: seconds per stage: ``train_original``, ``unlearn`` and, when a gold model was
            trained, ``retrain``.
        memory: the unlearner's peak memory (``rss_peak_mb``, and ``cuda_peak_mb`` on a GPU),
            measured around the unlearner only.
        generator: this measure's own seeded stream.
        seed: the seed of that stream (derived from ``experiment_seed`` and the measure's
            config, so the same in every record).
        experiment_seed: the experiment's seed, for a stream several measures must share.
        predictor: the recipe that trained the original (for measures that train, e.g. relearn
            time); never modify it.
        memos: where :meth:`memo` keeps its values (the pipeline's; use :meth:`memo`).
        same_as: the model the unlearned model equals weight for weight, when it does
            (``"original"`` or ``"gold/<retain>"``: Identity, GoldModel, an unlearner that left
            the model as it was); its outputs are then that model's, and :meth:`memo` gives it
            that model's shared values (the relearning run the gold model's AIN already ran).
    """

    data: Data
    models: dict[str, nn.Module]
    outputs: dict[str, OutputStore]
    golds: dict[str, nn.Module] = field(default_factory=dict)
    gold_outputs: dict[str, OutputStore] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    generator: torch.Generator = field(default_factory=torch.Generator)
    seed: int = 0
    experiment_seed: int = 0
    predictor: Any = None
    memos: Memos = field(default_factory=Memos, repr=False)
    same_as: Optional[str] = None

    def output(self, target: str, partition: str) -> Outputs:
        return self.outputs[target](partition)

    def gold_output(self, retain: str, partition: str) -> Outputs:
        """Outputs of the gold model retrained on ``retain``, on ``partition``."""
        return self.gold_outputs[retain](partition)

    def memo(self, key: str, compute: Callable[[], T], *, model: str | None = None,
             private: bool = True) -> T:
        """``compute()`` the first time, the kept value afterwards: for what is costly and asked
        again, by the next record or by another measure.

        ``compute`` runs with the global RNGs (torch, numpy, Python) seeded from the experiment's
        seed and the full key, so a value never depends on what ran before it.

        Args:
            key: names the value; it must name everything the value depends on besides the
                model and, when ``private``, the measure's config (partition, parameters…).
            compute: computes the value.
            model: the model whose value it is, part of the key. ``"unlearned"``: kept for this
                record only. ``"original"``, a gold model (``"gold/<retain>"``) or ``None`` (a
                value of no model: an attacker's sample, shadow models): the same in every
                record, so kept for the experiment.
            private: ``True``: this measure's own (the value may depend on its config, its
                ``seed`` or ``generator``); a measure with another config gets its own. A
                private value of the unlearned model is computed on every call (its measure asks
                once per record). ``False``: one value for every measure asking for ``key``
                (RelearnTime and AIN with one recipe share one relearning run), which must then
                depend on nothing but ``key`` and ``model``; for an unlearned model with
                another model's weights (``same_as``), that model's value.

        Raises:
            ValueError: ``model`` is none of the above (an unknown name would silently be kept
                for the experiment).
        """
        if model is not None and model.split("/")[0] not in MEMO_MODELS:
            raise ValueError(f"memo(model={model!r}): expected 'unlearned', 'original', "
                             "'gold/<retain>' or None")
        if model == "unlearned" and not private and self.same_as is not None:
            model = self.same_as  # the same weights: the same value, kept once
        full = "/".join([*(("measure", str(self.seed)) if private else ()),
                         *((model,) if model is not None else ()), key])

        def seeded_compute() -> T:
            with seeded(self.experiment_seed, "shared", full):
                return compute()
        if model != "unlearned":
            return self.memos.experiment(full, seeded_compute)
        return seeded_compute() if private else self.memos.record(full, seeded_compute)


class Measure(Component):
    """Base of every measure. Subclass it and implement :meth:`measure`.

    Keys follow ``<name>.<partition>.<target>`` (e.g. ``accuracy.forget.unlearned``); ``name`` is
    the class attribute that starts each key. ``ctx`` (a :class:`MeasureContext`) is read-only;
    a costly value goes through :meth:`MeasureContext.memo`.

    Example::

        class MeanConfidence(Measure):
            name = "confidence"
            partition: PartitionName = "forget"

            def measure(self, ctx):
                probs = ctx.output("unlearned", self.partition).probabilities
                return {f"confidence.{self.partition}.unlearned": probs.max(1).values.mean().item()}
    """

    kind_name = "measure"
    abstract = True
    name: ClassVar[str] = "measure"
    #: which way is better for this measure's keys, when one is: ``"minimize"`` or ``"maximize"``
    #: (tuning may then optimise a key of it without being told; :mod:`erasure.tuning`)
    direction: ClassVar[Optional[str]] = None

    def key_prefixes(self) -> list[str]:
        """How this measure's keys may begin (``<prefix>.`` or ``<prefix>_…``): its ``name``."""
        return [self.name]

    def measure(self, ctx: MeasureContext) -> dict[str, float]:
        raise NotImplementedError

    def gold_partitions(self) -> list[str]:
        """Partitions whose retrained gold model this measure compares against; the pipeline
        trains each once, before any unlearner, and shares it (``ctx.golds``)."""
        return []
