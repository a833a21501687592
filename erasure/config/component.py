"""What a config can name, and the markers that tell the validator what a parameter holds.

Every built-in (data source, splitter, network, unlearner, measure…) is a class whose constructor
takes keyword-only hyper-parameters, stores them and does no work; the work happens later, in a
method the pipeline calls. That is what lets the whole config be checked — every class resolved,
every parameter bound to its signature — before anything is loaded or trained.

A parameter's type annotation says what the config may put there:

- a Component subclass (``DataSource``) or ``list[Unlearner]``: nested components, built first;
- ``Annotated[Factory, Slot(Base, runtime=(...))]``: a component built later by the pipeline,
  which supplies the ``runtime`` arguments (an optimizer needs the model's parameters);
- ``PartitionName``: the name of a data partition, checked against the partition chain;
- ``Annotated[int, Range(ge=1)]`` (or an alias such as ``Epochs``): a value with a constraint
  (see :mod:`erasure.config.checks`);
- plain ``int``, ``float``, ``str``, ``bool``, ``Literal[...]``, lists and unions: type-checked.
"""
from __future__ import annotations

import abc
import dataclasses
import functools
from dataclasses import dataclass
from typing import Annotated, Any, Callable, ClassVar, Union

from . import registry
from .checks import check_fields

#: What ``@dataclass`` writes on a class to record its fields.
_DATACLASS_STATE = ("__dataclass_fields__", "__dataclass_params__")


class _ComponentType(abc.ABCMeta):
    """The type of components: once a component class is a dataclass, a second ``@dataclass``
    on it (how components were written before) leaves its fields as they are.

    The second pass keeps the methods of the first (dataclass never overwrites them) but would
    record a ``default_factory`` field as required and drop ``field()`` options, and subclasses
    read their fields from that record; so the record of the first pass stands.
    """

    def __setattr__(cls, name: str, value: Any) -> None:
        if name in _DATACLASS_STATE and cls.__dict__.get("_dataclass_made"):
            if name == "__dataclass_params__" and getattr(value, "frozen", False):
                raise TypeError(f"{cls.__qualname__}: a component cannot be frozen (the builder "
                                "sets its resolved config); drop @dataclass(frozen=True)")
            return
        super().__setattr__(name, value)


class Component(metaclass=_ComponentType):
    """Base of the framework's configurable classes: a component is a class with typed fields
    (its hyper-parameters, with defaults) and the one method its kind asks for.

    Every subclass is made a keyword-only dataclass here (no decorator needed; an old
    ``@dataclass(kw_only=True)`` on it is harmless, and a plain ``@dataclass`` too as long as no
    field without a default follows one with a default). The constraints declared on the fields
    (``Annotated[int, Range(ge=1)]``) are checked on construction, before the class's own
    ``__post_init__`` runs; that method may reject other values with a ``ValueError``, reported
    at the parameter its message names (exactly one), else at the component.

    Subclasses defined inside ``erasure`` are registered under their class name, so a config may
    say ``"Scrub"``; any class is reachable by its dotted path.

    Attributes:
        config: the resolved config of this component (full dotted class path, every parameter
            with defaults filled in), set by the builder.
        kind_name: a word for the kind, used in error messages ("unlearner").
        abstract: True in the body of a base class that is not itself usable: a config naming
            it is refused ("subclass it"), and it is never offered as a choice.
    """

    kind_name: ClassVar[str] = "component"
    config: dict

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # the class's own __post_init__, or one from a mixin before Component in the MRO
        post_init = getattr(cls, "__post_init__")
        if post_init is not Component.__post_init__ \
                and not getattr(post_init, "checks_fields_first", False):
            cls.__post_init__ = _fields_checked_first(post_init)
        if "__dataclass_fields__" not in cls.__dict__:  # (a copy made by slots=True has them)
            dataclasses.dataclass(cls, kw_only=True)
            cls._dataclass_made = True
        if cls.__module__.startswith("erasure."):
            registry.register(cls)

    def __post_init__(self) -> None:
        """Checks the constraints declared on the fields (when no subclass defines its own
        ``__post_init__``, which then checks them first)."""
        if type(self).__post_init__ is Component.__post_init__:
            check_fields(self)


def _fields_checked_first(post_init: Callable[..., None]) -> Callable[..., None]:
    """``post_init`` preceded by the check of the fields' constraints, done once: by the
    ``__post_init__`` of the object's own class, not again by those it reaches through super()."""

    @functools.wraps(post_init)
    def __post_init__(self: Component, *args: Any, **kwargs: Any) -> None:
        if type(self).__post_init__ is __post_init__:
            check_fields(self)
        post_init(self, *args, **kwargs)

    __post_init__.checks_fields_first = True  # type: ignore[attr-defined]
    return __post_init__


@dataclass(frozen=True)
class Slot:
    """What a nested component must be.

    Args:
        base: the class it must subclass.
        runtime: constructor arguments the pipeline supplies (never in the config).
        lazy: True when the pipeline builds it later (with the runtime arguments).
        derived: constructor arguments the pipeline fills in from the data unless the config
            gives them (a network's ``input_shape``): required ones may be left out.
    """

    base: type
    runtime: tuple[str, ...] = ()
    lazy: bool = True
    derived: tuple[str, ...] = ()


class Factory:
    """A validated component that the pipeline constructs later, adding the runtime arguments.

    ``factory(model.parameters())`` builds the optimizer the config describes.
    """

    def __init__(self, cls: type, kwargs: dict[str, Any], config: dict) -> None:
        self.cls = cls
        self.kwargs = kwargs
        self.config = config

    def __call__(self, *args: Any, **runtime: Any) -> Any:
        return self.cls(*args, **{**self.kwargs, **runtime})

    def __repr__(self) -> str:
        return f"Factory({self.cls.__qualname__}, {self.kwargs})"


@dataclass(frozen=True)
class Spec:
    """An immutable component description, usable as a default value of a parameter.

    ``spec("torch.optim.SGD", lr=0.01)`` is the default written in a signature; the resolved
    config shows it as ``{"class": "torch.optim.SGD", "parameters": {"lr": 0.01}}``.
    """

    cls: str
    params: tuple[tuple[str, Any], ...] = ()

    def as_config(self) -> dict:
        return {"class": self.cls, "parameters": dict(self.params)}


def spec(cls: str, **params: Any) -> Spec:
    return Spec(cls, tuple(sorted(params.items())))


class _PartitionMarker:
    def __repr__(self) -> str:
        return "PARTITION"


PARTITION = _PartitionMarker()
#: The name of a data partition; the validator checks it against the partition chain.
PartitionName = Annotated[str, PARTITION]
#: One partition name or a list of them.
PartitionNames = Annotated[Union[str, list[str]], PARTITION]
