"""``python main.py schema``: a JSON Schema (draft 2020-12) of the config, generated from the
registered components (:mod:`erasure.config.describe`), for editors: with it a config file
completes class and parameter names and flags a misspelled parameter or a value of the wrong
type as it is typed.

The schema checks what can be checked from the file alone: the sections, every built-in class
name (by short name or dotted path) and, for each, its parameters — names (an unknown one is
refused), types, bounds, accepted values — with their defaults and one-line descriptions. A
class named by a dotted path outside the framework (your own) is accepted with any parameters;
an ``{"include": ...}`` object is accepted wherever a section, a component or a list of
components goes (its content is not seen). What needs more than one value (partition names
against the chain, sweeps, tune blocks) is left to ``--validate``, which checks everything.

Point a config at the schema with a top-level ``"$schema": "erasure.schema.json"`` (a path
relative to the config, or a URL), or map files to it in the editor's settings (VS Code:
``"json.schemas"``).
"""
from __future__ import annotations

import enum
import inspect
import types
import typing
from typing import Any, Literal, Optional, Union

from erasure.config import describe
from erasure.config.checks import Pattern, Range, Widths
from erasure.config.component import PARTITION, Slot
from erasure.config.describe import REQUIRED, Description, Parameter
from erasure.config.registry import full_name

DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: a dotted path (``mymodule.MyClass``): a class outside the registry, accepted as it is
DOTTED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"
INCLUDE = {"type": "object", "required": ["include"],
           "properties": {"include": {"type": "string",
                                      "description": "a JSON(C) file whose content goes here, "
                                                     "relative to this file"}}}
#: PyTorch's public modules, where a config names its classes by dotted path (torch.optim.Adam)
_TORCH_MODULES = ("torch.optim", "torch.optim.lr_scheduler", "torch.nn")


def json_schema() -> dict:
    """The JSON Schema of a config file."""
    from erasure.plan import SCHEMA_KEY, SECTIONS, Globals

    return _Writer(Globals).document(SECTIONS, SCHEMA_KEY)


class _Writer:
    def __init__(self, globals_class: type) -> None:
        self.slots = describe.slots((globals_class,))
        self.globals_class = globals_class
        self.classes = describe.registered()
        self.defs: dict[str, Any] = {"include": INCLUDE}
        self.described: dict[type, Description] = {}

    def document(self, sections: tuple[str, ...], schema_key: str) -> dict:
        from erasure.data import DatasetManager
        from erasure.measures import Evaluator
        from erasure.models import Predictor
        from erasure.unlearners import Unlearner

        globals_ = describe.describe(self.globals_class, "globals", self.slots)
        entry = self.component(Slot(Unlearner, lazy=False), extra={
            "sweep": {"type": "object", "description": "a grid over the parameters: path → "
                                                       "list of values, one record a point",
                      "additionalProperties": {"type": "array", "minItems": 1}},
            "tune": {"type": ["object", "boolean"],
                     "description": "tune this unlearner's knobs before its run: true (every "
                                    "default) or a block (see guide/08-tuning.md)"}})
        properties = {
            schema_key: {"type": "string", "description": "this file's JSON Schema (ignored "
                                                           "by erasure)"},
            "include": INCLUDE["properties"]["include"],
            "globals": _or_include({**self.parameters(globals_),
                                    "description": "settings shared by the whole experiment"}),
            "data": {"type": "object"},
            "predictor": {"type": "object"},
            "unlearners": _or_include({"type": "array", "minItems": 1, "items": entry,
                                       "description": "the methods to compare"}),
            "evaluator": {"type": "object"},
        }
        # where the file includes another, its objects are merged over the included ones (its
        # lists replace them): a section that is a component may be a part of one there
        slots = {"data": Slot(DatasetManager, lazy=False), "predictor": Slot(Predictor, lazy=False),
                 "evaluator": Slot(Evaluator, lazy=False)}
        components = {name: self.component(slot) for name, slot in slots.items()}
        parts = {name: self.component(slot, partial=True) for name, slot in slots.items()}
        assert set(sections) <= set(properties)
        return {
            "$schema": DRAFT,
            "title": "erasure experiment config",
            "description": "A config of erasure (python main.py CONFIG). Generated by "
                           "'python main.py schema'.",
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
            # a file that includes another may leave its sections to it
            "if": {"required": ["include"]},
            "then": {"properties": parts},
            "else": {"required": [s for s in sections if s != "globals"],
                     "properties": components},
            "$defs": dict(sorted(self.defs.items())),
        }

    # -- components ---------------------------------------------------------------------------

    def component(self, slot: Slot, default: Any = REQUIRED, extra: Optional[dict] = None,
                  partial: bool = False) -> dict:
        """A component node of ``slot``'s kind; with a component ``default``, one given without
        ``"class"`` is that default changed (its parameters checked against the default's
        class); ``partial``: a part of a component (merged over an included one), whose
        parameters are checked only where it names its class."""
        kind = self.kind(slot.base)
        node: dict[str, Any] = {
            "type": "object",
            "properties": {"class": {"$ref": f"#/$defs/{kind}.class"},
                           "parameters": {"type": "object"},
                           "name": {"type": "string",
                                    "description": "a name (an unlearner's names its record; "
                                                   "default: the class's)"},
                           **(extra or {})},
            "additionalProperties": False,
            "allOf": [{"$ref": f"#/$defs/{kind}"}],
        }
        default_class = default.get("class") if isinstance(default, dict) else None
        target = self.find(default_class, slot.base) if default_class else None
        if default_class is None and not partial:
            node["required"] = ["class"]
        elif target is not None:
            node["allOf"].append({"if": {"not": {"required": ["class"]}},
                                  "then": {"properties": {"parameters": {
                                      "$ref": f"#/$defs/{self.define(target)}"}}}})
        return _or_include(node)

    def kind(self, base: type) -> str:
        """The name of the definitions of a kind: ``<base>.class`` (the class names it accepts)
        and ``<base>`` (each class's parameters, chosen by ``"class"``)."""
        name = base.__name__
        if name in self.defs:
            return name
        self.defs[name] = {}  # a kind nesting itself (Cascade's unlearners) refers to this one
        fitting = [(n, c) for n, c in self.classes if issubclass(c, base)]
        names = sorted({n for n, _ in fitting})
        self.defs[f"{name}.class"] = {
            "type": "string",
            "description": f"{describe.kind(base)}: a short name, or the dotted path of any "
                           "importable class",
            "anyOf": [{"enum": names}, {"pattern": DOTTED}] if names else [{"pattern": DOTTED}],
        }
        if not fitting:  # no built-in of this kind: any class by dotted path
            return name
        self.defs[name] = {"allOf": [
            {"if": {"properties": {"class": {"enum": _aliases(n, c)}}, "required": ["class"]},
             "then": {"properties": {"parameters": {"$ref": f"#/$defs/{self.define(c, n)}"}}}}
            for n, c in fitting]}
        return name

    def find(self, name: str, base: type) -> Optional[type]:
        for short, cls in self.classes:
            if issubclass(cls, base) and name in _aliases(short, cls):
                return cls
        return None

    def define(self, cls: type, name: Optional[str] = None) -> str:
        """The name of the definition of ``cls``'s parameters (written once)."""
        key = full_name(cls)
        if key not in self.defs:
            self.defs[key] = {}
            self.defs[key] = self.parameters(describe.describe(cls, name, self.slots))
        return key

    def parameters(self, described: Description) -> dict:
        properties = {p.name: self.parameter(p) for p in described.parameters}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if described.description:
            schema["description"] = f"{described.name}: {described.description}"
        if not described.open_ended:
            schema["additionalProperties"] = False
        required = [p.name for p in described.parameters if p.required]
        if required:
            schema["required"] = required
        return schema

    def parameter(self, parameter: Parameter) -> dict:
        schema = self.value(parameter.annotation, parameter.default)
        for constraint in parameter.constraints:  # a base class's, where the type is redeclared
            checked = self.value(constraint)
            if checked != schema:
                schema = {"allOf": [schema, checked]}
        if (parameter.default is not REQUIRED and parameter.default is not None) \
                or (parameter.default is None and _allows_null(schema)):
            schema = {**schema, "default": parameter.default}
        if parameter.description:
            schema = {**schema, "description": parameter.description}
        return schema

    # -- values -------------------------------------------------------------------------------

    def value(self, annotation: Any, default: Any = REQUIRED) -> dict:
        """The schema of a value of type ``annotation`` (``{}``, anything, for a type it does
        not know: the builder does not check those either)."""
        if annotation is None or annotation is Any:
            return {}
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            inner, *markers = typing.get_args(annotation)
            for marker in markers:
                if isinstance(marker, Slot):
                    node = self.component(marker, default)
                    return _nullable(node) if _optional(inner) else node
            schema = self.value(inner, default)
            for marker in markers:
                if isinstance(marker, Range):
                    schema = _bounded(schema, marker)
                elif isinstance(marker, Widths):
                    schema = {"anyOf": [{"type": "integer", "minimum": 1},
                                        {"type": "array", "items": {"type": "integer",
                                                                    "minimum": 1}}]}
                elif isinstance(marker, Pattern):
                    schema = {**schema, "pattern": marker.regex}
                elif marker is PARTITION:
                    schema = {**schema, "description": "a partition name (written by the data "
                                                       "section's partitions)"}
            return schema
        if origin in (Union, types.UnionType):
            alternatives = [a for a in typing.get_args(annotation) if not _foreign(a)]
            return _any_of([self.value(a, default) for a in alternatives])
        if origin is Literal:
            return {"enum": list(typing.get_args(annotation))}
        if origin in (list, tuple, typing.get_origin(typing.Sequence[int])):
            arguments = typing.get_args(annotation)
            if origin is tuple and arguments and Ellipsis not in arguments:
                return {"type": "array", "prefixItems": [self.value(a) for a in arguments],
                        "minItems": len(arguments), "maxItems": len(arguments)}
            items = [a for a in arguments if a is not Ellipsis]
            schema = {"type": "array"}
            if len(set(items)) == 1:
                item = self.value(items[0])
                if item:
                    schema["items"] = item
                if _includable(item):
                    return _or_include(schema)  # a list of components: may be a snippet
            return schema
        if origin is dict or annotation is dict:
            return {"type": "object"}
        if inspect.isclass(annotation):
            if describe.is_component(annotation):
                return self.component(Slot(annotation, lazy=False), default)
            if issubclass(annotation, enum.Enum):
                return {"enum": [m.value for m in annotation]}
            return dict(_PLAIN.get(annotation, {}))
        return {}


_PLAIN = {bool: {"type": "boolean"}, int: {"type": "integer"}, float: {"type": "number"},
          str: {"type": "string"}, type(None): {"type": "null"}, list: {"type": "array"},
          tuple: {"type": "array"}}


def _aliases(name: str, cls: type) -> list[str]:
    """Every ``"class"`` value naming ``cls``: its short name, its full dotted path and, for
    PyTorch's classes, their public paths (``torch.optim.Adam``)."""
    found = [name, full_name(cls)]
    if cls.__module__.startswith("torch."):
        import importlib

        for module in _TORCH_MODULES:
            if getattr(importlib.import_module(module), cls.__name__, None) is cls:
                found.append(f"{module}.{cls.__name__}")
    return list(dict.fromkeys(found))


def _foreign(annotation: Any) -> bool:
    """A class no JSON value is (``torch.Tensor``): left out of a union, as the builder does."""
    return (inspect.isclass(annotation) and annotation not in _PLAIN and annotation is not dict
            and not describe.is_component(annotation)
            and not issubclass(annotation, enum.Enum))


def _optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _allows_null(schema: dict) -> bool:
    return (not schema or schema.get("type") == "null" or "null" in schema.get("type", [])
            or any(_allows_null(s) for s in schema.get("anyOf", ())))


def _any_of(schemas: list[dict]) -> dict:
    if not schemas or any(not s for s in schemas):
        return {}
    if len(schemas) == 1:
        return schemas[0]
    if all(set(s) == {"type"} for s in schemas):  # plain types: one "type" list
        names = []
        for s in schemas:
            names += s["type"] if isinstance(s["type"], list) else [s["type"]]
        names = list(dict.fromkeys(names))
        if "number" in names and "integer" in names:
            names.remove("integer")
        return {"type": names if len(names) > 1 else names[0]}
    return {"anyOf": schemas}


def _bounded(schema: dict, bound: Range) -> dict:
    """``schema`` with ``bound``'s limits (JSON Schema applies them to numbers only)."""
    out = dict(schema)
    for key, limit in (("minimum", bound.ge), ("exclusiveMinimum", bound.gt),
                       ("maximum", bound.le), ("exclusiveMaximum", bound.lt)):
        if limit is not None:
            out[key] = limit
    return out


def _includable(schema: dict) -> bool:
    return schema.get("then") == {"$ref": "#/$defs/include"}


def _or_include(schema: dict) -> dict:
    """``schema``, or an ``{"include": FILE, ...}`` object standing for it (its content, and so
    the keys beside ``include`` merged over it, is not seen here)."""
    return {"if": {"type": "object", "required": ["include"]},
            "then": {"$ref": "#/$defs/include"}, "else": schema}
