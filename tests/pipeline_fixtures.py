"""Misbehaving components for the pipeline tests, reachable by dotted path from a config
(``"tests.pipeline_fixtures.Raising"``).

Each is a real subclass of a framework base class, configured and built like a user's own class.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from erasure.data.splits import Splitter
from erasure.measures.base import Measure
from erasure.unlearners import Unlearner

#: What :class:`PeekResults` found on disk each time it ran (the test inspects it).
SEEN: list[Any] = []

FIXTURES = "tests.pipeline_fixtures"


def component(name: str, **parameters: Any) -> dict[str, Any]:
    """A config node for one of this module's classes."""
    node: dict[str, Any] = {"class": f"{FIXTURES}.{name}"}
    if parameters:
        node["parameters"] = parameters
    return node


class Raising(Unlearner):
    """Raises in the middle of unlearning (after changing its model a little)."""

    message: str = "deliberate failure"

    def unlearn(self, model, ctx):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        raise RuntimeError(self.message)


class ReturnsStateDict(Unlearner):
    """A common mistake: returns the weights (a dict), not the model."""

    def unlearn(self, model, ctx):
        return model.state_dict()


class ZeroWeights(Unlearner):
    """Destroys the model it is given in place: every parameter and buffer becomes zero."""

    def unlearn(self, model, ctx):
        with torch.no_grad():
            for t in [*model.parameters(), *model.buffers()]:
                t.zero_()
        return model


class TamperGold(Unlearner):
    """Asks for the shared gold model, zeroes it in place and returns it."""

    def unlearn(self, model, ctx):
        gold = ctx.gold(self.ref_data_retain)
        with torch.no_grad():
            for p in gold.parameters():
                p.zero_()
        return gold

    def gold_partitions(self):
        return [self.ref_data_retain]


class WritesData(Unlearner):
    """Writes into the shared samples (``ctx.data.x``), which the context tells it never to do,
    then trains its own model a step on the damaged data."""

    def unlearn(self, model, ctx):
        ctx.data.x.mul_(-1.0)
        x, y = ctx.data.tensors(self.ref_data_retain)
        loss = ctx.loss_fn()(model(x), y)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p.sub_(10.0 * p.grad)
        return model


class PeekResults(Unlearner):
    """Reads the results file while the experiment runs and keeps what it saw in :data:`SEEN`."""

    path: str

    def unlearn(self, model, ctx):
        file = Path(self.path)
        SEEN.append(json.loads(file.read_text(encoding="utf-8")) if file.exists() else None)
        return model


class RaisingMeasure(Measure):
    """A measure that always raises."""

    name = "raising"

    def measure(self, ctx):
        raise ValueError("measure exploded")


class NanMeasure(Measure):
    """Reports numbers JSON cannot hold: NaN and infinities."""

    name = "nan"

    def measure(self, ctx):
        return {"nan.forget.unlearned": float("nan"), "nan.forget.original": float("inf"),
                "nan.test.unlearned": 0.25}


class OddValuesMeasure(Measure):
    """Reports values that are not Python floats: a forgotten ``.item()``, a numpy number, a list
    and a string."""

    name = "odd"

    def measure(self, ctx):
        return {"odd.forget.tensor": torch.tensor(0.5), "odd.forget.numpy": np.float32(0.25),
                "odd.forget.list": [1.0, 2.0], "odd.forget.text": "0.75"}


class EmptySplit(Splitter):
    """Writes the whole partition read into one part and nothing into the other (something the
    built-in splitters refuse to do)."""

    empty: Literal["first", "second"] = "first"

    def split(self, index, samples, generator):
        nothing = index[:0]
        return [nothing, index] if self.empty == "first" else [index, nothing]


class Exits(Unlearner):
    """Ends the process the way careless code does: ``sys.exit(3)``, or raises
    ``KeyboardInterrupt`` itself (no signal involved)."""

    how: Literal["exit", "keyboard"] = "exit"

    def unlearn(self, model, ctx):
        if self.how == "exit":
            raise SystemExit(3)  # what sys.exit(3) does
        raise KeyboardInterrupt


class ExitingMeasure(Measure):
    """A measure that calls ``sys.exit(4)``."""

    name = "exiting"

    def measure(self, ctx):
        raise SystemExit(4)


class NanWeights(Unlearner):
    """Returns its model with NaN in the first layer's weights (a diverged update)."""

    def unlearn(self, model, ctx):
        with torch.no_grad():
            next(model.parameters())[0, 0] = float("nan")
        return model


class LongErrorMeasure(Measure):
    """Fails the way scikit-learn does: a message of many lines (here 40)."""

    name = "long_error"

    def measure(self, ctx):
        raise ValueError("All the 5 fits failed.\n" + "\n".join(f"  line {i} of the details"
                                                                for i in range(39)))
