"""Finetuning: continue training on D_r only; forgetting comes from catastrophic interference."""
from tests.unlearners import fixtures as fx


def test_finetuning_on_a_removed_class_lowers_forget_accuracy_and_keeps_retain():
    session = fx.session("class", [{"class": "Finetuning"}])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]

    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.02  # .998 vs .998
    # interference alone: the class is partly forgotten (measured 0.918 vs 1.0), far from gold's 0
    assert m["accuracy.forget.original"] == 1.0
    assert m["accuracy.forget.unlearned"] <= 0.97
    assert m["accuracy.forget.unlearned"] >= 0.5
    assert m["accuracy.test.unlearned"] >= m["accuracy.test.original"] - 0.05  # .964 vs .981


def test_finetuning_on_a_random_forget_set_keeps_utility():
    session = fx.session("random", [{"class": "Finetuning"}])
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]

    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.02  # .998 vs .998
    assert m["accuracy.test.unlearned"] >= m["accuracy.test.original"] - 0.02  # .983 vs .981
    # it did train: the weights moved, the retain loss did not grow
    assert not fx.same_weights(model, session.original)
    assert fx.mean_loss(model, session.data, "retain") <= fx.mean_loss(session.original, session.data, "retain")
