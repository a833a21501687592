"""Value checks for constructors: a failed check raises ValueError, which the builder reports as
a config problem — at the parameter's path when the error names it (:class:`ParameterValueError`),
else at the component's."""
from __future__ import annotations


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


def fraction(name: str, value: float, *, closed: bool = False) -> None:
    """Rejects a value outside (0, 1), or outside [0, 1] when ``closed``."""
    inside = 0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0
    if not inside:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise ParameterValueError(name, f"{name} must lie in {interval}, got {value}")
