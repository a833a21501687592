"""The membership measures' shared base: one declaration of partition/reference/target, one draw
of members and non-members, one emptiness check; the abstract base is never offered by name."""
from dataclasses import replace

import pytest
import torch

from erasure.config import ConfigError, resolve
from erasure.config.registry import names_for
from erasure.measures import AvgGap, LiRA, LossAttack, Measure, MembershipMeasure, MIAEfficacy, UMIA
from erasure.measures.membership import draw
from erasure.measures.mia_efficacy import SvcAttackMeasure
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import Logits
from tests.measures.test_loss_attack import loss_data, normal
from tests.unlearners import fixtures as fx

MEMBERSHIP = [LossAttack, UMIA, LiRA, MIAEfficacy, AvgGap]


def test_the_abstract_bases_are_never_offered():
    offered = names_for(Measure)
    assert "MembershipMeasure" not in offered and "SvcAttackMeasure" not in offered
    assert {cls.__name__ for cls in MEMBERSHIP} <= set(offered)
    for base in (MembershipMeasure, SvcAttackMeasure):
        with pytest.raises(ConfigError) as e:
            resolve(base.__name__, Measure, "evaluator.parameters.measures[0].class")
        (problem,) = e.value.problems
        assert problem.message.startswith(f"'{base.__name__}' is an abstract base")
        assert "MIAEfficacy" in problem.hint  # its subclasses are offered instead
        assert "MembershipMeasure" not in problem.hint and "SvcAttackMeasure" not in problem.hint


@pytest.mark.parametrize("cls", MEMBERSHIP)
def test_every_membership_measure_shares_the_base_fields(cls):
    assert issubclass(cls, MembershipMeasure)
    measure = cls()
    assert (measure.partition, measure.reference, measure.target) == \
        ("forget", "test", ("original", "unlearned"))
    for base in cls.__mro__[:cls.__mro__.index(MembershipMeasure)]:  # declared once, in the base
        assert not {"partition", "reference", "target"} & set(vars(base).get("__annotations__", {}))


@pytest.mark.parametrize("cls", MEMBERSHIP)
@pytest.mark.parametrize("field", ["partition", "reference"])
def test_the_base_fields_are_checked_as_partitions(cls, field):
    config = digits_config("random", measures=[{"class": cls.__name__,
                                                "parameters": {field: "tset"}}])
    with pytest.raises(ConfigError, match=f"parameters.{field}: unknown partition 'tset'"):
        prepare(config)


@pytest.mark.parametrize("measure, message", [
    (LossAttack(), "the loss attack needs samples in 'forget' and 'test', got 0 and 2"),
    (LiRA(), "LiRA needs samples in 'forget' and 'test', got 0 and 2"),
    (UMIA(), "U-MIA needs at least 10 samples in 'forget' and 'test', got 0 and 2"),
])
def test_an_empty_partition_is_one_check_named_after_the_attack(measure, message):
    ctx = fx.measure_context(loss_data([], [1.0, 2.0]), {"unlearned": Logits(), "original": Logits()})
    # LiRA: past its not-applicable check, to the emptiness check
    ctx = replace(ctx, predictor=object())
    with pytest.raises(ValueError, match=message):
        measure.measure(ctx)


def test_a_draw_is_balanced_members_first_and_seeded():
    data = loss_data(normal(7, 1), normal(20, 2))
    ctx = fx.measure_context(data, {"u": Logits()}, seed=4)
    sample = draw(ctx, "forget", "test", "an attack")
    assert sorted(sample.members.tolist()) == list(range(7)) and len(sample.others) == 7
    assert sample.labels.tolist() == [1.0] * 7 + [0.0] * 7
    losses = ctx.output("u", "forget").losses, ctx.output("u", "test").losses
    gathered = sample.losses(lambda p: ctx.output("u", p))
    assert torch.equal(gathered, torch.cat([losses[0][sample.members], losses[1][sample.others]]))
    again = draw(fx.measure_context(data, {"u": Logits()}, seed=4), "forget", "test", "an attack")
    assert torch.equal(again.others, sample.others)
    with pytest.raises(ValueError, match="an attack needs at least 8 samples"):
        draw(ctx, "forget", "test", "an attack", at_least=8)


class MeanLossGap(MembershipMeasure):
    """A user's membership measure: only its name and its method."""

    name = "loss_gap"

    def measure(self, ctx):
        sample = self.draw(ctx)

        def gap(target):
            losses = sample.losses(lambda p: ctx.output(target, p)).double()
            n = len(sample.members)
            return (losses[n:].mean() - losses[:n].mean()).item()

        return self.report(ctx, "gap", gap)


def test_a_subclass_writes_only_its_method():
    data = loss_data(normal(30, 1, mean=2.0), normal(30, 2))
    ctx = fx.measure_context(data, {"unlearned": Logits(), "original": Logits()})
    values = MeanLossGap().measure(ctx)
    assert set(values) == {"loss_gap.forget.original", "loss_gap.forget.unlearned"}
    assert values["loss_gap.forget.unlearned"] > 0  # members (margin 2) have the lower losses
    assert "MeanLossGap" not in names_for(Measure)  # a user's class is named by dotted path
