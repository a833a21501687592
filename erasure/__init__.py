"""erasure: reproducible machine-unlearning experiments from one JSONC config.

The public names, each importable from ``erasure`` (``from erasure import load_config, prepare,
run``):

- running an experiment from Python: :func:`load_config` reads a JSONC config, :func:`prepare`
  validates and builds it into a :class:`Plan` (raising :class:`ConfigError` with every problem),
  :func:`run` runs the plan and writes the results (it raises :class:`Interrupted` on SIGINT or
  SIGTERM, :class:`OutputFailed` when the results cannot be written); a :class:`Session` runs one
  seed of a plan stage by stage, as tests do;
- writing a component: the base classes :class:`DataSource` (whose ``load()`` returns
  :class:`Samples` or raises :class:`DataLoadError`), :class:`Splitter`, :class:`Unlearner`,
  :class:`TrainingUnlearner` and :class:`Measure`, the field types :data:`PartitionName` (a
  partition, checked against the config's) and :data:`Targets` (which models a measure reads), and
  :class:`Range`, a bound on a field's value (``Annotated[float, Range(ge=0)]``); for an
  unlearner that trains, :func:`fit` (the one training loop), :func:`spec` (a component as a
  default value) and :data:`OptimizerFactory` (an optimizer field's type);
- declaring what tuning may search: the distributions of a component's ``search_space``,
  :func:`LogUniform`, :func:`Uniform`, :class:`IntRange`, :class:`FloatRange` and
  :class:`Choice` (``search_space = {"epochs": IntRange(1, 10)}``; :mod:`erasure.tuning`).

Each is imported from its module on first use, so that ``import erasure`` (all the command line
needs for ``--version`` and ``--help``) does not import torch.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: each public name → the module it lives in
_HOMES = {
    "load_config": "erasure.config",
    "ConfigError": "erasure.config",
    "PartitionName": "erasure.config",
    "Range": "erasure.config",
    "spec": "erasure.config",
    "OptimizerFactory": "erasure.models",
    "fit": "erasure.models",
    "prepare": "erasure.plan",
    "Plan": "erasure.plan",
    "Session": "erasure.experiment",
    "run": "erasure.runner",
    "Interrupted": "erasure.runner",
    "OutputFailed": "erasure.runner",
    "DataSource": "erasure.data",
    "Samples": "erasure.data",
    "DataLoadError": "erasure.data.sources",
    "Splitter": "erasure.data",
    "Unlearner": "erasure.unlearners",
    "TrainingUnlearner": "erasure.unlearners",
    "Measure": "erasure.measures",
    "Targets": "erasure.measures",
    "LogUniform": "erasure.config.space",
    "Uniform": "erasure.config.space",
    "IntRange": "erasure.config.space",
    "FloatRange": "erasure.config.space",
    "Choice": "erasure.config.space",
}

__all__ = ["Choice", "ConfigError", "DataLoadError", "DataSource", "FloatRange", "IntRange",
           "Interrupted", "LogUniform", "Measure", "OptimizerFactory", "OutputFailed",
           "PartitionName", "Plan", "Range", "Samples", "Session", "Splitter", "Targets",
           "TrainingUnlearner", "Uniform", "Unlearner", "__version__", "fit", "load_config",
           "prepare", "run", "spec"]

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports them
    from erasure.config import ConfigError, PartitionName, Range, load_config, spec
    from erasure.config.space import Choice, FloatRange, IntRange, LogUniform, Uniform
    from erasure.data import DataSource, Samples, Splitter
    from erasure.data.sources import DataLoadError
    from erasure.experiment import Session
    from erasure.measures import Measure, Targets
    from erasure.models import OptimizerFactory, fit
    from erasure.plan import Plan, prepare
    from erasure.runner import Interrupted, OutputFailed, run
    from erasure.unlearners import TrainingUnlearner, Unlearner


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'erasure' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
