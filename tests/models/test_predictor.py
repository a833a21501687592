"""Predictor: trains the original well on digits, reproducibly from its seeded streams, and
rejects networks that do not fit the data with a config error that names both sizes."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from erasure.config import ConfigError
from erasure.models import Diverged, MLP, SmallCNN, check_finite, fit
from erasure.plan import prepare
from erasure.seeding import generator, seeded
from tests.helpers import accuracy, digits_config


class NanLoss(nn.Module):
    """A loss that is NaN from the first batch (named in a config by its dotted path)."""

    def forward(self, logits, target):
        return logits.sum() * float("nan")


def predictor_for(epochs: int = 30, **overrides):
    config = digits_config(epochs=epochs)
    config["predictor"]["parameters"].update(overrides)
    return prepare(config).predictor


def train(predictor, data, seed: int = 0, batch_seed: int = 0):
    """Builds and trains a model the way a session does: init and batches from seeded streams."""
    with seeded(seed, "init", "original"):
        model = predictor.new_model(data)
    with seeded(seed, "fit", "original"):
        losses = predictor.train(model, data, "train", generator(batch_seed, "batches", "original"))
    return model, losses


@pytest.fixture(scope="module")
def data():
    return prepare(digits_config()).data.load(0, "cpu")


@pytest.fixture(scope="module")
def image_data():
    return prepare(digits_config(image=True)).data.load(0, "cpu")


@pytest.fixture(scope="module")
def trained(data):
    """The MLP (hidden 128, Adam lr 0.003, batch 64) trained 30 epochs on digits' train set."""
    return train(predictor_for(epochs=30), data)


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


# -- training quality -------------------------------------------------------------------------

def test_training_reaches_high_accuracy(trained, data):
    model, _ = trained
    assert data.sizes()["train"] == 1438 and data.sizes()["test"] == 359
    assert accuracy(model, data, "train") >= 0.97
    assert accuracy(model, data, "test") >= 0.93


def test_fit_returns_one_decreasing_loss_per_epoch(trained):
    _, losses = trained
    assert len(losses) == 30
    assert all(isinstance(v, float) for v in losses)
    assert 1.0 < losses[0] < 2.4  # starts near ln(10) ≈ 2.30 for 10 classes
    assert all(b < a for a, b in zip(losses[:8], losses[1:8]))  # falls every early epoch
    windows = [sum(losses[i:i + 5]) / 5 for i in range(0, 30, 5)]
    assert all(b < a for a, b in zip(windows, windows[1:])), windows
    assert losses[-1] < 0.1


# -- determinism ------------------------------------------------------------------------------

def test_same_seeds_give_bit_identical_weights(data):
    predictor = predictor_for(epochs=3)
    a, losses_a = train(predictor, data)
    b, losses_b = train(predictor, data)
    assert_same_weights(a, b)
    assert losses_a == losses_b
    assert len(losses_a) == 3


def test_a_different_batch_stream_gives_different_weights(data):
    predictor = predictor_for(epochs=3)
    a, _ = train(predictor, data, batch_seed=0)
    b, _ = train(predictor, data, batch_seed=1)
    differing = [k for k in a.state_dict() if not torch.equal(a.state_dict()[k], b.state_dict()[k])]
    assert differing == list(a.state_dict())  # every tensor moved differently


def test_a_different_init_stream_gives_different_initial_weights(data):
    predictor = predictor_for()
    with seeded(0, "init", "original"):
        a = predictor.new_model(data)
    with seeded(0, "init", "original"):
        b = predictor.new_model(data)
    with seeded(1, "init", "original"):
        c = predictor.new_model(data)
    assert_same_weights(a, b)
    assert not torch.equal(a.layers[1].weight, c.layers[1].weight)


def test_training_does_not_touch_the_data(data):
    x, y = data.x.clone(), data.y.clone()
    parts = {k: v.clone() for k, v in data.partitions.items()}
    train(predictor_for(epochs=1), data)
    assert torch.equal(data.x, x) and torch.equal(data.y, y)
    assert all(torch.equal(data[k], v) for k, v in parts.items())


# -- new_model ---------------------------------------------------------------------------------

def test_new_model_fills_input_shape_and_num_classes_from_the_data(data):
    model = predictor_for().new_model(data)
    assert isinstance(model, MLP)
    assert model.layers[1].in_features == 64 and model.layers[1].out_features == 128
    assert model.layers[-1].out_features == 10
    assert next(model.parameters()).device == data.device


def test_new_model_for_images(image_data):
    config = digits_config(image=True, model={"class": "SmallCNN", "parameters": {"hidden": 20}})
    model = prepare(config).predictor.new_model(image_data)
    assert isinstance(model, SmallCNN)
    assert model.features[0].in_channels == 1
    assert model.head[1].in_features == 32 * 2 * 2 and model.head[1].out_features == 20
    assert model.head[-1].out_features == 10


def test_new_model_leaves_a_dotted_path_module_as_configured(data):
    config = digits_config(model={"class": "torch.nn.Linear",
                                  "parameters": {"in_features": 64, "out_features": 10}})
    model = prepare(config).predictor.new_model(data)
    assert isinstance(model, nn.Linear) and model.weight.shape == (10, 64)


@pytest.mark.parametrize("model", [
    {"class": "MLP", "parameters": {"hidden": [128], "input_shape": [10]}},
    {"class": "torch.nn.Linear", "parameters": {"in_features": 10, "out_features": 10}},
], ids=["mlp-input-shape-10", "dotted-linear-10"])
def test_a_network_whose_input_size_does_not_match_is_a_config_error(data, model):
    predictor = prepare(digits_config(model=model)).predictor
    with pytest.raises(ConfigError) as e:
        predictor.new_model(data)
    (problem,) = e.value.problems
    assert problem.path == "predictor.parameters.model"
    assert "cannot take the data" in problem.message
    assert "(64,)" in problem.message and "64 values" in problem.message  # the data's size
    assert "10x" in problem.message  # the network's input size, from torch's shape error


def test_a_network_with_the_wrong_number_of_outputs_is_a_config_error(data):
    predictor = prepare(digits_config(model={"class": "MLP", "parameters": {"num_classes": 5}})).predictor
    with pytest.raises(ConfigError) as e:
        predictor.new_model(data)
    (problem,) = e.value.problems
    assert problem.path == "predictor.parameters.model"
    assert "(5,)" in problem.message
    assert "10 classes" in problem.message


def test_a_network_that_cannot_be_built_for_the_data_is_a_config_error(data):
    predictor = prepare(digits_config(model={"class": "SmallCNN"})).predictor
    with pytest.raises(ConfigError) as e:
        predictor.new_model(data)  # flat samples, but SmallCNN needs images
    (problem,) = e.value.problems
    assert problem.path == "predictor.parameters.model"
    assert "cannot build the network" in problem.message and "(64,)" in problem.message


# -- divergence and schedulers ----------------------------------------------------------------

def test_a_huge_learning_rate_raises_diverged(data):
    predictor = predictor_for(epochs=3, optimizer={"class": "SGD", "parameters": {"lr": 1e10}})
    with pytest.raises(Diverged, match="loss became nan in epoch 1"):
        train(predictor, data)


def test_a_nan_loss_raises_diverged(data):
    predictor = predictor_for(epochs=3, loss_fn={"class": "tests.models.test_predictor.NanLoss"})
    with pytest.raises(Diverged, match="in epoch 1"):
        train(predictor, data)


def test_check_finite():
    check_finite(torch.tensor(3.5), "here")
    check_finite(0.0, "here")
    for bad in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(Diverged, match="at step 7"):
            check_finite(bad, "at step 7")


def capture_optimizer(predictor) -> list:
    created = []
    factory = copy.copy(predictor.optimizer)

    def build(params):
        created.append(factory(params))
        return created[-1]

    predictor.optimizer = build
    return created


def test_a_scheduler_is_stepped_once_per_epoch(data):
    predictor = predictor_for(epochs=3, scheduler={
        "class": "StepLR", "parameters": {"step_size": 1, "gamma": 0.5}})
    created = capture_optimizer(predictor)
    train(predictor, data)
    (optimizer,) = created
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.003 * 0.5 ** 3)


def test_without_a_scheduler_the_learning_rate_stays(data):
    predictor = predictor_for(epochs=2)
    assert predictor.scheduler is None
    created = capture_optimizer(predictor)
    train(predictor, data)
    assert created[0].param_groups[0]["lr"] == 0.003


def test_fit_directly_on_a_separable_problem():
    torch.manual_seed(0)
    x = torch.cat([torch.full((20, 2), -1.0), torch.full((20, 2), 1.0)]) + 0.1 * torch.randn(40, 2)
    y = torch.cat([torch.zeros(20), torch.ones(20)]).long()
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    losses = fit(model, lambda: [(x[:16], y[:16]), (x[16:], y[16:])], optimizer,
                 nn.CrossEntropyLoss(), 4, scheduler)
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * 0.1 ** 2)
    assert (model(x).argmax(1) == y).all()
    assert model.training  # fit leaves the model in training mode


def test_fit_with_a_step_function_takes_the_steps_of_the_supervised_loop():
    torch.manual_seed(0)
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    start = nn.Linear(2, 2)
    runs = []
    for how in ({"loss_fn": nn.CrossEntropyLoss()},
                {"step": lambda model, batch: nn.functional.cross_entropy(model(batch[0]), batch[1])}):
        model = copy.deepcopy(start)
        losses = fit(model, lambda: [(x[:16], y[:16]), (x[16:], y[16:])],
                     torch.optim.SGD(model.parameters(), lr=0.5), epochs=3, **how)
        runs.append((model, losses))
    (a, losses_a), (b, losses_b) = runs
    # the same operations in the same order: equal weights and losses (no tolerance needed)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert losses_a == losses_b and len(losses_a) == 3


def test_fit_passes_each_batch_whole_to_the_step_and_calls_the_epoch_hook():
    model = nn.Linear(2, 1)
    seen, epochs = [], []

    def step(model, batch):  # a batch of any shape: here a pair of tensors and a weight
        (x, y), weight = batch
        seen.append(weight)
        return weight * (model(x).squeeze(1) - y).pow(2).mean()

    def batches():
        return [((torch.ones(4, 2), torch.zeros(4)), 0.5), ((torch.ones(2, 2), torch.ones(2)), 2.0)]

    fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.01), epochs=2, step=step,
        on_epoch=lambda epoch, mean: epochs.append(epoch))
    assert seen == [0.5, 2.0, 0.5, 2.0]
    assert epochs == [0, 1]


def test_fit_takes_a_loss_fn_or_a_step_but_not_both():
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="either loss_fn or step"):
        fit(model, lambda: [], optimizer, epochs=1)
    with pytest.raises(TypeError, match="either loss_fn or step"):
        fit(model, lambda: [], optimizer, nn.CrossEntropyLoss(), 1, step=lambda m, b: m(b).sum())


def test_a_diverging_step_names_its_stage_and_epoch():
    model = nn.Linear(2, 2)
    x = torch.ones(4, 2)
    with pytest.raises(Diverged, match="loss became nan in the max steps of epoch 3"):
        fit(model, lambda: [x], torch.optim.SGD(model.parameters(), lr=0.1),
            step=lambda model, x: model(x).sum() * float("nan"),
            stage="the max steps of", first_epoch=2)


@pytest.mark.parametrize("key, value", [("epochs", 0), ("batch_size", 0)])
def test_predictor_rejects_non_positive_epochs_and_batch_size(key, value):
    config = digits_config()
    config["predictor"]["parameters"][key] = value
    with pytest.raises(ConfigError, match=f"{key} must be at least 1"):
        prepare(config)


class StrictNet(torch.nn.Module):
    """A user network whose input_shape and num_classes are required (no defaults)."""

    def __init__(self, input_shape, num_classes, hidden: int = 16):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Flatten(),
                                          torch.nn.Linear(int(torch.tensor(input_shape).prod()), hidden),
                                          torch.nn.ReLU(), torch.nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.layers(x)


def test_a_network_with_required_shape_arguments_gets_them_from_the_data():
    from erasure.experiment import Session
    from erasure.plan import prepare
    from tests.helpers import digits_config

    config = digits_config(model={"class": "tests.models.test_predictor.StrictNet",
                                  "parameters": {"hidden": 8}}, epochs=2)
    session = Session(prepare(config), seed=0)
    session.load_data()
    session.train_models()
    first = session.original.layers[1]
    assert (first.in_features, first.out_features) == (64, 8)
    assert session.original.layers[3].out_features == 10
    # another required parameter is still reported
    config["predictor"]["parameters"]["model"]["parameters"] = {}
    config["predictor"]["parameters"]["model"]["class"] = "torch.nn.Linear"
    with pytest.raises(ConfigError, match="missing required parameter 'in_features' of Linear"):
        prepare(config)
