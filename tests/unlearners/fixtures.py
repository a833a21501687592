"""Fixture components for the unlearner and measure tests, importable by dotted path
(``tests.unlearners.fixtures.Sleepy``), and helpers that run an unlearner through a session."""
from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from erasure.config import ConfigError
from erasure.measures import Measure
from erasure.models import Diverged
from erasure.plan import prepare
from erasure.seeding import generator, seeded
from erasure.unlearners import Unlearner, UnlearningContext
from tests.helpers import digits_config, trained_session

HERE = __name__  # "tests.unlearners.fixtures"

#: Accuracy on the three partitions plus :class:`Capture`, the default measures of these tests.
MEASURES = [{"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}},
            {"class": f"{HERE}.Capture"}]
GOLD = {"class": "GoldModel"}


class Sleepy(Unlearner):
    """Sleeps, then returns the original unchanged (a slow unlearner for the runtime measure)."""

    seconds: float = 0.2

    def unlearn(self, model, ctx):
        time.sleep(self.seconds)
        return model


#: The models of the last records measured by :class:`Capture`, newest last.
CAPTURED: list[dict[str, torch.nn.Module]] = []


class Capture(Measure):
    """Keeps the models of the record it measures (in :data:`CAPTURED`) and reports nothing."""

    name = "capture"

    def measure(self, ctx):
        CAPTURED.append(dict(ctx.models))
        return {}


class Boom(Measure):
    """A measure that always fails."""

    name = "boom"

    def measure(self, ctx):
        raise RuntimeError("boom: this measure always fails")


def session(forget: str, unlearners: list[dict], measures: list[dict] | None = None):
    """A trained digits session whose unlearners are ``unlearners`` followed by GoldModel.

    Every session here trains the gold model too, so that all of these tests share two cached
    trainings per scenario (original + gold) instead of one per combination.
    """
    return trained_session(digits_config(forget, list(unlearners) + [GOLD],
                                         MEASURES if measures is None else measures))


def unlearn(sess, index: int) -> tuple[dict[str, Any], torch.nn.Module]:
    """Runs ``sess.unlearn(index)`` (the real pipeline) and returns the record and the unlearned
    model its measures saw (needs :class:`Capture` among the measures)."""
    CAPTURED.clear()
    record = sess.unlearn(index)
    assert record["status"] == "finished", record["error"]
    assert len(CAPTURED) == 1
    return record, CAPTURED[0]["unlearned"]


def context(sess, seed: int) -> UnlearningContext:
    """An unlearning context for ``sess`` with its own stream (as the session builds one)."""
    return UnlearningContext(data=sess.data, predictor=sess.plan.predictor,
                             generator=generator(seed), seed=seed,
                             gold=lambda partition: copy.deepcopy(sess.golds[partition]))


def build_unlearner(node: dict) -> Unlearner:
    """One unlearner built from its config node (validated; nothing loaded or trained)."""
    return prepare(digits_config("random", [node])).unlearners[0]


def run_by_hand(sess, unlearner: Unlearner, seed: int) -> torch.nn.Module:
    """Applies ``unlearner`` to a fresh copy of the original, outside the session."""
    model = copy.deepcopy(sess.original).requires_grad_(True)
    with seeded(seed):
        return unlearner.unlearn(model, context(sess, seed)).eval()


def assert_rejected(node: dict, message: str) -> None:
    """``node``, as the only unlearner of a config, fails ``prepare`` (before any work) with a
    :class:`ConfigError` that names ``unlearners[0]`` and matches ``message``."""
    with pytest.raises(ConfigError) as caught:
        prepare(digits_config("class", [node]))
    assert "unlearners[0]" in str(caught.value)
    assert caught.match(message)


def assert_diverges(node: dict, message: str) -> None:
    """``node``, run by hand (seed 1) on the class-forgetting session, raises :class:`Diverged`
    matching ``message``."""
    with pytest.raises(Diverged, match=message):
        run_by_hand(session("class", []), build_unlearner(node), seed=1)


def mean_loss(model: torch.nn.Module, data, partition: str) -> float:
    x, y = data.tensors(partition)
    model.eval()
    with torch.inference_mode():
        return F.cross_entropy(model(x), y).item()


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    wa, wb = a.state_dict(), b.state_dict()
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


class CountOutputs(Measure):
    """Reports how many partitions each target's output store has evaluated so far."""

    name = "outputs"

    def measure(self, ctx):
        return {f"outputs.computed.{target}": float(store.computed)
                for target, store in ctx.outputs.items()}


def tiny_data(x: torch.Tensor, y: torch.Tensor, partitions: dict[str, list[int]],
              eval_batch_size: int = 256, num_classes: int | None = None):
    """A :class:`erasure.data.Data` built by hand from samples and explicit partitions."""
    from erasure.data import Data, Samples

    names = [str(c) for c in range(num_classes)] if num_classes else None
    parts = {name: torch.tensor(index, dtype=torch.long) for name, index in partitions.items()}
    return Data(Samples(x=x, y=y, class_names=names), parts, torch.device("cpu"), eval_batch_size)


def measure_context(data, models: dict[str, torch.nn.Module], seed: int = 0, timings=None):
    """A :class:`erasure.measures.MeasureContext` with one output store per model."""
    from erasure.measures import MeasureContext, OutputStore

    return MeasureContext(data=data, models=models,
                          outputs={k: OutputStore(m, data) for k, m in models.items()},
                          timings=dict(timings or {}), generator=generator(seed), seed=seed,
                          experiment_seed=seed)


def build(node: dict, base: type):
    """One component built and validated from its config node, as ``prepare`` builds it."""
    from erasure.config import Builder, Slot

    builder = Builder()
    built, _ = builder.component(node, Slot(base, lazy=False), "component")
    builder.raise_if_problems()
    return built
