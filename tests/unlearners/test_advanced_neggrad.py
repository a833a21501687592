"""NegGrad+ (Kurmanji et al. 2023): minimise β·L(D_r) − (1−β)·L(D_f)."""

from tests.unlearners import fixtures as fx


def test_neggrad_plus_forgets_a_class_and_keeps_retain_accuracy():
    beta_one = {"class": "AdvancedNegGrad", "parameters": {"beta": 1.0}}
    session = fx.session("class", [{"class": "AdvancedNegGrad"}, beta_one])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]

    assert m["accuracy.forget.original"] == 1.0
    assert m["accuracy.forget.unlearned"] <= 0.10  # measured 0.0 (gold: 0.0)
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.05  # .987 vs .998

    # beta = 1 drops the forget term: it is fine-tuning on D_r, and the class is remembered
    record, _ = fx.unlearn(session, 1)
    m = record["metrics"]
    assert m["accuracy.forget.unlearned"] >= 0.95  # measured 0.986
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.01  # .998


def test_beta_outside_the_unit_interval_is_rejected_before_any_work():
    fx.assert_rejected({"class": "AdvancedNegGrad", "parameters": {"beta": 1.5}},
                       "beta must lie in")


def test_neggrad_plus_with_a_diverging_loss_raises():
    fx.assert_diverges({"class": "AdvancedNegGrad", "parameters": {
        "epochs": 1, "optimizer": {"class": "SGD", "parameters": {"lr": 1e8}}}},
        "loss became .* in epoch 1")
