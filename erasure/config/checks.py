"""Value checks for hyper-parameters: constraints declared on a field's type, and the older
check functions that constructors call.

A constraint is a marker in the field's ``Annotated`` type::

    epochs: Annotated[int, Range(ge=1)] = 4       # or the alias: epochs: Epochs = 4
    alpha: Optional[Annotated[float, Range(gt=0)]] = None    # None means "not set" and passes
    weights: list[Annotated[float, Range(ge=0)]] = ...       # each item is checked

The builder checks it with the value's place in the config
(``unlearners[0].parameters.epochs``), and a component checks it again when constructed in
Python (``NegGrad(epochs=0)`` raises :class:`ParameterValueError`). A constraint declared on a
field holds in every subclass, also one that redeclares the field to change its default
(``epochs: int = 10``): a subclass may add constraints, never drop one.

A failed check raises ValueError; the builder reports it at the parameter's path when the error
names one parameter (:class:`ParameterValueError`, or a message naming exactly one), else at the
component's.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
import sys
import types
import typing
from typing import Annotated, Any, Iterator, Literal, Sequence, Union

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


class Constraint:
    """A marker in an ``Annotated`` type that checks the value. Subclasses implement
    :meth:`problem`; ``None`` values are never checked (they mean "not set")."""

    def problem(self, name: str, value: Any) -> str | None:
        """What is wrong with ``value`` of the parameter ``name`` (a whole sentence that starts
        with ``name``), or None when it passes."""
        raise NotImplementedError


def _number(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else str(x)


@dataclasses.dataclass(frozen=True)
class Range(Constraint):
    """Bounds on a number: ``ge``/``gt`` (at least / greater than), ``le``/``lt`` (at most /
    less than). NaN fails every bound.

    With a lower and an upper bound the message gives the interval (``must lie in (0, 1)``);
    ``why`` is added in parentheses (``must be at most 100,000 (the bound catches typos)``).
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    why: str = ""

    def problem(self, name: str, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return f"{name} must be a number, got {value!r}"
        inside = ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                  and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))
        if inside:
            return None
        low = [f"at least {_number(self.ge)}"] if self.ge is not None else []
        low += [f"greater than {_number(self.gt)}"] if self.gt is not None else []
        high = [f"at most {_number(self.le)}"] if self.le is not None else []
        high += [f"less than {_number(self.lt)}"] if self.lt is not None else []
        if len(low) == 1 and len(high) == 1:
            lower = self.ge if self.ge is not None else self.gt
            upper = self.le if self.le is not None else self.lt
            rule = (f"lie in {'[' if self.ge is not None else '('}{_number(lower)}, "
                    f"{_number(upper)}{']' if self.le is not None else ')'}")
        else:
            rule = "be " + " and ".join(low + high)
        why = f" ({self.why})" if self.why else ""
        return f"{name} must {rule}{why}, got {_number(value)}"


@dataclasses.dataclass(frozen=True)
class Widths(Constraint):
    """A layer width, or a list of them, each at least 1: a layer of width 0 passes nothing on
    and the network trains to a constant."""

    def problem(self, name: str, value: Any) -> str | None:
        why = "(a layer of width 0 passes nothing on)"
        if isinstance(value, int):
            return f"{name} must be at least 1 {why}, got {value}" if value < 1 else None
        if any(v < 1 for v in value):
            return f"every width in {name} must be at least 1 {why}, got {list(value)}"
        return None


@dataclasses.dataclass(frozen=True)
class Pattern:
    """The form of a string parameter, for the config's readers: ``regex`` (anchored), the JSON
    Schema's ``pattern`` (:mod:`erasure.schema`), and ``shown``, its type in ``python main.py
    list``. Not checked by the builder: whoever declares it checks the value, with a message of
    its own (``globals.device``: :func:`erasure.plan.device_problem`)."""

    regex: str
    shown: str


_TYPO = "no real experiment runs more; the bound catches typos"

#: Passes over the data: 1 to :data:`MAX_EPOCHS`.
Epochs = Annotated[int, Range(ge=1), Range(le=MAX_EPOCHS, why=_TYPO)]
#: Optimisation steps: 1 to :data:`MAX_STEPS`.
Steps = Annotated[int, Range(ge=1), Range(le=MAX_STEPS, why=_TYPO)]
#: Passes or steps a method may skip: 0 to :data:`MAX_EPOCHS` (:data:`MAX_STEPS`).
ZeroOrMoreEpochs = Annotated[int, Range(ge=0), Range(le=MAX_EPOCHS, why=_TYPO)]
ZeroOrMoreSteps = Annotated[int, Range(ge=0), Range(le=MAX_STEPS, why=_TYPO)]
#: A batch size (use ``Optional[BatchSize]`` for "the predictor's").
BatchSize = Annotated[int, Range(ge=1)]
#: A count of things, at least 1.
Count = Annotated[int, Range(ge=1)]
#: A number above 0.
Positive = Annotated[float, Range(gt=0)]
#: A number of at least 0.
NonNegative = Annotated[float, Range(ge=0)]
#: A share strictly between 0 and 1, as of a data set split in two.
Fraction = Annotated[float, Range(gt=0, lt=1)]
#: A number from 0 to 1, both included.
Probability = Annotated[float, Range(ge=0, le=1)]
#: Layer widths, one or a list (each at least 1).
LayerWidths = Annotated[Sequence[int], Widths()]


# -- checking values against the constraints of their types -------------------------------------

@functools.lru_cache(maxsize=None)
def _has_constraints(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        inner, *markers = typing.get_args(annotation)
        return any(isinstance(m, Constraint) for m in markers) or _has_constraints(inner)
    return any(_has_constraints(a) for a in typing.get_args(annotation) if a is not Ellipsis)


def constrained(annotation: Any) -> bool:
    """Whether a constraint occurs anywhere in ``annotation``."""
    try:
        return _has_constraints(annotation)
    except TypeError:  # unhashable: a Literal of lists, say
        return False


def violations(annotation: Any, value: Any, name: str) -> Iterator[tuple[str, str]]:
    """``(where, message)`` for each constraint in ``annotation`` that ``value`` breaks; ``where``
    is ``name``, or ``name[i]`` for an item of a list."""
    if value is None or not constrained(annotation):
        return
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *markers = typing.get_args(annotation)
        for marker in markers:
            message = marker.problem(name, value) if isinstance(marker, Constraint) else None
            if message:
                yield name, message
                return
        yield from violations(inner, value, name)
    elif origin in (Union, types.UnionType):
        for alternative in typing.get_args(annotation):
            if _fits(alternative, value):
                yield from violations(alternative, value, name)
                return
    elif isinstance(value, (list, tuple)) and _is_sequence(origin):
        args = typing.get_args(annotation)
        if origin is tuple and args and Ellipsis not in args:
            items = list(args)
        else:
            items = [args[0] if args else Any] * len(value)
        for i, (item, v) in enumerate(zip(items, value)):
            yield from violations(item, v, f"{name}[{i}]")


def _is_sequence(origin: Any) -> bool:
    return origin in (list, tuple) or origin is typing.get_origin(Sequence[int])


def _fits(annotation: Any, value: Any) -> bool:
    """Whether ``value`` is of the alternative ``annotation`` of a union (shallowly)."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return value in typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return any(_fits(a, value) for a in typing.get_args(annotation))
    if origin is not None:
        return isinstance(value, (list, tuple)) if _is_sequence(origin) else True
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return annotation is not type(None)


@functools.lru_cache(maxsize=None)
def field_constraints(cls: type) -> dict[str, tuple[Any, ...]]:
    """The constrained annotations of each field of the dataclass ``cls``: the field's own and
    those it had in every base class (most derived first)."""
    if not dataclasses.is_dataclass(cls):
        return {}
    names = {f.name for f in dataclasses.fields(cls)}
    found: dict[str, tuple[Any, ...]] = {}
    for klass in cls.__mro__:
        for name, annotation in inspect.get_annotations(klass).items():
            if name in names:
                annotation = _resolved(klass, name, annotation)
                if constrained(annotation) and annotation not in found.get(name, ()):
                    found[name] = found.get(name, ()) + (annotation,)
    return found


def _resolved(klass: type, name: str, annotation: Any) -> Any:
    """``annotation`` of ``klass`` with names resolved in its module (a string under ``from
    __future__ import annotations``); None when a name cannot be resolved there (a class
    defined in a function): such an annotation carries no constraint of ours."""
    if not isinstance(annotation, str):
        return annotation
    holder = types.SimpleNamespace(__annotations__={name: annotation})
    module = sys.modules.get(klass.__module__)
    try:
        return typing.get_type_hints(holder, vars(module) if module else {}, dict(vars(klass)),
                                     include_extras=True)[name]
    except Exception:
        return None


def check_fields(obj: Any) -> None:
    """Raises :class:`ParameterValueError` for the first field of ``obj`` that breaks a
    constraint declared on it (in its class or a base class)."""
    for name, declared in field_constraints(type(obj)).items():
        for annotation in declared:
            for _, message in violations(annotation, getattr(obj, name, None), name):
                raise ParameterValueError(name, message)


# -- check functions, for what is not a component field (Globals, the networks' check_parameters) --

def at_least(name: str, value: float | None, minimum: float) -> None:
    """Rejects ``value < minimum`` (``None`` means "not set" and passes)."""
    _raise(name, value, Range(ge=minimum))


def layer_widths(name: str, value: int | Sequence[int]) -> None:
    """Rejects a layer width, or a list of them, below 1: a layer of width 0 passes nothing on
    and the network trains to a constant."""
    _raise(name, value, Widths())


def _raise(name: str, value: Any, constraint: Constraint) -> None:
    message = None if value is None else constraint.problem(name, value)
    if message:
        raise ParameterValueError(name, message)
