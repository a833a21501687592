"""The measure interface (one method returning named numbers) and model outputs computed once."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, ClassVar, Literal, TypeVar, Union

import torch
import torch.nn.functional as F
from torch import nn

from erasure.config import Component
from erasure.data import Data

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


@dataclass
class MeasureContext:
    """What the pipeline hands a measure for one unlearner's record.

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
        seed: the seed of that stream.
        predictor: the recipe that trained the original (for measures that train, e.g. relearn
            time); never modify it.
        shared: ``shared(key, build)`` returns the experiment-wide object stored under ``key``,
            calling ``build()`` (with the global RNG seeded from the key) the first time only —
            for things every record reuses: shadow models, a random reference network.
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
    predictor: Any = None
    shared: Callable[[str, Callable[[], Any]], Any] = lambda key, build: build()
    #: the experiment's seed (``seed`` is this measure's stream, derived from it and its config)
    experiment_seed: int = 0
    #: scratch space shared by the measures of this record (e.g. one relearning run that
    #: RelearnTime and AIN both read); empty for every record
    record: dict[Any, Any] = field(default_factory=dict)

    def output(self, target: str, partition: str) -> Outputs:
        return self.outputs[target](partition)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time this measure (its config: ``seed`` depends on it) asks for
        ``key`` in the experiment; the stored value afterwards. For what is the same in every
        record: numbers of the original or the gold model, which no unlearner changes."""
        return self.shared(f"measure/{self.seed}/{key}", compute)

    def per_target(self, target: str, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` for the unlearned model; for the original, once per experiment (see
        :meth:`once`). ``compute`` must depend on nothing that differs between records but
        the unlearned model."""
        return compute() if target != "original" else self.once(f"original/{key}", compute)

    def common(self, key: str, compute: Callable[[], Any], *, unlearned: bool) -> Any:
        """``compute()`` once for every measure that asks for ``key`` (unlike :meth:`once`, which
        is one measure's own): once per record when the value is of this record's unlearned
        model (``unlearned``; kept in :attr:`record`), else once per experiment (:attr:`shared`:
        the original's and the gold models' values)."""
        if not unlearned:
            return self.shared(key, compute)
        if key not in self.record:
            self.record[key] = compute()
        return self.record[key]

    def gold_output(self, retain: str, partition: str) -> Outputs:
        """Outputs of the gold model retrained on ``retain``, on ``partition``."""
        return self.gold_outputs[retain](partition)


@dataclass(kw_only=True)
class Measure(Component):
    """Base of every measure. Subclass it and implement :meth:`measure`.

    Keys follow ``<name>.<partition>.<target>`` (e.g. ``accuracy.forget.unlearned``); ``name`` is
    the class attribute that starts each key.

    Example::

        @dataclass(kw_only=True)
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

    def measure(self, ctx: MeasureContext) -> dict[str, float]:
        raise NotImplementedError

    def gold_partitions(self) -> list[str]:
        """Partitions whose retrained gold model this measure compares against; the pipeline
        trains each once, before any unlearner, and shares it (``ctx.golds``)."""
        return []
