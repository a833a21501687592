"""Command-line overrides: ``--set predictor.parameters.epochs=3`` changes one value of a loaded
config, for quick variations without editing files.

The path is dotted; a number (or ``[n]``) indexes a list: ``unlearners.0.parameters.epochs=2``
and ``unlearners[0].parameters.epochs=2`` are the same. The value is read as JSON5 (``3``,
``0.01``, ``true``, ``[16, 32]``, ``{"lr": 0.1}``), and as a plain string when it is not JSON5
(``--set data.parameters.DataSource.parameters.name=wine``). Missing objects along the path are
created; crossing a value that is not an object or list is an error.
"""
from __future__ import annotations

import re
from typing import Any

import json5

from .errors import ConfigError, Problem


def apply_overrides(config: Any, assignments: list[str]) -> Any:
    """Applies every ``PATH=VALUE`` to ``config`` (in place) and returns it.

    Raises:
        ConfigError: every malformed assignment or unreachable path, with the assignment as the
            problem's place.
    """
    problems = []
    for text in assignments:
        try:
            path, value = _parse(text)
            _assign(config, path, value)
        except ValueError as e:
            problems.append(Problem(f"--set {text}", str(e)))
    if problems:
        raise ConfigError(problems)
    return config


def _parse(text: str) -> tuple[list[str | int], Any]:
    if "=" not in text:
        raise ValueError("expected PATH=VALUE, e.g. predictor.parameters.epochs=3")
    path, raw = text.split("=", 1)
    segments: list[str | int] = []
    for part in re.sub(r"\[(\d+)\]", r".\1", path.strip()).split("."):
        if not part:
            raise ValueError(f"empty segment in path '{path}'")
        segments.append(int(part) if part.isdigit() else part)
    try:
        value = json5.loads(raw)
    except ValueError:
        value = raw
    return segments, value


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
