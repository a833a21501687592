"""GoldModel: retraining from scratch on the retain set, the exact unlearner and the reference."""

from erasure.plan import prepare
from erasure.unlearners import GoldModel
from tests.helpers import accuracy, digits_config
from tests.unlearners import fixtures as fx


def test_gold_model_never_learns_a_removed_class():
    session = fx.session("class", [])
    record, model = fx.unlearn(session, 0)  # the GoldModel appended by fx.session
    m = record["metrics"]

    # REFERENCES: "for a removed class the retrained model's forget accuracy is 0"
    assert m["accuracy.forget.unlearned"] == 0.0
    assert m["accuracy.retain.unlearned"] >= 0.97  # measured 0.998
    assert m["accuracy.forget.original"] == 1.0
    # it cannot classify the test images of that class either
    assert m["accuracy.test.unlearned"] <= m["accuracy.test.original"] - 0.05  # 0.877 vs 0.981


def test_gold_model_on_random_forget_set_scores_like_unseen_data():
    session = fx.session("random", [])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]

    # REFERENCES: for a random forget set the target is the test accuracy, not 0
    assert abs(m["accuracy.forget.unlearned"] - m["accuracy.test.unlearned"]) <= 0.05  # .972/.975
    assert m["accuracy.forget.unlearned"] >= 0.9
    assert m["accuracy.retain.unlearned"] >= 0.97


def test_gold_model_is_a_copy_of_the_shared_retrained_model_not_the_original():
    session = fx.session("class", [])
    _, model = fx.unlearn(session, 0)

    gold = session.golds["retain"]
    assert model is not gold
    assert fx.same_weights(model, gold)
    assert not fx.same_weights(model, session.original)
    # a fresh initialisation, not the original's weights moved a little
    assert accuracy(model, session.data, "forget") == 0.0
    assert accuracy(session.original, session.data, "forget") == 1.0


def test_shared_gold_model_is_not_modified_by_the_records_that_use_it():
    # a cascade that damages its copy of the gold model (gradient ascent with a large rate)
    damaging = {"class": "Cascade", "parameters": {"unlearners": [
        {"class": "GoldModel"},
        {"class": "NegGrad", "parameters": {"epochs": 2, "optimizer": {
            "class": "SGD", "parameters": {"lr": 0.05, "momentum": 0.9}}}}]}}
    session = fx.session("class", [damaging])
    before = fx.weights(session.golds["retain"])

    first, _ = fx.unlearn(session, 1)      # GoldModel
    _, damaged = fx.unlearn(session, 0)    # changes its copy of the gold model
    second, _ = fx.unlearn(session, 1)     # GoldModel again

    after = session.golds["retain"].state_dict()
    assert all(before[k].equal(after[k]) for k in before)
    assert first["metrics"] == second["metrics"]
    assert first["metrics"]["accuracy.forget.unlearned"] == 0.0
    # the cascade did change its copy (which started as the gold model)
    assert not fx.same_weights(damaged, session.golds["retain"])


def test_gold_model_asks_for_the_retain_partition_it_is_given():
    assert GoldModel().gold_partitions() == ["retain"]
    assert GoldModel(ref_data_retain="train").gold_partitions() == ["train"]
    plan = prepare(digits_config("class", [{"class": "Identity"}, {"class": "GoldModel"}]))
    assert plan.gold_partitions == ["retain"]
    assert prepare(digits_config("class", [{"class": "Identity"}])).gold_partitions == []
