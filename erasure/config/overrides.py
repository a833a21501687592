"""Overrides: values that replace parts of a loaded config — the command line's
``--set predictor.parameters.epochs=3``, and its flags (``--seed 3`` is ``globals.seed``), for
variations without editing files.

The path is dotted; a number (or ``[n]``) indexes a list: ``unlearners.0.parameters.epochs=2``
and ``unlearners[0].parameters.epochs=2`` are the same. A ``--set`` value is read as JSON5 (``3``,
``0.01``, ``true``, ``[16, 32]``, ``{"lr": 0.1}``), and as a plain string when it is not JSON5
(``--set data.parameters.DataSource.parameters.name=wine``). Missing objects along the path are
created; crossing a value that is not an object or list is an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import json5

from .errors import ConfigError, Problem


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
            _assign(config, _segments(path), value)
        except ValueError as e:
            problems.append(Problem(f"--set {override}" if text else override.origin, str(e)))
    if problems:
        raise ConfigError(problems)
    return config


def _parse(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ValueError("expected PATH=VALUE, e.g. predictor.parameters.epochs=3")
    path, raw = text.split("=", 1)
    try:
        value = json5.loads(raw)
    except ValueError:
        value = raw
    return path, value


def _segments(path: str) -> list[str | int]:
    segments: list[str | int] = []
    for part in re.sub(r"\[(\d+)\]", r".\1", path.strip()).split("."):
        if not part:
            raise ValueError(f"empty segment in path '{path}'")
        segments.append(int(part) if part.isdigit() else part)
    return segments


def _assign(node: Any, path: list[str | int], value: Any) -> None:
    for i, key in enumerate(path):
        last = i == len(path) - 1
        where = ".".join(str(k) for k in path[:i]) or "the config"
        if isinstance(node, list):
            if not isinstance(key, int) or not 0 <= key < len(node):
                raise ValueError(f"{where} is a list of {len(node)}: '{key}' is not an index in it")
        elif isinstance(node, dict):
            key = str(key)
            if not last and key not in node:
                node[key] = {}
        else:
            raise ValueError(f"{where} is {type(node).__name__}, not an object or a list")
        if last:
            node[key] = value
        else:
            node = node[key]
