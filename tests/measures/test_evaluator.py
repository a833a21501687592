"""Evaluator: every measure applied; a failing one is recorded with its reason, the rest report."""
from dataclasses import FrozenInstanceError

import pytest
import torch
from torch import nn

from erasure.measures import Accuracy, Evaluator, Measure
from erasure.seeding import generator
from tests.unlearners import fixtures as fx

BOOM = {"class": "tests.unlearners.fixtures.Boom"}


def context(seed: int = 0):
    # forget: 3 of 4 predicted right; retain and test: 20 samples each, half right
    predicted = torch.tensor([0, 1, 1, 0] + [0, 1] * 20)
    y = torch.tensor([0, 1, 0, 0] + [0, 1, 1, 0] * 10)
    x = torch.nn.functional.one_hot(predicted, 2).float() * torch.linspace(1, 3, len(y))[:, None]
    data = fx.tiny_data(x, y, {"forget": [0, 1, 2, 3], "retain": list(range(4, 24)),
                               "test": list(range(24, 44))})
    return fx.measure_context(data, {"original": nn.Identity(), "unlearned": nn.Identity()},
                              seed=seed)


#: ``(context, draw)`` for each :class:`Peek` measured, in order.
SEEN: list = []


class Peek(Measure):
    """Keeps the context it is given and three draws from its stream; reports nothing."""

    name = "peek"
    tag: str = ""

    def measure(self, ctx):
        SEEN.append((ctx, torch.rand(3, generator=ctx.generator)))
        return {}


class Meddle(Measure):
    """Tries to change the context it is given."""

    name = "meddle"

    def measure(self, ctx):
        ctx.seed = 5
        return {}


def peek(tag: str = "") -> dict:
    return {"class": "tests.measures.test_evaluator.Peek", "parameters": {"tag": tag}}


def test_a_failing_measure_is_recorded_and_the_others_still_report():
    evaluator = fx.build({"class": "Evaluator", "parameters": {"measures": [
        {"class": "Accuracy", "parameters": {"partition": "forget", "target": "unlearned"}},
        BOOM,
        {"class": "PartitionSizes", "parameters": {"partition": "forget"}},
    ]}}, Evaluator)
    metrics, failures, _ = evaluator.evaluate(context(), record="r")

    assert metrics == {"accuracy.forget.unlearned": 0.75, "size.forget": 4.0}
    assert failures == {"Boom[1]": "RuntimeError: boom: this measure always fails"}


def test_a_measures_stream_does_not_depend_on_the_other_measures():
    umia = {"class": "UMIA", "parameters": {"n_splits": 3, "partition": "retain",
                                            "reference": "test"}}
    alone = fx.build({"class": "Evaluator", "parameters": {"measures": [umia, peek()]}}, Evaluator)
    among = fx.build({"class": "Evaluator", "parameters": {"measures": [
        BOOM, {"class": "Accuracy"}, umia, peek()]}}, Evaluator)
    SEEN.clear()
    a, _, _ = alone.evaluate(context(seed=3), record="r")
    b, failures, _ = among.evaluate(context(seed=3), record="r")
    alone.evaluate(context(seed=4), record="r")

    assert set(failures) == {"Boom[0]"}
    assert a["umia.retain.unlearned"] == b["umia.retain.unlearned"]
    # Peek drew from the same stream in both, one that follows the experiment's seed
    (ctx_alone, draw_alone), (ctx_among, draw_among), (ctx_other, draw_other) = SEEN
    assert ctx_alone.seed == ctx_among.seed != ctx_other.seed
    assert torch.equal(draw_alone, draw_among) and not torch.equal(draw_alone, draw_other)


def test_each_measure_gets_its_own_read_only_copy_of_the_context():
    evaluator = fx.build({"class": "Evaluator", "parameters": {"measures": [
        peek("a"), {"class": "tests.measures.test_evaluator.Meddle"}, peek("b")]}}, Evaluator)
    ctx = context()
    state = ctx.generator.get_state()
    SEEN.clear()
    _, failures, _ = evaluator.evaluate(ctx, record="r")

    # a measure cannot change what it is given, nor what the measures after it see
    assert failures == {"Meddle[1]": "FrozenInstanceError: cannot assign to field 'seed'"}
    (first, first_draw), (second, second_draw) = SEEN
    with pytest.raises(FrozenInstanceError):
        first.generator = torch.Generator()
    assert first.seed != second.seed != 5 and ctx.seed == 0
    # each draw is the first of its own seed's stream: no measure advanced another's, nor the
    # stream of the context the evaluator was given
    for seen, draw in SEEN:
        assert torch.equal(draw, torch.rand(3, generator=generator(seen.seed)))
    assert torch.equal(ctx.generator.get_state(), state)
    # the rest is the record's, shared: the data, the models' outputs, the memos
    assert first.data is second.data is ctx.data and first.outputs is ctx.outputs
    assert first.memos is second.memos is ctx.memos


def test_failing_measure_on_digits_keeps_the_record():
    measures = [{"class": "Accuracy", "parameters": {"partition": ["forget", "test"]}}, BOOM,
                {"class": "PartitionSizes", "parameters": {"partition": "forget"}}]
    session = fx.session("class", [{"class": "Identity"}], measures)
    record = session.unlearn(0)

    assert record["status"] == "finished" and record["error"] is None
    assert record["failed_measures"] == {"Boom[1]": "RuntimeError: boom: this measure always fails"}
    assert record["metrics"]["accuracy.forget.unlearned"] == 1.0
    assert record["metrics"]["size.forget"] == 146.0
    assert set(record["metrics"]) == {"accuracy.forget.original", "accuracy.test.original",
                                      "accuracy.forget.unlearned", "accuracy.test.unlearned",
                                      "size.forget"}


def test_a_measure_that_does_not_apply_says_why_and_the_others_report():
    from erasure.measures import NotApplicable

    class NeedsGroups(Measure):
        name = "groups"

        def measure(self, ctx):
            raise NotApplicable("the data has no group attribute")

    evaluator = Evaluator(measures=[NeedsGroups(), Accuracy(partition="test", target="original")])
    for m in evaluator.measures:
        m.config = {"class": type(m).__name__}
    metrics, failures, skipped = evaluator.evaluate(context(), record="r")
    assert skipped == {"NeedsGroups[0]": "the data has no group attribute"}
    assert failures == {}
    assert list(metrics) == ["accuracy.test.original"]


def test_a_measure_writing_a_key_another_measure_wrote_fails_instead_of_overwriting():
    evaluator = fx.build({"class": "Evaluator", "parameters": {"measures": [
        {"class": "Accuracy", "parameters": {"partition": "forget", "target": "unlearned"}},
        {"class": "Accuracy", "parameters": {"partition": ["forget", "test"], "target": "unlearned"}},
    ]}}, Evaluator)
    metrics, failures, _ = evaluator.evaluate(context(), record="r")
    assert metrics == {"accuracy.forget.unlearned": 0.75}
    assert failures == {"Accuracy[1]": "ValueError: accuracy.forget.unlearned is already written "
                                       "by Accuracy[0]; give one of them other parameters "
                                       "(partition, target, …)"}
