"""Search spaces: the ranges a tuner may draw a component's hyper-parameters from.

A component declares its default space next to its fields, as a class attribute mapping a
parameter path (relative to its ``parameters``; dots reach into nested components, as in sweeps)
to a distribution::

    class NegGrad(TrainingUnlearner):
        epochs: Epochs = 4
        search_space = {"optimizer.parameters.lr": LogUniform(1e-4, 1e-1),
                        "epochs": IntRange(1, 10)}

A config overrides it in an unlearner's ``"tune": {"space": {...}}`` with the same paths and
objects ``{"low": 1e-4, "high": 0.1, "log": true}``, ``{"low": 1, "high": 10, "type": "int"}`` or
``{"choices": ["expected", "true"]}`` (:func:`parse`). Tuning itself is :mod:`erasure.tuning`.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Sequence


class Distribution:
    """One parameter's range. Subclasses say what is wrong with them (:meth:`problem`), draw a
    value from an Optuna trial (:meth:`suggest`) and give their corner values (:meth:`corners`,
    which the config check builds the component with)."""

    def problem(self) -> str | None:
        raise NotImplementedError

    def suggest(self, trial: Any, name: str) -> Any:
        raise NotImplementedError

    def corners(self) -> list[Any]:
        raise NotImplementedError

    def as_config(self) -> dict[str, Any]:
        raise NotImplementedError


def _real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _order(low: float, high: float, log: bool) -> str | None:
    """What is wrong with a range's bounds: empty, inverted, or (log) not above 0."""
    if low >= high:
        return (f"the range [{low}, {high}] is {'empty' if low == high else 'inverted'}: "
                "low must be below high")
    if log and low <= 0:
        return f"a log range must lie above 0, got low = {low}"
    return None


@dataclasses.dataclass(frozen=True)
class FloatRange(Distribution):
    """A float in [low, high]; ``log`` draws uniformly in log space (low must be above 0)."""

    low: float
    high: float
    log: bool = False

    def problem(self) -> str | None:
        if not (_real(self.low) and _real(self.high)):
            return f"low and high must be finite numbers, got {self.low!r} and {self.high!r}"
        return _order(self.low, self.high, self.log)

    def suggest(self, trial: Any, name: str) -> float:
        return trial.suggest_float(name, float(self.low), float(self.high), log=self.log)

    def corners(self) -> list[Any]:
        return [float(self.low), float(self.high)]

    def as_config(self) -> dict[str, Any]:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log}


@dataclasses.dataclass(frozen=True)
class IntRange(Distribution):
    """An integer in [low, high] (both included); ``log`` as for :class:`FloatRange`."""

    low: int
    high: int
    log: bool = False

    def problem(self) -> str | None:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high)):
            return f"low and high must be integers, got {self.low!r} and {self.high!r}"
        return _order(self.low, self.high, self.log)

    def suggest(self, trial: Any, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def corners(self) -> list[Any]:
        return [self.low, self.high]

    def as_config(self) -> dict[str, Any]:
        return {"type": "int", "low": self.low, "high": self.high, "log": self.log}


@dataclasses.dataclass(frozen=True)
class Choice(Distribution):
    """One of a few values (strings, numbers, booleans or null)."""

    choices: tuple

    def __init__(self, choices: Sequence[Any]) -> None:
        object.__setattr__(self, "choices", tuple(choices) if isinstance(choices, (list, tuple))
                           else choices)

    def problem(self) -> str | None:
        if not isinstance(self.choices, tuple) or len(self.choices) < 2:
            return f"choices must list at least two values, got {self.choices!r}"
        if any(not (v is None or isinstance(v, (str, bool, int, float))) for v in self.choices):
            return "choices must be strings, numbers, booleans or null"
        if len(set(map(repr, self.choices))) != len(self.choices):
            return f"choices repeat a value: {list(self.choices)}"
        return None

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.choices))

    def corners(self) -> list[Any]:
        return list(self.choices)

    def as_config(self) -> dict[str, Any]:
        return {"choices": list(self.choices)}


def LogUniform(low: float, high: float) -> FloatRange:  # noqa: N802 (reads as a distribution)
    """A float drawn uniformly in log space, as learning rates are."""
    return FloatRange(low, high, log=True)


def Uniform(low: float, high: float) -> FloatRange:  # noqa: N802
    """A float drawn uniformly in [low, high]."""
    return FloatRange(low, high)


TYPES = ("float", "int")
KEYS = ("type", "low", "high", "log", "choices")


def parse(node: Any, integer: bool = False) -> Distribution:
    """A distribution from its config object.

    Args:
        node: ``{"low", "high", "log"?, "type"?}`` or ``{"choices": [...]}``.
        integer: the type when ``node`` names none (the parameter's own: int fields draw ints).

    Raises:
        ValueError: the object is malformed or its range is empty, inverted or (log) not above 0.
    """
    if not isinstance(node, dict):
        raise ValueError('a range is an object such as {"low": 0.0001, "high": 0.1, "log": true} '
                         'or {"choices": ["a", "b"]}, got ' + type(node).__name__)
    unknown = [k for k in node if k not in KEYS]
    if unknown:
        raise ValueError(f"unknown key '{unknown[0]}' in a range (keys: {', '.join(KEYS)})")
    if "choices" in node:
        if set(node) != {"choices"}:
            raise ValueError("a range with 'choices' takes no other key")
        if not isinstance(node["choices"], list):
            raise ValueError("choices must be a list")
        made: Distribution = Choice(node["choices"])
    else:
        missing = [k for k in ("low", "high") if k not in node]
        if missing:
            raise ValueError(f"a range needs '{missing[0]}'")
        kind = node.get("type", "int" if integer else "float")
        if kind not in TYPES:
            raise ValueError(f"type must be one of {', '.join(TYPES)}, got {kind!r}")
        log = node.get("log", False)
        if not isinstance(log, bool):
            raise ValueError(f"log must be true or false, got {log!r}")
        made = (IntRange if kind == "int" else FloatRange)(node["low"], node["high"], log)
    problem = made.problem()
    if problem:
        raise ValueError(problem)
    return made
