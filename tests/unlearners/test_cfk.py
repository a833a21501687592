"""CF-k (Goel et al. 2022): fine-tune only the last k parameterised layers on D_r."""
import copy

import pytest
import torch

import erasure.unlearners.cfk  # noqa: F401  (registers CFk)
from erasure.models.layers import parameterised_layers
from tests.helpers import digits_config, trained_session
from tests.unlearners import fixtures as fx

CNN = {"class": "SmallCNN"}
CNN_EPOCHS = 3  # enough for SmallCNN on digits (retain ≈ 0.99) and fast


def cnn_session():
    return trained_session(digits_config("class", [{"class": "CFk"}], image=True, model=CNN,
                                         epochs=CNN_EPOCHS))


def layer_state(model, names):
    """Every state entry (parameters and buffers) that belongs to one of the layers ``names``."""
    return {k: v for k, v in model.state_dict().items() if k.rsplit(".", 1)[0] in names}


@pytest.mark.parametrize("scenario", ["mlp", "cnn"])
def test_cfk_with_every_layer_is_finetuning_bit_for_bit(scenario):
    session = fx.session("class", []) if scenario == "mlp" else cnn_session()
    k = len(parameterised_layers(session.original))  # 2 for the MLP, 6 for SmallCNN
    sgd = {"class": "SGD", "parameters": {"lr": 0.01, "momentum": 0.9}}
    cfk = fx.build_unlearner({"class": "CFk", "parameters": {
        "last_trainable_layers": k, "epochs": 2, "optimizer": sgd}})
    ft = fx.build_unlearner({"class": "Finetuning", "parameters": {"epochs": 2, "optimizer": sgd}})

    a, b = fx.run_by_hand(session, cfk, seed=7), fx.run_by_hand(session, ft, seed=7)
    assert fx.same_weights(a, b)  # batch-norm running statistics included for the CNN
    assert not fx.same_weights(a, session.original)


def test_cfk_scenario_a_is_partial_finetuning_of_the_last_layer():
    session = fx.session("class", [{"class": "CFk"}, {"class": "Finetuning"}])
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]

    # only the classifier moved; the hidden layer is bit-identical to the original's
    (first, _), (last, _) = parameterised_layers(model)
    assert layer_state(model, {first}).keys()
    for key, value in layer_state(model, {first}).items():
        assert torch.equal(value, session.original.state_dict()[key]), key
    assert not torch.equal(model.state_dict()[f"{last}.weight"],
                           session.original.state_dict()[f"{last}.weight"])
    assert all(p.requires_grad for p in model.parameters())  # flags restored for later steps

    # interference on the head alone: the class is only partly forgotten (measured 0.945 vs
    # original 1.0 and gold 0.0), like full fine-tuning (measured 0.918), utility kept
    assert m["accuracy.forget.original"] == 1.0
    assert 0.5 <= m["accuracy.forget.unlearned"] <= 0.99
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.01  # .998 vs .998
    assert m["accuracy.test.unlearned"] >= m["accuracy.test.original"] - 0.05  # .967 vs .981

    finetuned, _ = fx.unlearn(session, 1)
    assert abs(m["accuracy.forget.unlearned"] - finetuned["metrics"]["accuracy.forget.unlearned"]) <= 0.1


@pytest.mark.parametrize("k", [1, 2, 3])
def test_cfk_on_small_cnn_keeps_frozen_layers_and_batch_norm_statistics(k):
    session = cnn_session()
    names = [name for name, _ in parameterised_layers(session.original)]
    # features.0 conv, features.1 bn, features.4 conv, features.5 bn, head.1 linear, head.3 linear
    assert len(names) == 6
    unlearner = fx.build_unlearner({"class": "CFk", "parameters": {
        "last_trainable_layers": k, "epochs": 1}})
    model = fx.run_by_hand(session, unlearner, seed=3)

    frozen, trained = set(names[:-k]), set(names[-k:])
    original = session.original.state_dict()
    kept = layer_state(model, frozen)
    assert any("running_mean" in key for key in kept)  # a frozen batch norm is among them
    for key, value in kept.items():
        assert torch.equal(value, original[key]), key
    for name in trained:
        assert not torch.equal(model.state_dict()[f"{name}.weight"], original[f"{name}.weight"]), name
    if k == 3:  # the trainable batch norm trained normally: its running statistics moved
        assert not torch.equal(model.state_dict()["features.5.running_mean"],
                               original["features.5.running_mean"])
    assert all(p.requires_grad for p in model.parameters())


def test_cfk_with_more_layers_than_the_network_fails_with_both_numbers():
    session = fx.session("class", [{"class": "CFk", "parameters": {"last_trainable_layers": 5}}])
    record = session.unlearn(0)  # the MLP has 2 parameterised layers
    assert record["status"] == "failed"
    assert "last_trainable_layers=5" in record["error"]
    assert "only 2 parameterised layers" in record["error"]
    assert record["error"].startswith("ValueError")


@pytest.mark.parametrize("params, message", [
    ({"last_trainable_layers": 0}, "last_trainable_layers must be at least 1"),
    ({"epochs": 0}, "epochs must be at least 1"),
])
def test_bad_hyper_parameters_are_rejected_before_any_work(params, message):
    fx.assert_rejected({"class": "CFk", "parameters": params}, message)


def test_cfk_with_a_diverging_loss_raises():
    # a lone linear head keeps a finite cross-entropy up to lr ≈ 1e30 (measured); 1e38 overflows
    fx.assert_diverges({"class": "CFk", "parameters": {
        "epochs": 1, "optimizer": {"class": "SGD", "parameters": {"lr": 1e38}}}},
        "loss became .* in epoch 1")


def test_cfk_never_touches_the_original():
    session = fx.session("class", [])
    before = copy.deepcopy(session.original.state_dict())
    fx.run_by_hand(session, fx.build_unlearner({"class": "CFk", "parameters": {"epochs": 1}}), seed=2)
    assert all(torch.equal(before[k], v) for k, v in session.original.state_dict().items())
