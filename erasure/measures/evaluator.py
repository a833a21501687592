"""The evaluator: the list of measures applied to every unlearned model."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

from erasure import progress
from erasure.config import Component
from erasure.logs import log_failure, user_errors
from erasure.seeding import derive_seed, generator

from .base import Measure, MeasureContext, NotApplicable

log = logging.getLogger(__name__)


class Evaluator(Component):
    """Applies each measure to one unlearner's result.

    A measure that raises is recorded as failed with its reason; the others still report.

    Args:
        measures: the measures, each giving keys ``<measure>.<partition>.<target>``.
    """

    kind_name = "evaluator"

    measures: list[Measure] = ()

    def evaluate(self, ctx: MeasureContext, record: str
                 ) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
        """Applies every measure to ``ctx``, each on its own copy with its own seeded stream (the
        same in every record, derived from ``ctx.experiment_seed`` and the measure's config, so
        that "original" numbers agree across records and a measure's numbers never depend on
        the others).

        Returns ``(metrics, failures, not_applicable)``; the last two map
        ``<MeasureClass>[<position>]`` to the error or to the reason it does not apply."""
        metrics: dict[str, float] = {}
        failures: dict[str, str] = {}
        skipped: dict[str, str] = {}
        writer: dict[str, str] = {}  # which measure wrote each key
        for position, measure in enumerate(progress.bar(self.measures, desc=f"{record}: measures")):
            seed = derive_seed(ctx.experiment_seed, "measure",
                               json.dumps(measure.config, sort_keys=True))
            own = replace(ctx, seed=seed, generator=generator(seed))
            key = f"{type(measure).__name__}[{position}]"
            try:
                values = numbers(measure.measure(own))
                taken = sorted(k for k in values if k in writer)
                if taken:  # never overwrite another measure's number silently
                    raise ValueError(f"{taken[0]} is already written by {writer[taken[0]]}; give one "
                                   "of them other parameters (partition, target, …)")
                metrics.update(values)
                writer.update(dict.fromkeys(values, key))
            except NotApplicable as e:
                skipped[key] = str(e)
            except user_errors() as e:  # recorded, never fatal: the other measures still report
                failures[key] = log_failure(log, f"measure {key} for {record}", e)
        return metrics, failures, skipped


def numbers(values: dict) -> dict[str, float | None]:
    """A measure's output as the results file holds it: numbers (None allowed); a scalar tensor
    or numpy number becomes a float.

    Raises:
        TypeError: a key that is not a string or a value that is not a number — the measure is
            then recorded as failed rather than breaking the results file.
    """
    if not isinstance(values, dict):
        raise TypeError(f"measure() returned {type(values).__name__}, not a dict")
    out: dict[str, float | None] = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise TypeError(f"metric name {key!r} is not a string")
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            out[key] = value
        elif (isinstance(value, (str, bytes, bool)) or not hasattr(value, "__float__")
              or getattr(value, "ndim", 0) != 0):
            raise TypeError(f"metric '{key}' is {type(value).__name__}, not a number")
        else:
            out[key] = float(value)
    return out
