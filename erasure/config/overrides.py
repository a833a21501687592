"""Overrides: values that replace parts of a loaded config — the command line's
``--set predictor.parameters.epochs=3``, and its flags (``--seed 3`` is ``globals.seed``), for
variations without editing files.

The path is dotted; a number (or ``[n]``) indexes a list: ``unlearners.0.parameters.epochs=2``
and ``unlearners[0].parameters.epochs=2`` are the same. A list of components is also addressed by
a component's record name — its ``"name"``, else its class's short name:
``unlearners.Finetuning.parameters.epochs=2`` (no quotes needed in any shell), and so the
evaluator's ``measures`` and a cascade's ``unlearners``. A name that no entry has, or that two
entries share (two ``Finetuning`` without a ``"name"``), is an error that says which names there
are. A ``--set`` value is read as JSON5 (``3``,
``0.01``, ``true``, ``[16, 32]``, ``{"lr": 0.1}``), and as a plain string when it is not JSON5
(``--set data.parameters.DataSource.parameters.name=wine``). Missing objects along the path are
created; crossing a value that is not an object or list is an error. A path into a component the
config does not write — an unlearner's default optimizer,
``unlearners.Finetuning.parameters.optimizer.parameters.lr=0.1`` — creates it without
``"class"``, which the builder reads as that default with these fields changed
(:func:`erasure.config.build.merge_default`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import json5

from .errors import ConfigError, Problem, join_path, suggest


class PathError(ValueError):
    """A path that does not reach a place in the config; ``hint`` says what would."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Override:
    """One value to put into a config.

    Attributes:
        path: where, dotted (``globals.seed``, ``unlearners[0].parameters.epochs``).
        value: the new value (plain JSON: ``None`` is ``null``).
        origin: what asked for it, the place an error names (``--seed``).
    """

    path: str
    value: Any
    origin: str


def apply_overrides(config: Any, overrides: Iterable[str | Override]) -> Any:
    """Applies every override to ``config`` (in place), in order (a later one wins), and returns
    it. A string is a ``--set`` assignment, ``PATH=VALUE``.

    Raises:
        ConfigError: every malformed assignment or unreachable path, each with its origin (the
            flag, or ``--set PATH=VALUE``) as the problem's place.
    """
    problems = []
    for override in overrides:
        text = isinstance(override, str)
        try:
            path, value = _parse(override) if text else (override.path, override.value)
            assign(config, segments(path), value)
        except ValueError as e:
            problems.append(Problem(f"--set {override}" if text else override.origin, str(e),
                                    getattr(e, "hint", "")))
    if problems:
        raise ConfigError(problems)
    return config


def _parse(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise PathError("expected PATH=VALUE, e.g. predictor.parameters.epochs=3")
    path, raw = text.split("=", 1)
    try:
        value = json5.loads(raw)
    except ValueError:
        value = raw
    return path, value


def segments(path: str) -> list[str | int]:
    """``unlearners[0].parameters.epochs`` → ``["unlearners", 0, "parameters", "epochs"]``."""
    parts: list[str | int] = []
    for part in re.sub(r"\[(\d+)\]", r".\1", path.strip()).split("."):
        if not part:
            raise PathError(f"empty segment in path '{path}'")
        parts.append(int(part) if part.isdigit() else part)
    return parts


def assign(node: Any, path: list[str | int], value: Any) -> None:
    """Puts ``value`` at ``path`` in ``node`` (in place), creating missing objects on the way.

    Raises:
        PathError: the path crosses a value that is not an object or a list, indexes past a
            list's end, or names no entry of a list of components (or more than one).
    """
    done: list[str | int] = []
    for i, key in enumerate(path):
        last = i == len(path) - 1
        where = join_path("", *done) or "the config"
        if isinstance(node, list):
            key = _index(node, key, where)
        elif isinstance(node, dict):
            key = str(key)
            if not last and key not in node:
                node[key] = {}
        else:
            raise PathError(f"{where} is {type(node).__name__}, not an object or a list")
        done.append(key)
        if last:
            node[key] = value
        else:
            node = node[key]


def entry_name(entry: Any) -> str | None:
    """The name by which a path addresses a component in a list: its ``"name"``, else its
    class's short name (``"erasure.unlearners.Scrub"`` → ``Scrub``) — its record name without a
    sweep point; None for an entry that is not a component."""
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("name"), str):
        return entry["name"]
    if isinstance(entry.get("class"), str):
        return entry["class"].rsplit(".", 1)[-1]
    return None


def _index(items: list, key: str | int, where: str) -> int:
    if isinstance(key, int):
        if 0 <= key < len(items):
            return key
        raise PathError(f"{where} is a list of {len(items)}: '{key}' is not an index in it")
    names = [entry_name(entry) for entry in items]
    found = [i for i, name in enumerate(names) if name == key]
    if len(found) == 1:
        return found[0]
    if found:
        at = ", ".join(f"{where}[{i}]" for i in found)
        raise PathError(f"{where} has {len(found)} entries named '{key}' ({at})",
                        "Address one by its index, or give them distinct names "
                        "(\"name\": \"...\" beside \"class\").")
    known = [n for n in names if n is not None]
    if not known:
        raise PathError(f"{where} is a list of {len(items)}: '{key}' is not an index in it")
    raise PathError(f"{where} has no entry named '{key}'",
                    f"{suggest(key, known, 'names')} Or an index, 0 to {len(items) - 1}.")
