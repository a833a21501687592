"""Cascade: several unlearners in sequence on one model, each step with its own seeded stream."""
import pytest

from erasure.config import ConfigError
from erasure.plan import prepare
from erasure.seeding import derive_seed, seeded
from erasure.unlearners import Cascade
from tests.helpers import digits_config
from tests.unlearners import fixtures as fx

NEGGRAD = {"class": "NegGrad"}
FINETUNING = {"class": "Finetuning", "parameters": {"epochs": 3}}
CASCADE = {"class": "Cascade", "parameters": {"unlearners": [NEGGRAD, FINETUNING]}}


def test_cascade_equals_its_steps_applied_by_hand():
    session = fx.session("class", [])
    cascade = fx.build_unlearner(CASCADE)
    neggrad, finetuning = fx.build_unlearner(NEGGRAD), fx.build_unlearner(FINETUNING)

    together = fx.run_by_hand(session, cascade, seed=123)

    first, second = derive_seed(123, "cascade", 0), derive_seed(123, "cascade", 1)
    by_hand = fx.run_by_hand(session, neggrad, seed=first).requires_grad_(True)
    with seeded(second):
        by_hand = finetuning.unlearn(by_hand, fx.context(session, second))

    assert fx.same_weights(together, by_hand)
    assert not fx.same_weights(together, session.original)


def test_cascade_differs_from_each_step_alone_and_keeps_retain_accuracy():
    session = fx.session("class", [CASCADE, NEGGRAD, FINETUNING])
    cascade, neggrad, finetuning = (fx.unlearn(session, i) for i in range(3))
    forget = {name: r[0]["metrics"]["accuracy.forget.unlearned"]
              for name, r in [("cascade", cascade), ("neggrad", neggrad), ("ft", finetuning)]}
    retain = {name: r[0]["metrics"]["accuracy.retain.unlearned"]
              for name, r in [("cascade", cascade), ("neggrad", neggrad), ("ft", finetuning)]}
    original = cascade[0]["metrics"]["accuracy.retain.original"]

    assert not fx.same_weights(cascade[1], neggrad[1])
    assert not fx.same_weights(cascade[1], finetuning[1])
    # measured: forget 0.70 after NegGrad; fine-tuning repairs retain and keeps most forgetting
    assert forget["cascade"] <= 0.85
    assert forget["cascade"] < forget["ft"]
    assert retain["cascade"] >= original - 0.02
    assert retain["cascade"] >= retain["neggrad"]


def test_cascade_passes_on_the_gold_models_its_steps_need():
    gold_first = {"class": "Cascade", "parameters": {"unlearners": [
        {"class": "GoldModel"}, {"class": "Finetuning", "parameters": {"epochs": 2}}]}}
    plan = prepare(digits_config("class", [gold_first]))
    assert plan.unlearners[0].gold_partitions() == ["retain"]
    assert plan.gold_partitions == ["retain"]
    assert prepare(digits_config("class", [CASCADE])).gold_partitions == []

    session = fx.session("class", [gold_first])
    record, model = fx.unlearn(session, 0)
    # the first step gave the retrained model; fine-tuning it on D_r does not bring class 3 back
    assert record["metrics"]["accuracy.forget.unlearned"] == 0.0
    assert record["metrics"]["accuracy.retain.unlearned"] >= 0.97
    assert not fx.same_weights(model, session.golds["retain"])


def test_an_empty_cascade_is_rejected():
    with pytest.raises(ValueError, match="at least one unlearner"):
        Cascade(unlearners=[])
    config = digits_config("class", [{"class": "Cascade", "parameters": {"unlearners": []}}])
    with pytest.raises(ConfigError, match="at least one unlearner") as error:
        prepare(config)
    assert "unlearners[0]" in str(error.value)
