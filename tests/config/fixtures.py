"""Classes and a function that tests name by dotted path (``tests.config.fixtures.MyUnlearner``).

Nothing here is registered under a short name: only classes inside ``erasure`` are.
"""
from __future__ import annotations

from dataclasses import field
from typing import Annotated, Literal, Optional

from erasure.config import Epochs, PartitionName, Range
from erasure.measures import Measure
from erasure.unlearners import Unlearner


class MyUnlearner(Unlearner):
    """A user's own unlearner with a float and a choice among two values."""

    strength: float = 0.5
    mode: Literal["soft", "hard"] = "soft"

    def unlearn(self, model, ctx):
        return model


class MyMeasure(Measure):
    """A user's own measure reading one partition."""

    name = "mine"
    partition: PartitionName = "forget"

    def measure(self, ctx):
        return {f"mine.{self.partition}.unlearned": 1.0}


class PickyUnlearner(Unlearner):
    """Its constructor rejects ``level`` above 3, as a built-in rejects negative epochs."""

    level: int = 1

    def __post_init__(self) -> None:
        if self.level > 3:
            raise ValueError(f"level must be at most 3, got {self.level}")

    def unlearn(self, model, ctx):
        return model


class PlainThing:
    """A class that is no component of any kind."""


def not_a_class():
    """A module-level function: a config may not name it as a class."""
    return None


class Undecorated(Unlearner):
    """A component written the new way: fields and one method, no decorator."""

    weights: Optional[list[Annotated[float, Range(ge=0)]]] = None
    alpha: Annotated[float, Range(gt=0)] = 1.0
    epochs: Epochs = 2
    tags: list[str] = field(default_factory=list)

    def unlearn(self, model, ctx):
        return model


class TwoNames(Unlearner):
    """Its check names two of its parameters, or none: reported at the component."""

    low: int = 0
    high: int = 1
    k: int = 1

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"low must not exceed high, got {self.low} > {self.high}")
        if self.k % 2 == 0:
            raise ValueError("the number of neighbours must be odd")

    def unlearn(self, model, ctx):
        return model


class MyBase(Unlearner):
    """A user's own abstract base: a config may not name it."""

    abstract = True
