"""Value checks for constructors: a failed check raises ValueError, which the builder reports as
a config problem — at the parameter's path when the error names it (:class:`ParameterValueError`),
else at the component's."""
from __future__ import annotations

from typing import Sequence

#: Upper bounds that no real experiment reaches: they catch a typo (``1e12`` epochs) before it
#: runs for years.
MAX_EPOCHS = 100_000
MAX_STEPS = 100_000_000


class ParameterValueError(ValueError):
    """A constructor rejecting the value of one parameter, named by ``parameter``: the builder
    reports it at ``<component>.parameters.<parameter>``."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def at_least(name: str, value: float | None, minimum: float) -> None:
    """Rejects ``value < minimum`` (``None`` means "not set" and passes)."""
    if value is not None and value < minimum:
        raise ParameterValueError(name, f"{name} must be at least {minimum}, got {value}")


def iterations(name: str, value: int | None, minimum: int = 1, *, steps: bool = False) -> None:
    """Rejects a count of epochs (of ``steps``) below ``minimum`` or above ``MAX_EPOCHS``
    (``MAX_STEPS``); ``None`` passes."""
    at_least(name, value, minimum)
    maximum = MAX_STEPS if steps else MAX_EPOCHS
    if value is not None and value > maximum:
        raise ParameterValueError(name, f"{name} must be at most {maximum:,} (no real experiment "
                                        f"runs more; the bound catches typos), got {value:,}")


def layer_widths(name: str, value: int | Sequence[int]) -> None:
    """Rejects a layer width, or a list of them, below 1: a layer of width 0 passes nothing on
    and the network trains to a constant."""
    if isinstance(value, int):
        if value < 1:
            raise ParameterValueError(name, f"{name} must be at least 1 (a layer of width 0 "
                                            f"passes nothing on), got {value}")
    elif any(v < 1 for v in value):
        raise ParameterValueError(name, f"every width in {name} must be at least 1 (a layer of "
                                        f"width 0 passes nothing on), got {list(value)}")


def fraction(name: str, value: float, *, closed: bool = False) -> None:
    """Rejects a value outside (0, 1), or outside [0, 1] when ``closed``."""
    inside = 0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0
    if not inside:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ParameterValueError(name, f"{name} must lie in {interval}, got {value}")
