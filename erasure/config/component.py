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
- plain ``int``, ``float``, ``str``, ``bool``, ``Literal[...]``, lists and unions: type-checked.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Union

from . import registry


class Component:
    """Base of the framework's own configurable classes.

    Subclasses defined inside ``erasure`` are registered under their class name, so a config may
    say ``"Scrub"``; any class is reachable by its dotted path.

    Attributes:
        config: the resolved config of this component (full dotted class path, every parameter
            with defaults filled in), set by the builder.
        kind_name: a word for the kind, used in error messages ("unlearner").
        abstract: True in the body of a base class that is not itself usable (not registered).
    """

    kind_name: ClassVar[str] = "component"
    config: dict

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # base classes that only define an interface say ``abstract = True`` in their body
        if cls.__module__.startswith("erasure.") and not cls.__dict__.get("abstract", False):
            registry.register(cls)


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
