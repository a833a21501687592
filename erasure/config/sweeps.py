"""Sweeps: a grid over an unlearner's hyper-parameters, declared once, run as one record a point.

An unlearner node may carry ``"sweep"``: a map from a parameter path (relative to its
``parameters``; dots reach into nested components, and into lists of components by index or by
name as ``--set`` does, :mod:`erasure.config.overrides`) to the list of values to try::

    {"class": "Finetuning", "parameters": {"epochs": 5},
     "sweep": {"epochs": [1, 5], "optimizer.parameters.lr": [0.01, 0.1]}}

expands to four unlearners named ``Finetuning[epochs=1,lr=0.01]`` … ``Finetuning[epochs=5,lr=0.1]``
(the last path segment names a value unless two paths end alike: :func:`suffix`). The optimizer
is Finetuning's default, which the config does not write: a path into it changes that default's
``lr`` and keeps its class and other fields (:func:`erasure.config.build.merge_default`). Each
point is also returned as ``{path as written: value}``, what the record of that point carries
under ``"sweep"`` (:mod:`erasure.execution.units`). A sweep, and the unlearners of a config
with its sweeps expanded, are limited to ``MAX_POINTS``, checked before expanding.
"""
from __future__ import annotations

import itertools
import json
import math
from typing import Any

from .errors import ConfigError, Problem
from .load import copy_config
from .overrides import assign, segments

#: the most records one config may ask for (each is an unlearning run, evaluated and stored)
MAX_POINTS = 10_000


def expand(nodes: list[Any]) -> tuple[list[Any], list[str], list[str], list[dict | None]]:
    """Expands every node with a ``sweep``.

    Returns:
        ``(nodes, paths, suffixes, points)``: the expanded nodes (without ``sweep``), the config
        path each came from (``unlearners[i]``), each one's name suffix (``""`` outside sweeps)
        and its sweep point, ``{path as written in the sweep: value}`` (None outside sweeps).

    Raises:
        ConfigError: a sweep that is not a map of paths to non-empty lists, or a path that
            crosses a value that is not an object.
    """
    out, paths, suffixes, points, problems = [], [], [], [], []
    for i, node in enumerate(nodes):
        where = f"unlearners[{i}]"
        if not isinstance(node, dict) or "sweep" not in node:
            out.append(node)
            paths.append(where)
            suffixes.append("")
            points.append(None)
            continue
        grid = node["sweep"]
        if not isinstance(grid, dict) or not grid:
            problems.append(Problem(f"{where}.sweep", "a sweep is an object mapping parameter "
                                    "paths to lists of values, e.g. {\"epochs\": [1, 5]}"))
            continue
        bad = [k for k, v in grid.items() if not isinstance(v, list) or not v]
        if bad:
            problems += [Problem(f"{where}.sweep.{k}", "must be a non-empty list of values")
                         for k in bad]
            continue
        size = math.prod(len(v) for v in grid.values())
        if size > MAX_POINTS:
            shown = " x ".join(f"{len(v):,}" for v in grid.values())
            problems.append(Problem(f"{where}.sweep", f"this sweep has {size:,} points ({shown}), "
                                    f"more than the {MAX_POINTS:,} one config may run; split it "
                                    "into several configs, or sweep fewer values"))
            continue
        if len(out) + size > MAX_POINTS:
            break  # refused below, unexpanded
        base = {k: v for k, v in node.items() if k != "sweep"}
        for values in itertools.product(*grid.values()):
            point = copy_config(base)
            try:
                for key, value in zip(grid, values):
                    assign(point.setdefault("parameters", {}), segments(key), copy_config(value))
            except ValueError as e:
                problems.append(Problem(f"{where}.sweep.{key}", str(e)))
                break
            out.append(point)
            paths.append(where)
            chosen = {key: copy_config(value) for key, value in zip(grid, values)}
            suffixes.append(suffix(chosen))
            points.append(chosen)
    total = sum(_size(node) for node in nodes)
    if total > MAX_POINTS and not problems:
        problems.append(Problem("unlearners", f"{total:,} unlearners with the sweeps expanded, "
                                f"more than the {MAX_POINTS:,} one config may run; split the "
                                "config"))
    if problems:
        raise ConfigError(problems)
    return out, paths, suffixes, points


def suffix(point: dict[str, Any]) -> str:
    """The name suffix of a sweep point (``{"epochs": 5, "optimizer.parameters.lr": 0.1}`` →
    ``[epochs=5,lr=0.1]``): each path's last segment, the full path where two end alike."""
    labels = _labels(list(point))
    return "[" + ",".join(f"{label}={_show(v)}" for label, v in zip(labels, point.values())) + "]"


def _size(node: Any) -> int:
    grid = node.get("sweep") if isinstance(node, dict) else None
    if isinstance(grid, dict) and grid and all(isinstance(v, list) for v in grid.values()):
        return math.prod(len(v) for v in grid.values())
    return 1


def _labels(keys: list[str]) -> list[str]:
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return [short if last.count(short) == 1 else full for short, full in zip(last, keys)]


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
