"""Turning config nodes into objects, checking everything and collecting every problem.

Building *is* validating: our components' constructors only store their hyper-parameters (and
reject bad values), so building the whole tree costs nothing and proves that every class
resolves, every parameter binds and every value has the right type. Components that need
run-time arguments (optimizers, networks, losses) become :class:`Factory` objects after their
parameters are bound to the signature; a class's optional ``check_parameters(**parameters)``
(the built-in networks have one) checks their values then. The builder never mutates the config
it reads.
"""
from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from typing import Any, Literal, Union

from .checks import ParameterValueError, field_constraints, violations
from .component import PARTITION, Component, Factory, Slot, Spec
from .errors import ConfigError, Problem, join_path, suggest
from .registry import a, full_name, kind_of, resolve

COMPONENT_KEYS = ("class", "parameters", "name")


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID = _Invalid()


class Builder:
    """Builds config nodes, recording problems instead of stopping at the first.

    Attributes:
        problems: everything found so far.
        partition_refs: every ``(config path, partition name)`` a built parameter refers to.
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.partition_refs: list[tuple[str, str]] = []

    def fail(self, path: str, message: str, hint: str = "") -> _Invalid:
        self.problems.append(Problem(path, message, hint))
        return INVALID

    def raise_if_problems(self) -> None:
        if self.problems:
            raise ConfigError(list(self.problems))

    # -- components -------------------------------------------------------------------------

    def component(self, node: Any, slot: Slot, path: str) -> tuple[Any, Any]:
        """Builds one ``{"class": ..., "parameters": {...}}`` node.

        Returns:
            ``(object, resolved config)``; the object is INVALID when a problem was recorded.
        """
        if isinstance(node, Spec):
            node = node.as_config()
        if not isinstance(node, dict) or "class" not in node:
            classless = isinstance(node, dict)
            got = "an object without 'class'" if classless else type(node).__name__
            return self.fail(path, f"expected {a(kind_of(slot.base))} component "
                                   f"{{\"class\": ..., \"parameters\": {{...}}}}, got {got}",
                             _CLASSLESS_HINT if classless else ""), node
        before = len(self.problems)
        for key in node:
            if key not in COMPONENT_KEYS:
                self.fail(join_path(path, key), f"unknown key '{key}' in a component",
                          suggest(str(key), COMPONENT_KEYS, "keys"))
        if "name" in node and not isinstance(node["name"], str):
            self.fail(join_path(path, "name"), "'name' must be a string")
        params = node.get("parameters", {})
        if not isinstance(params, dict):
            self.fail(join_path(path, "parameters"),
                      f"'parameters' must be an object, not {type(params).__name__}")
            params = {}
        try:
            cls = resolve(node["class"], slot.base, join_path(path, "class"))
        except ConfigError as e:
            self.problems.extend(e.problems)
            return INVALID, node
        kwargs, resolved_params = self.parameters(cls, params, join_path(path, "parameters"),
                                                  runtime=slot.runtime, derived=slot.derived)
        resolved = {"class": full_name(cls), "parameters": resolved_params}
        if "name" in node:
            resolved["name"] = node["name"]
        if len(self.problems) > before:
            return INVALID, resolved
        if slot.lazy:
            factory = Factory(cls, kwargs, resolved)
            rejected = _try_with_stand_ins(factory, slot.runtime)
            if rejected:
                return self.fail(_where(path, rejected, cls, params),
                                 f"{cls.__name__}: {rejected}"), resolved
            check = getattr(cls, "check_parameters", None)
            try:  # what a component built later (a network: it needs the data) checks now
                if callable(check):
                    check(**kwargs)
            except ValueError as e:
                return self.fail(_where(path, e, cls, params), f"{cls.__name__}: {e}"), resolved
            except Exception:  # not a check of ours: the real build will tell
                pass
            return factory, resolved
        try:
            obj = cls(**kwargs)
        except Exception as e:  # a constructor rejecting a value is a config problem
            return self.fail(_where(path, e, cls, params), f"{cls.__name__}: {e}"), resolved
        if isinstance(obj, Component):
            obj.config = resolved
        return obj, resolved

    def parameters(self, cls: type, params: dict, path: str, runtime: tuple[str, ...] = (),
                   derived: tuple[str, ...] = ()) -> tuple[dict, dict]:
        """Binds ``params`` to ``cls``'s constructor and converts each value.

        Returns:
            ``(keyword arguments, resolved parameters with defaults filled in)``.
        """
        try:
            signature = inspect.signature(cls)
        except (TypeError, ValueError):
            return dict(params), dict(params)
        hints = _hints(cls)
        accepted = {n: p for n, p in signature.parameters.items()
                    if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n not in runtime}
        open_ended = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
        kwargs: dict[str, Any] = {}
        resolved: dict[str, Any] = {}
        for name, value in params.items():
            where = join_path(path, name)
            if name in runtime:
                self.fail(where, f"'{name}' of {cls.__name__} is supplied by the framework; "
                                 "remove it from the config")
            elif name not in accepted and not open_ended:
                hint = getattr(cls, "parameter_hints", {}).get(name)
                self.fail(where, f"Invalid parameter '{name}' for {cls.__name__}.",
                          " ".join(filter(None, (hint, suggest(name, accepted, "parameters")))))
            else:
                before = len(self.problems)
                if name in accepted:  # a component without "class": its default, changed
                    value = merge_default(value, accepted[name].default)
                kwargs[name], resolved[name] = self.value(value, hints.get(name), where)
                if len(self.problems) == before:
                    self._constraints(cls, name, kwargs[name], hints.get(name), path)
        for name, param in accepted.items():
            if name in params:
                continue
            if param.default is inspect.Parameter.empty and name in derived:
                continue  # filled in from the data by the pipeline
            if param.default is inspect.Parameter.empty:
                self.fail(join_path(path, name),
                          f"missing required parameter '{name}' of {cls.__name__}")
                continue
            if _from_factory(cls, name):
                continue  # the signature shows only a marker; each object gets its own value
            built, shown = self.value(param.default, hints.get(name), join_path(path, name))
            if isinstance(param.default, Spec):
                kwargs[name] = built
            if _is_jsonable(shown):
                resolved[name] = _plain(shown)
        return kwargs, resolved

    def _constraints(self, cls: type, name: str, value: Any, hint: Any, path: str) -> None:
        """Records every breach of the constraints declared on the parameter ``name`` (on the
        field and in the base classes' fields, else on the constructor's annotation)."""
        for annotation in field_constraints(cls).get(name) or (hint,):
            found = list(violations(annotation, value, name))
            for where, message in found:
                self.fail(join_path(path, where), f"{cls.__name__}: {message}")
            if found:
                return

    # -- values -----------------------------------------------------------------------------

    def value(self, value: Any, annotation: Any, path: str) -> tuple[Any, Any]:
        """Checks and converts one parameter value against its annotation.

        Returns:
            ``(value to pass, value to show in the resolved config)``.
        """
        if annotation is None or annotation is Any:
            return value, value
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            inner, *markers = typing.get_args(annotation)
            for marker in markers:
                if isinstance(marker, Slot):
                    return self._slot(value, marker, inner, path)
            if PARTITION in markers:
                converted, shown = self.value(value, inner, path)
                if converted is not INVALID:
                    names = [converted] if isinstance(converted, str) else list(converted or [])
                    self.partition_refs.extend((path, n) for n in names)
                return converted, shown
            return self.value(value, inner, path)
        if origin in (Union, types.UnionType):
            alternatives = typing.get_args(annotation)
            if value is None and type(None) in alternatives:
                return None, None
            checkable = any(not _foreign(alt) for alt in alternatives)
            for alt in alternatives:
                if checkable and _foreign(alt) and not isinstance(value, alt):
                    continue  # a config value (JSON) is never, say, a torch.Tensor
                trial = Builder()
                converted, shown = trial.value(value, alt, path)
                if not trial.problems:
                    self.partition_refs.extend(trial.partition_refs)
                    return converted, shown
            choices = [str(c) for alt in alternatives for c in _literal_choices(alt)]
            hint = suggest(value, choices, "values") if isinstance(value, str) and choices else ""
            return self.fail(path, f"expected {_describe(annotation)}, got {_show(value)}",
                             hint), value
        if origin is Literal:
            choices = typing.get_args(annotation)
            if value in choices:
                return value, value
            return self.fail(path, f"{_show(value)} is not one of the accepted values",
                             suggest(str(value), [str(c) for c in choices], "values")), value
        if origin in (list, tuple, typing.get_origin(typing.Sequence[int])):
            if not isinstance(value, (list, tuple)):
                return self.fail(path, f"expected a list, got {_show(value)}"), value
            raw = typing.get_args(annotation)
            if origin is tuple and raw and Ellipsis not in raw:  # fixed length: tuple[float, float]
                if len(value) != len(raw):
                    return self.fail(path, f"expected a list of {len(raw)} items, "
                                           f"got {_show(value)}"), value
                item_types = list(raw)
            else:
                args = [a for a in raw if a is not Ellipsis]
                item = args[0] if len(set(args)) == 1 else None
                bulk = _plain_items(value, item)
                if bulk is not None:
                    built, shown = bulk
                    return (tuple(built) if origin is tuple else built), shown
                item_types = [item] * len(value)
            pairs = [self.value(v, t, join_path(path, i))
                     for i, (v, t) in enumerate(zip(value, item_types))]
            built = [p[0] for p in pairs]
            return (tuple(built) if origin is tuple else built), [p[1] for p in pairs]
        if inspect.isclass(annotation):
            if issubclass(annotation, Component):
                return self._slot(value, Slot(annotation, lazy=False), annotation, path)
            return self._plain_type(value, annotation, path)
        return value, value  # an annotation we do not interpret is not checked

    def _slot(self, value: Any, slot: Slot, inner: Any, path: str) -> tuple[Any, Any]:
        if value is None:
            args = typing.get_args(inner)
            if type(None) in args or inner is type(None):
                return None, None
        return self.component(value, slot, path)

    def _plain_type(self, value: Any, annotation: type, path: str) -> tuple[Any, Any]:
        if annotation is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value), value
        if annotation in (int, float) and isinstance(value, bool):
            return self.fail(path, f"expected {_describe(annotation)}, got {_show(value)}"), value
        if annotation in _CHECKED:
            if not isinstance(value, annotation):
                return self.fail(path, f"expected {_describe(annotation)}, got {_show(value)}"), value
        return value, value


_CLASSLESS_HINT = ("Give its \"class\". Only a parameter whose default is a component may "
                   "leave it out: the default, with the fields given changed.")


def merge_default(given: Any, default: Any) -> Any:
    """``given`` merged over ``default``, when ``given`` is a component without ``"class"`` and
    ``default`` is a component (a :class:`Spec`, or its config): the default's class, its
    parameters with those given over them (nested components merged alike), and the given
    ``"name"`` — as Hydra merges a config into its defaults. So
    ``"optimizer": {"parameters": {"lr": 0.1}}`` is the unlearner's default optimizer with another
    learning rate, whether a config, a ``--set`` or a sweep writes it. Anything else is returned
    as it is (a component without ``"class"`` over a default that is not one stays an error).
    """
    if isinstance(default, Spec):
        default = default.as_config()
    if not (isinstance(given, dict) and "class" not in given and isinstance(default, dict)
            and "class" in default):
        return given
    params = given.get("parameters", {})
    base = default.get("parameters") or {}
    if not isinstance(params, dict) or not isinstance(base, dict):
        return given  # 'parameters' must be an object: reported where it is built
    merged = {**base, **{k: merge_default(v, base.get(k)) for k, v in params.items()}}
    return {**default, **given, "class": default["class"], "parameters": merged}


def _where(path: str, error: Exception, cls: type, params: dict) -> str:
    """Where a constructor's error belongs: the parameter it names — a
    :class:`ParameterValueError`'s, or the one parameter of ``cls`` whose name occurs as a word
    in a ``ValueError``'s message — when the config gives it; else the component."""
    if isinstance(error, ParameterValueError):
        named = {error.parameter}
    elif isinstance(error, ValueError):
        try:
            accepted = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            accepted = {}
        named = set(re.findall(r"\w+", str(error))) & set(accepted)
    else:
        named = set()
    if len(named) == 1 and (name := named.pop()) in params:
        return join_path(path, "parameters", name)
    return path


def _from_factory(cls: type, name: str) -> bool:
    """Whether the default of ``name`` comes from a dataclass field's ``default_factory``."""
    field = getattr(cls, "__dataclass_fields__", {}).get(name)
    return getattr(field, "default_factory", dataclasses.MISSING) is not dataclasses.MISSING


def _plain_items(value: list | tuple, item: Any) -> tuple[list, list] | None:
    """``(built, shown)`` for a list whose items all pass unchecked or as they are (a list of
    20,000 ids: one pass in C instead of a ``Builder.value`` call an item); None otherwise, and
    the items are checked one by one."""
    if item is None or item is Any:
        return list(value), list(value)
    if item not in _CHECKED:
        return None
    types = set(map(type, value))  # exact types: a bool is not an int here
    if types <= {item}:
        return list(value), list(value)
    if item is float and types <= {float, int}:
        return [float(v) for v in value], list(value)
    return None


def _try_with_stand_ins(factory: Factory, runtime: tuple[str, ...]) -> Exception | None:
    """Builds a lazy component once with stand-ins for the arguments the pipeline supplies, so
    that its own checks (an optimizer's "Invalid learning rate") run before any training.

    Returns:
        The error with which the constructor rejected its parameters, or None (also when a
        runtime argument has no stand-in: such a component is only built by the pipeline).
    """
    if not runtime or any(name not in _STAND_INS for name in runtime):
        return None
    try:
        factory(**{name: _STAND_INS[name]() for name in runtime})
    except (ValueError, TypeError) as e:  # how torch rejects a hyper-parameter
        return e
    except Exception:  # anything else may be the stand-in's fault: the real build will tell
        return None
    return None


def _one_parameter() -> list:
    import torch

    # a matrix: some optimizers (Muon) take only 2-D parameters
    return [torch.zeros(1, 1, requires_grad=True)]


#: stand-ins for runtime arguments: an optimizer's ``params`` (one 1×1 parameter)
_STAND_INS = {"params": _one_parameter}


def _hints(cls: type) -> dict[str, Any]:
    """Annotations of the constructor's parameters. A dataclass's generated ``__init__`` cannot
    resolve names from the modules its fields were declared in, so the class's own (per-module
    resolved) hints come first and the constructor's fill in the rest."""
    hints: dict[str, Any] = {}
    for target in (cls.__init__, cls):
        try:
            found = typing.get_type_hints(target, include_extras=True)
        except Exception:  # foreign classes may carry annotations we cannot evaluate
            continue
        hints.update(found)
    return hints


#: Plain types whose values the builder checks with ``isinstance``.
_CHECKED = (int, float, str, bool, dict, type(None))


def _foreign(annotation: Any) -> bool:
    """A class no config value can be checked against (``torch.Tensor``, ``numpy.ndarray``)."""
    return (inspect.isclass(annotation) and not issubclass(annotation, Component)
            and annotation not in _CHECKED + (list, tuple))


def _literal_choices(annotation: Any) -> tuple:
    """The values a ``Literal`` (possibly inside ``Annotated``) accepts; empty for other types."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _literal_choices(typing.get_args(annotation)[0])
    return typing.get_args(annotation) if origin is Literal else ()


def _describe(annotation: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             dict: "an object", type(None): "null"}
    if annotation in names:
        return names[annotation]
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _describe(typing.get_args(annotation)[0])
    if origin in (list, tuple):
        return "a list"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    return getattr(annotation, "__name__", str(annotation))


def _show(value: Any) -> str:
    kinds = {str: "string", bool: "boolean", int: "integer", float: "number", list: "list",
             dict: "object", type(None): "null"}
    return f"{kinds.get(type(value), type(value).__name__)} {value!r}"


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _is_jsonable(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_jsonable(v) for k, v in value.items())
    return False
