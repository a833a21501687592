"""``python main.py list [KIND]``: the classes a config may name, by kind, and for one kind (or
one class) each class's parameters with their types, defaults and one-line descriptions — read
from the classes themselves (:mod:`erasure.config.describe`), as ``python main.py schema`` is."""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal, Optional, Union

from erasure.config import describe
from erasure.config.checks import Pattern, Range, Widths
from erasure.config.component import PARTITION, Slot
from erasure.config.describe import REQUIRED, Description, Parameter
from erasure.config.registry import full_name

#: kinds in the order a config meets them, each with its plural
KINDS = {"data source": "data sources", "splitter": "splitters", "tokenizer": "tokenizers",
         "dataset manager": "dataset managers", "network": "networks", "loss": "losses",
         "optimizer": "optimizers", "learning-rate scheduler": "learning-rate schedulers",
         "predictor": "predictors", "unlearner": "unlearners", "measure": "measures",
         "evaluator": "evaluators"}
#: other words for a kind
ALIASES = {"models": "network", "model": "network", "schedulers": "learning-rate scheduler",
           "scheduler": "learning-rate scheduler", "sources": "data source",
           "splits": "splitter", "optimisers": "optimizer", "optimiser": "optimizer"}


class UnknownKind(LookupError):
    """A KIND that names no kind and no class; the message says what does."""


def by_kind() -> dict[str, list[tuple[str, type]]]:
    """Every class a config may name by short name, grouped by kind (in :data:`KINDS` order)."""
    groups: dict[str, list[tuple[str, type]]] = {}
    for name, cls in describe.registered():
        groups.setdefault(describe.kind(cls), []).append((name, cls))
    order = list(KINDS)
    return dict(sorted(groups.items(), key=lambda item: (
        order.index(item[0]) if item[0] in order else len(order), item[0])))


def plural(kind: str) -> str:
    return KINDS.get(kind, kind + "s")


def overview() -> str:
    """Each kind and its classes' short names."""
    lines = []
    for kind, classes in by_kind().items():
        names = sorted({name for name, _ in classes}, key=str.lower)
        lines.append(f"{plural(kind)} ({len(names)}): {', '.join(names)}")
    lines.append("")
    lines.append("python main.py list KIND shows each class of a kind with its parameters "
                 "(e.g. 'list unlearners'); 'list NAME' one class; 'list globals' the globals "
                 "section. Your own classes are named by dotted path ('mymodule.MyClass').")
    return "\n".join(lines)


def _key(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


def details(word: str) -> str:
    """Every class of the kind ``word`` names (``unlearners``, ``optimizer``…), or the one class
    it names (``Scrub``), with its parameters.

    Raises:
        UnknownKind: ``word`` names no kind and no class, with a did-you-mean.
    """
    groups = by_kind()
    kinds = {}
    for kind in groups:
        kinds[_key(kind)] = kinds[_key(plural(kind))] = kind
    for alias, kind in ALIASES.items():
        if kind in groups:
            kinds[_key(alias)] = kind
    slots = describe.slots(_globals())
    if _key(word) in ("globals", "global"):  # the settings section: a dataclass, not a component
        return text(dataclasses.replace(describe.describe(_globals()[0], "globals", slots),
                                        kind="the config's section"))
    if _key(word) in kinds:
        kind = kinds[_key(word)]
        return "\n\n".join(text(describe.describe(cls, name, slots))
                           for name, cls in groups[kind])
    classes = [(name, cls) for members in groups.values() for name, cls in members
               if name.lower() == word.lower() or full_name(cls) == word]
    if classes:
        return "\n\n".join(text(describe.describe(cls, name, slots)) for name, cls in classes)
    from erasure.config.errors import suggest

    names = [plural(k) for k in groups] + ["globals"]
    hint = suggest(word, names, "kinds")
    if "Did you mean" not in hint:
        close = suggest(word, [n for members in groups.values() for n, _ in members], "")
        if "Did you mean" in close:
            hint = close.split("?")[0] + "? " + hint
    raise UnknownKind(f"unknown kind '{word}'. {hint}")


def _globals() -> tuple[type, ...]:
    from erasure.plan import Globals

    return (Globals,)


def text(described: Description) -> str:
    """A class and its parameters, a line each."""
    head = f"{described.name} — {described.kind}"
    if described.path.rsplit(".", 1)[-1] == described.name:
        head += f" ({described.path})"
    lines = [head]
    if described.description:
        lines.append(f"  {described.description}")
    for parameter in described.parameters:
        lines.append("  " + parameter_line(parameter))
    if described.open_ended:
        lines.append("  (takes any other parameter too)")
    if not described.parameters and not described.open_ended:
        lines.append("  (no parameters)")
    return "\n".join(lines)


def parameter_line(parameter: Parameter) -> str:
    # a constraint a base class declares on the field (the subclass changed its default)
    shown = parameter.constraints[0] if parameter.constraints else parameter.annotation
    line = f"{parameter.name}: {type_text(shown)}"
    if parameter.derived and parameter.default in (REQUIRED, None):
        line += " (from the data)"
    elif parameter.default is REQUIRED:
        line += " (required)"
    else:
        line += f" = {_show(parameter.default)}"
    if parameter.description:
        line += f" — {parameter.description}"
    return line


def _show(value: Any) -> str:
    import json

    if isinstance(value, dict) and set(value) == {"class", "parameters"}:
        name = str(value["class"]).rsplit(".", 1)[-1]
        inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in value["parameters"].items())
        return f"{name}({inner})"
    return json.dumps(value)


def type_text(annotation: Any) -> str:
    """A short text for a parameter's type: ``int ≥ 1``, ``'cpu' | 'cuda'``, ``optimizer``…"""
    if annotation is None or annotation is Any:
        return "any"
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *markers = typing.get_args(annotation)
        for marker in markers:
            if isinstance(marker, Slot):
                word = describe.kind(marker.base)
                return f"{word} | null" if type(None) in typing.get_args(inner) else word
        out = type_text(inner)
        shown = [m.shown for m in markers if isinstance(m, Pattern)]
        if shown:
            out = shown[0]
        if PARTITION in markers:
            out = out.replace("str", "partition")
        bounds = [_bounds(m) for m in markers if isinstance(m, Range)]
        if any(bounds):
            out += " " + ", ".join(b for b in bounds if b)
        if any(isinstance(m, Widths) for m in markers):
            out += " (each ≥ 1)"
        return out
    if origin is Union or type(annotation).__name__ == "UnionType":
        return " | ".join(type_text(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (list, tuple, typing.get_origin(typing.Sequence[int])):
        items = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if origin is tuple and items and len(typing.get_args(annotation)) == len(items) \
                and len(items) > 1:
            return f"[{', '.join(type_text(a) for a in items)}]"
        return f"list[{type_text(items[0])}]" if items else "list"
    if origin is dict or annotation is dict:
        return "object"
    if isinstance(annotation, type):
        if describe.is_component(annotation):
            return describe.kind(annotation)
        return {type(None): "null"}.get(annotation, annotation.__name__)
    return str(annotation).replace("typing.", "")


def _bounds(bound: Range) -> str:
    parts = [f"{sign} {limit:g}" for sign, limit in (("≥", bound.ge), (">", bound.gt),
                                                     ("≤", bound.le), ("<", bound.lt))
             if limit is not None]
    return ", ".join(parts)


def main_list(word: Optional[str]) -> str:
    return overview() if word is None else details(word)
