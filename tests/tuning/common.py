"""Small tuned experiments on digits for the tuning tests (tests/tuning/).

Every config here is tiny: an MLP of 32 hidden units trained 6 epochs, one torch thread, trials
that take milliseconds. :func:`config` names its model cache (``globals.cache_dir``) or turns it
off; the tests that compare two runs turn it off, so both train every model themselves.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from erasure import prepare, run
from tests.helpers import digits_config

#: a NegGrad space that keeps every trial short (at most 4 epochs on the forget set)
NEGGRAD_SPACE = {"optimizer.parameters.lr": {"low": 1e-4, "high": 0.1, "log": True},
                 "epochs": {"low": 1, "high": 4}}
#: a wide NegGrad space: large learning rates destroy the model within an epoch or two, which
#: the median pruner stops early
WIDE_NEGGRAD_SPACE = {"optimizer.parameters.lr": {"low": 1e-5, "high": 1.0, "log": True},
                      "epochs": {"low": 1, "high": 8}}
ACCURACY = {"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}}


def neggrad(trials: int = 4, **block: Any) -> dict[str, Any]:
    """A NegGrad entry tuned ``trials`` times over :data:`NEGGRAD_SPACE` (``block`` adds to or
    replaces the tune block's keys)."""
    return {"class": "NegGrad", "tune": {"trials": trials, "space": NEGGRAD_SPACE, **block}}


def config(unlearners: list[dict], *, cache_dir: Path | None = None, forget: str = "random",
           measures: list[dict] | None = None, seed: int = 0) -> dict[str, Any]:
    """A digits experiment with ``unlearners`` (cache in ``cache_dir``, or none)."""
    c = digits_config(forget=forget, unlearners=unlearners, measures=measures or [ACCURACY],
                      seed=seed, epochs=6, model={"class": "MLP", "parameters": {"hidden": [32]}})
    c["globals"]["threads"] = 1
    if cache_dir is None:
        c["globals"]["cache"] = False
    else:
        c["globals"]["cache_dir"] = str(cache_dir)
    return c


def run_config(c: dict[str, Any], output: Path, **kwargs: Any) -> dict[str, Any]:
    """Runs ``c`` into ``output`` and returns its results document."""
    return load(run(prepare(c), output=output, **kwargs))


def load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def records(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The records of a results document by name."""
    return {r["name"]: r for r in doc["records"]}


def write_config(path: Path, c: dict[str, Any]) -> Path:
    path.write_text(json.dumps(c, indent=2), encoding="utf-8")
    return path
