"""What a component is, read from its class: its kind, its one-line description and each
parameter's type, default and one-line description — the one description of a component that
``python main.py list`` prints (:mod:`erasure.catalog`) and ``python main.py schema`` turns into
a JSON Schema (:mod:`erasure.config.schema`).

A parameter is what the builder binds (:mod:`erasure.config.build`): a constructor argument,
less the ones the pipeline supplies (an optimizer's ``params``); its type is the constructor's
annotation, or, for a field whose base class declares a constraint on it, that constrained
annotation (a subclass may add constraints, never drop one).
"""
from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from . import registry
from .checks import field_constraints
from .component import Slot, Spec

#: a parameter without a default
REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Parameter:
    """One parameter of a component.

    Attributes:
        annotation: its type (``Annotated`` constraints kept), or None when not annotated.
        constraints: the constrained annotations declared on the field in the class and its
            bases, when they are not ``annotation`` itself (checked too).
        default: its default as the config would write it (a component default as
            ``{"class": ..., "parameters": ...}``), :data:`REQUIRED` when it has none, or None
            for one made per object (``default_factory``) or not expressible in JSON.
        derived: left out, the pipeline fills it in from the data (a network's ``input_shape``).
    """

    name: str
    annotation: Any
    default: Any
    description: str
    derived: bool = False
    constraints: tuple[Any, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and not self.derived


@dataclass(frozen=True)
class Description:
    """A class a config may name, described.

    Attributes:
        name: the short name a config uses (``"Scrub"``).
        path: its full dotted path.
        kind: what it is (``"unlearner"``, ``"optimizer"``, ``"network"``…).
        open_ended: it takes ``**kwargs``: any parameter binds.
    """

    name: str
    cls: type
    path: str
    kind: str
    description: str
    parameters: tuple[Parameter, ...]
    open_ended: bool = False


#: kinds as a user names them (``registry.kind_of`` says "torch module" for any ``nn.Module``)
_KIND_WORDS = {"torch module": "network"}


def kind(cls: type) -> str:
    """A word for what a class is: ``"unlearner"``, ``"optimizer"``, ``"network"``…"""
    word = registry.kind_of(cls)
    return _KIND_WORDS.get(word, word)


def registered() -> list[tuple[str, type]]:
    """Every class a config may name by short name (the built-ins and PyTorch's optimizers,
    schedulers and losses): ``(short name, class)``, sorted by name."""
    registry._load_builtins()
    return sorted(((name, cls) for name, classes in registry._by_name.items()
                   for cls in classes if not registry.is_abstract(cls)),
                  key=lambda item: (item[0].lower(), registry.full_name(item[1])))


def slots(extra: tuple[type, ...] = ()) -> dict[type, Slot]:
    """Every kind of nested component that the built-ins (and the classes ``extra``) take, by
    base class, with what the pipeline supplies to it (its ``runtime`` and ``derived``
    arguments, merged over the slots of one base)."""
    found: dict[type, Slot] = {}
    for cls in [*extra, *(cls for _, cls in registered())]:
        for annotation in _hints(cls).values():
            for slot in _slots_in(annotation):
                old = found.get(slot.base)
                found[slot.base] = slot if old is None else Slot(
                    slot.base, tuple(dict.fromkeys(old.runtime + slot.runtime)),
                    old.lazy, tuple(dict.fromkeys(old.derived + slot.derived)))
    return found


def _slots_in(annotation: Any) -> Iterator[Slot]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *markers = typing.get_args(annotation)
        yield from (m for m in markers if isinstance(m, Slot))
        yield from _slots_in(inner)
    elif inspect.isclass(annotation) and is_component(annotation):
        yield Slot(annotation, lazy=False)
    else:
        for argument in typing.get_args(annotation):
            yield from _slots_in(argument)


def is_component(cls: type) -> bool:
    from .component import Component

    return issubclass(cls, Component)


def describe(cls: type, name: Optional[str] = None,
             supplied: Optional[dict[type, Slot]] = None) -> Description:
    """``cls`` described; ``supplied`` (default: :func:`slots`) says which arguments the
    pipeline supplies to classes of each base, left out, or fills in from the data."""
    supplied = slots() if supplied is None else supplied
    runtime = {n for base, slot in supplied.items() if issubclass(cls, base) for n in slot.runtime}
    derived = {n for base, slot in supplied.items() if issubclass(cls, base) for n in slot.derived}
    docs = parameter_docs(cls)
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return Description(name or cls.__name__, cls, registry.full_name(cls), kind(cls),
                           summary(cls), (), open_ended=True)
    hints = _hints(cls)
    constrained = field_constraints(cls)
    fields = getattr(cls, "__dataclass_fields__", {})
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) \
                or parameter.name in runtime:
            continue
        annotation = hints.get(parameter.name)
        parameters.append(Parameter(
            parameter.name, annotation, _default(parameter, fields.get(parameter.name)),
            docs.get(parameter.name, ""), parameter.name in derived,
            tuple(c for c in constrained.get(parameter.name, ()) if c != annotation)))
    open_ended = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    return Description(name or cls.__name__, cls, registry.full_name(cls), kind(cls),
                       summary(cls), tuple(parameters), open_ended)


def _hints(cls: type) -> dict[str, Any]:
    """The constructor's annotations, resolved as the builder resolves them."""
    from .build import _hints as builder_hints

    return builder_hints(cls)


def _default(parameter: inspect.Parameter, field: Any) -> Any:
    if field is not None and getattr(field, "default_factory", dataclasses.MISSING) \
            is not dataclasses.MISSING:
        return None  # made for each object: the signature shows only a marker
    value = parameter.default
    if value is REQUIRED:
        return REQUIRED
    if isinstance(value, Spec):
        return value.as_config()
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value)) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _jsonable(v) for k, v in value.items()}
    return None


def summary(cls: type) -> str:
    """The first sentence of the class's own docstring ("" when it has none)."""
    doc = cls.__dict__.get("__doc__") or ""
    if not doc or doc.startswith(f"{cls.__name__}("):  # what @dataclass writes
        return ""
    return first_sentence(inspect.cleandoc(doc).split("\n\n")[0])


def first_sentence(text: str) -> str:
    text = " ".join(text.split()).replace("``", "`")  # reStructuredText literals, as Markdown
    match = re.search(r"(?<![.:]\w)(?<!e\.g)(?<!i\.e)\.(\s|$)", text)
    return text[:match.start() + 1] if match else text


#: an entry of a docstring's Args section: ``name: text``, ``a, b: text``, ``name (type): text``
_ENTRY = re.compile(r"^(\s*)(\w+(?:\s*,\s*\w+)*)(?:\s*\([^)]*\))?:\s*(.*)$")


def parameter_docs(cls: type) -> dict[str, str]:
    """The first sentence of each parameter's entry in the ``Args:`` sections of the docstrings
    of ``cls`` and its bases (the class's own first)."""
    found: dict[str, str] = {}
    for klass in cls.__mro__:
        doc = klass.__dict__.get("__doc__")
        if isinstance(doc, str):
            for name, text in _args_entries(inspect.cleandoc(doc)):
                found.setdefault(name, first_sentence(text))
    return found


def _args_entries(doc: str) -> Iterator[tuple[str, str]]:
    lines = doc.splitlines()
    for start, line in enumerate(lines):
        if line.strip() not in ("Args:", "Arguments:", "Parameters:"):
            continue
        indent = len(line) - len(line.lstrip())
        names: list[str] = []
        text: list[str] = []
        entry_indent = None
        for body in lines[start + 1:]:
            if not body.strip():
                continue
            here = len(body) - len(body.lstrip())
            if here <= indent:
                break
            match = _ENTRY.match(body)
            if match and (entry_indent is None or here == entry_indent):
                for name in names:
                    yield name, " ".join(text)
                entry_indent = here
                names = [n.strip() for n in match[2].split(",")]
                text = [match[3]]
            else:
                text.append(body.strip())
        for name in names:
            yield name, " ".join(text)
