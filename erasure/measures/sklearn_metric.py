"""Any scikit-learn classification metric, by name, per partition and target."""
from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
from functools import partial
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from erasure.config import PartitionNames, suggest

from .base import Measure, Targets, as_list

#: scikit-learn's classification metrics this measure can compute (those the installed version
#: has): those comparing labels with predicted labels, and those comparing labels with predicted
#: probabilities (``y_proba`` / ``y_score``), which get the softmax of the logits.
CLASSIFICATION_METRICS = (
    "accuracy_score", "balanced_accuracy_score", "brier_score_loss", "cohen_kappa_score",
    "d2_brier_score", "d2_log_loss_score", "f1_score", "fbeta_score", "hamming_loss",
    "jaccard_score", "log_loss", "matthews_corrcoef", "precision_score", "recall_score",
    "roc_auc_score", "top_k_accuracy_score", "zero_one_loss",
)

_SCORE_INPUTS = ("y_proba", "y_prob", "y_score")


def sklearn_metrics():
    """``sklearn.metrics``, imported when a config uses this measure: importing scikit-learn
    is slow and memory-hungry (bench/README.md), which no other built-in measure needs."""
    import sklearn.metrics

    return sklearn.metrics


@functools.lru_cache(maxsize=None)
def metric_arguments() -> dict[str, list[str]]:
    """The argument names of each function of :data:`CLASSIFICATION_METRICS` that the installed
    scikit-learn has, read from its source with :mod:`ast`, so that checking a config needs no
    import of scikit-learn: ``sklearn/metrics/__init__.py`` says which module defines each name
    (``from sklearn.metrics._classification import f1_score``), and that module's ``def`` its
    arguments. When the source is not laid out so (another version), scikit-learn is imported.
    """
    try:
        return _arguments_from_source()
    except Exception:  # an unexpected layout: ask scikit-learn itself
        metrics = sklearn_metrics()
        return {name: list(inspect.signature(getattr(metrics, name)).parameters)
                for name in CLASSIFICATION_METRICS if hasattr(metrics, name)}


def _arguments_from_source() -> dict[str, list[str]]:
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("scikit-learn is not installed")
    package = Path(spec.submodule_search_locations[0])
    where: dict[str, str] = {}  # metric name -> module defining it
    for node in ast.parse((package / "metrics" / "__init__.py").read_text("utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if alias.name in CLASSIFICATION_METRICS and alias.asname is None:
                    where[alias.name] = node.module
    found: dict[str, list[str]] = {}
    for module in set(where.values()):
        if not module.startswith("sklearn."):
            raise ImportError(f"unexpected module {module}")
        source = package.joinpath(*module.split(".")[1:]).with_suffix(".py")
        for node in ast.parse(source.read_text("utf-8")).body:
            if isinstance(node, ast.FunctionDef) and where.get(node.name) == module:
                args = node.args
                if args.vararg or args.kwarg:
                    raise ValueError(f"{node.name} takes *args or **kwargs")
                found[node.name] = [a.arg for a in (*args.posonlyargs, *args.args,
                                                    *args.kwonlyargs)]
    if set(found) != set(where) or "accuracy_score" not in found:
        raise ValueError("some metrics were not found in the source")
    return found


def _second_argument(function: Callable) -> str:
    return list(inspect.signature(function).parameters)[1]


class SklearnMetric(Measure):
    """A scikit-learn classification metric, ``sklearn.metrics.<metric>(y_true, y, **kwargs)``,
    on each partition for each target: ``y`` is the predicted labels (argmax of the logits) for
    label metrics (``f1_score``, ``matthews_corrcoef``…) and the predicted probabilities (softmax)
    for probability metrics (``log_loss``, ``roc_auc_score``, ``top_k_accuracy_score``…), which
    also get ``labels=[0, …, classes − 1]`` unless ``kwargs`` sets them (a partition need not hold
    every class); with two classes they get the positive class's probability, as scikit-learn
    expects. Definitions: the scikit-learn documentation (Pedregosa et al., "Scikit-learn: Machine
    Learning in Python", JMLR 2011).

    Example: macro-F1 on the test set is ``{"class": "SklearnMetric", "parameters": {"metric":
    "f1_score", "kwargs": {"average": "macro"}, "partition": "test"}}``.

    Args:
        metric: the function's name in ``sklearn.metrics`` (see :data:`CLASSIFICATION_METRICS`).
        kwargs: its keyword arguments (checked against its signature before any work).
        key: the name that starts the keys (default: ``metric``) — set it when two instances
            compute the same metric with different arguments.
        partition: partition name(s).
        target: ``original``, ``unlearned`` or both.

    Keys: ``<key>.<partition>.<target>``. The ideal value is the metric's own (and, for the
    forget set, the gold model's).
    """

    name = "sklearn"  # keys start with the metric's name (or ``key``)
    metric: str = "balanced_accuracy_score"
    kwargs: Optional[dict] = None
    key: Optional[str] = None
    partition: PartitionNames = ("forget", "retain", "test")
    target: Targets = ("original", "unlearned")

    def key_prefixes(self):
        return [self.key or self.metric]

    def __post_init__(self) -> None:
        # read from scikit-learn's source: checking a config imports no scikit-learn
        arguments = metric_arguments()
        available = [name for name in CLASSIFICATION_METRICS if name in arguments]
        if self.metric not in available:
            raise ValueError(f"unknown scikit-learn classification metric '{self.metric}'. "
                             + suggest(self.metric, available, "metrics"))
        accepted = arguments[self.metric][2:]
        for name in self.kwargs or {}:
            if name not in accepted:
                raise ValueError(f"sklearn.metrics.{self.metric} takes no argument '{name}'. "
                                 + suggest(name, accepted, "arguments"))
        if self.key is not None and (not self.key or "." in self.key):
            raise ValueError(f"key must be a non-empty name without '.', got {self.key!r}")

    @property
    def function(self) -> Callable:
        return getattr(sklearn_metrics(), self.metric)

    def measure(self, ctx):
        kwargs = dict(self.kwargs or {})
        scores = _second_argument(self.function) in _SCORE_INPUTS
        if scores and "labels" in inspect.signature(self.function).parameters:
            kwargs.setdefault("labels", list(range(ctx.data.num_classes)))
        def compute(target: str, partition: str) -> float:
            o = ctx.output(target, partition)
            if scores:
                y = o.logits.double().softmax(1).cpu().numpy()
                y = y[:, 1] if y.shape[1] == 2 else y
            else:
                y = o.predictions.cpu().numpy()
            value = self.function(o.labels.cpu().numpy(), y, **kwargs)
            if np.ndim(value) != 0:
                raise ValueError(f"sklearn.metrics.{self.metric} returned {np.shape(value)} "
                                 "values, not one number (set 'average' in kwargs)")
            return float(value)

        # the original's values are the same in every record: computed once per experiment
        return {f"{self.key or self.metric}.{partition}.{target}":
                ctx.memo(partition, partial(compute, target, partition), model=target)
                for target in as_list(self.target) for partition in as_list(self.partition)}
