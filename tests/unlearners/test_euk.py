"""EU-k (Goel et al. 2022): re-initialise the last k parameterised layers, train them on D_r."""
import copy
import dataclasses

import pytest
import torch
from torch import nn

from erasure.models.layers import parameterised_layers
from erasure.seeding import seeded
from tests.helpers import digits_config, trained_session
from tests.unlearners import fixtures as fx

#: A 3-layer MLP (so that k = 1, 2, 3 all fit) and SmallCNN on image-shaped digits.
NETWORKS = {
    "mlp": {"model": {"class": "MLP", "parameters": {"hidden": [64, 32]}}},
    "cnn": {"model": {"class": "SmallCNN"}, "image": True, "epochs": 3},
}
#: Their parameterised layers, input side first.
LAYERS = {
    "mlp": ["layers.1", "layers.3", "layers.5"],
    "cnn": ["features.0", "features.1", "features.4", "features.5", "head.1", "head.3"],
}


def session_for(network):
    return trained_session(digits_config("class", [{"class": "EUk"}], **NETWORKS[network]))


def owner(key):
    return key.rsplit(".", 1)[0]


@pytest.mark.parametrize("network", ["mlp", "cnn"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_euk_reinitialises_exactly_the_last_k_layers(network, k):
    session = session_for(network)
    assert [name for name, _ in parameterised_layers(session.original)] == LAYERS[network]
    reset, kept = set(LAYERS[network][-k:]), set(LAYERS[network][:-k])
    original = session.original.state_dict()
    unlearner = fx.build_unlearner({"class": "EUk", "parameters": {"last_trainable_layers": k,
                                                                   "epochs": 1}})

    # the re-initialisation step: the last k layers hold what a fresh network of the same
    # architecture gets from the same seed (buffers too: running mean 0, variance 1)
    model = copy.deepcopy(session.original)
    with seeded(5):
        layers = unlearner.reinitialise(model, fx.context(session, 5))
    with seeded(5):
        fresh = session.plan.predictor.new_model(session.data).state_dict()
    assert {name for name, _ in layers} == reset
    state = model.state_dict()
    for key, value in state.items():
        if owner(key) in reset:
            assert torch.equal(value, fresh[key]), key
            if value.is_floating_point() and value.numel() > 1:
                assert not torch.equal(value, original[key]), key
        else:
            assert torch.equal(value, original[key]), key

    # the whole method: frozen layers stay bit-identical (frozen batch norm statistics included),
    # every re-initialised layer moved away from the original
    model = fx.run_by_hand(session, unlearner, seed=5)
    state = model.state_dict()
    for key in state:
        if owner(key) in kept:
            assert torch.equal(state[key], original[key]), key
    for name in reset:
        assert not torch.equal(state[f"{name}.weight"], original[f"{name}.weight"]), name
    assert all(p.requires_grad for p in model.parameters())


def test_euk_forgets_a_class_where_cfk_with_the_same_k_does_not():
    session = fx.session("class", [{"class": "EUk"}, {"class": "CFk"}])
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]
    gold, _ = fx.unlearn(session, 2)
    g = gold["metrics"]

    # a fresh classifier trained on D_r never predicts the removed class: forget accuracy
    # 1.0 → 0.0 (gold 0.0), retain kept (measured 0.993 vs 0.998), test like the gold model's
    # (measured 0.875; gold 0.877 — the removed tenth of the test set is now wrong)
    assert m["accuracy.forget.original"] == 1.0
    assert m["accuracy.forget.unlearned"] <= 0.05
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.02
    assert abs(m["accuracy.test.unlearned"] - g["accuracy.test.unlearned"]) <= 0.03
    first, _ = parameterised_layers(model)[0]
    assert torch.equal(model.state_dict()[f"{first}.weight"],
                       session.original.state_dict()[f"{first}.weight"])

    # CF-1 only fine-tunes the same head from the original's weights: the class survives
    record, _ = fx.unlearn(session, 1)
    assert record["metrics"]["accuracy.forget.unlearned"] >= 0.5  # measured 0.945


def test_euk_with_more_layers_than_the_network_fails_with_both_numbers():
    session = fx.session("class", [{"class": "EUk", "parameters": {"last_trainable_layers": 3}}])
    record = session.unlearn(0)  # the MLP has 2 parameterised layers
    assert record["status"] == "failed"
    assert "last_trainable_layers=3" in record["error"]
    assert "only 2 parameterised layers" in record["error"]


def test_layers_a_fresh_network_lacks_fall_back_to_reset_parameters():
    session = fx.session("class", [])

    class Elsewhere:  # a predictor whose fresh networks share no layer names with the model
        def new_model(self, data):
            return nn.Sequential()

    unlearner = fx.build_unlearner({"class": "EUk", "parameters": {"last_trainable_layers": 1}})
    ctx = dataclasses.replace(fx.context(session, 4), predictor=Elsewhere())
    model = copy.deepcopy(session.original)
    with seeded(4):
        [(name, layer)] = unlearner.reinitialise(model, ctx)
    expected = copy.deepcopy(layer)
    with seeded(4):
        expected.reset_parameters()
    assert torch.equal(layer.weight, expected.weight)
    assert not torch.equal(layer.weight, dict(session.original.named_modules())[name].weight)


@pytest.mark.parametrize("params, message", [
    ({"last_trainable_layers": 0}, "last_trainable_layers must be at least 1"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
])
def test_bad_hyper_parameters_are_rejected_before_any_work(params, message):
    fx.assert_rejected({"class": "EUk", "parameters": params}, message)


def test_euk_with_a_diverging_loss_raises():
    # a lone linear head keeps a finite cross-entropy up to lr ≈ 1e30 (measured); 1e38 overflows
    fx.assert_diverges({"class": "EUk", "parameters": {
        "epochs": 1, "optimizer": {"class": "SGD", "parameters": {"lr": 1e38}}}},
        "loss became .* in epoch 1")


def test_euk_is_deterministic_and_never_touches_the_original():
    session = fx.session("class", [])
    before = copy.deepcopy(session.original.state_dict())
    unlearner = fx.build_unlearner({"class": "EUk", "parameters": {"epochs": 1}})
    a, b = fx.run_by_hand(session, unlearner, seed=9), fx.run_by_hand(session, unlearner, seed=9)
    assert fx.same_weights(a, b)
    assert all(torch.equal(before[k], v) for k, v in session.original.state_dict().items())
