"""Evaluator: every measure applied; a failing one is recorded with its reason, the rest report."""
import torch
from torch import nn

from erasure.measures import Accuracy, Evaluator
from tests.unlearners import fixtures as fx

BOOM = {"class": "tests.unlearners.fixtures.Boom"}


def context():
    # forget: 3 of 4 predicted right; retain and test: 20 samples each, half right
    predicted = torch.tensor([0, 1, 1, 0] + [0, 1] * 20)
    y = torch.tensor([0, 1, 0, 0] + [0, 1, 1, 0] * 10)
    x = torch.nn.functional.one_hot(predicted, 2).float() * torch.linspace(1, 3, len(y))[:, None]
    data = fx.tiny_data(x, y, {"forget": [0, 1, 2, 3], "retain": list(range(4, 24)),
                               "test": list(range(24, 44))})
    return fx.measure_context(data, {"original": nn.Identity(), "unlearned": nn.Identity()})


def test_a_failing_measure_is_recorded_and_the_others_still_report():
    evaluator = fx.build({"class": "Evaluator", "parameters": {"measures": [
        {"class": "Accuracy", "parameters": {"partition": "forget", "target": "unlearned"}},
        BOOM,
        {"class": "PartitionSizes", "parameters": {"partition": "forget"}},
    ]}}, Evaluator)
    metrics, failures, _ = evaluator.evaluate(context(), seed=0, record="r")

    assert metrics == {"accuracy.forget.unlearned": 0.75, "size.forget": 4.0}
    assert failures == {"Boom[1]": "RuntimeError: boom: this measure always fails"}


def test_a_measures_stream_does_not_depend_on_the_other_measures():
    umia = {"class": "UMIA", "parameters": {"n_splits": 3, "partition": "retain",
                                            "reference": "test"}}
    alone = fx.build({"class": "Evaluator", "parameters": {"measures": [umia]}}, Evaluator)
    among = fx.build({"class": "Evaluator", "parameters": {"measures": [
        BOOM, {"class": "Accuracy"}, umia]}}, Evaluator)
    ctx_alone, ctx_among, ctx_other_seed = context(), context(), context()
    a, _, _ = alone.evaluate(ctx_alone, seed=3, record="r")
    b, failures, _ = among.evaluate(ctx_among, seed=3, record="r")
    alone.evaluate(ctx_other_seed, seed=4, record="r")

    assert set(failures) == {"Boom[0]"}
    assert a["umia.retain.unlearned"] == b["umia.retain.unlearned"]
    # U-MIA ran last in both: it drew from the same stream, one that follows the run's seed
    assert ctx_alone.seed == ctx_among.seed != ctx_other_seed.seed


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
    from dataclasses import dataclass

    from erasure.measures import Measure, NotApplicable

    @dataclass(kw_only=True)
    class NeedsGroups(Measure):
        name = "groups"

        def measure(self, ctx):
            raise NotApplicable("the data has no group attribute")

    evaluator = Evaluator(measures=[NeedsGroups(), Accuracy(partition="test", target="original")])
    for m in evaluator.measures:
        m.config = {"class": type(m).__name__}
    metrics, failures, skipped = evaluator.evaluate(context(), seed=0, record="r")
    assert skipped == {"NeedsGroups[0]": "the data has no group attribute"}
    assert failures == {}
    assert list(metrics) == ["accuracy.test.original"]


def test_a_measure_writing_a_key_another_measure_wrote_fails_instead_of_overwriting():
    evaluator = fx.build({"class": "Evaluator", "parameters": {"measures": [
        {"class": "Accuracy", "parameters": {"partition": "forget", "target": "unlearned"}},
        {"class": "Accuracy", "parameters": {"partition": ["forget", "test"], "target": "unlearned"}},
    ]}}, Evaluator)
    metrics, failures, _ = evaluator.evaluate(context(), seed=0, record="r")
    assert metrics == {"accuracy.forget.unlearned": 0.75}
    assert failures == {"Accuracy[1]": "ValueError: accuracy.forget.unlearned is already written "
                                       "by Accuracy[0]; give one of them other parameters "
                                       "(partition, target, …)"}
