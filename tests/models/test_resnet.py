"""ResNet18: the CIFAR variant of unlearning papers (3×3 stride-1 stem, no max-pool)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from erasure.config import resolve
from erasure.experiment import Session
from erasure.models import ResNet18, fit
from erasure.models.layers import last_layers
from erasure.plan import prepare
from tests.helpers import digits_config


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_count_is_the_standard_cifar_resnet18():
    # kuangliu/pytorch-cifar's ResNet18 (the network of SCRUB, SalUn, SSD...): 11,173,962
    assert count(ResNet18(input_shape=(3, 32, 32), num_classes=10)) == 11_173_962
    # one input channel: 64·3·3 fewer stem weights (-1,152); 100 classes: 90·(512+1) more
    assert count(ResNet18(input_shape=(1, 28, 28), num_classes=10)) == 11_173_962 - 2 * 64 * 9
    assert count(ResNet18(input_shape=(3, 32, 32), num_classes=100)) == 11_173_962 + 90 * 513


def test_stem_keeps_the_resolution_and_has_no_max_pool():
    model = ResNet18(input_shape=(3, 32, 32), num_classes=10)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert [len(s) for s in (model.layer1, model.layer2, model.layer3, model.layer4)] == [2, 2, 2, 2]
    seen = {}
    model.layer4.register_forward_hook(lambda m, i, o: seen.update(shape=o.shape))
    model.eval()(torch.zeros(1, 3, 32, 32))
    assert seen["shape"] == (1, 512, 4, 4)


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 28), (1, 8, 8)])
def test_output_shape(shape):
    model = ResNet18(input_shape=shape, num_classes=7, width=8).eval()
    with torch.inference_mode():
        assert model(torch.randn(5, *shape)).shape == (5, 7)


def test_width_scales_the_stages():
    model = ResNet18(input_shape=(3, 32, 32), num_classes=10, width=16)
    assert model.conv1.out_channels == 16 and model.linear.in_features == 128
    assert count(model) < count(ResNet18(input_shape=(3, 32, 32), num_classes=10)) / 10


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="input_shape and num_classes"):
        ResNet18()
    with pytest.raises(ValueError, match="images"):
        ResNet18(input_shape=(64,), num_classes=10)
    with pytest.raises(ValueError, match="width"):
        ResNet18(input_shape=(3, 32, 32), num_classes=10, width=0)


def test_registered_and_last_layer_is_the_classifier():
    assert resolve("ResNet18", nn.Module, "model") is ResNet18
    model = ResNet18(input_shape=(3, 32, 32), num_classes=10, width=8)
    assert last_layers(model, 1) == [("linear", model.linear)]


def test_trains_a_few_steps_on_tiny_data():
    torch.manual_seed(0)
    x = torch.randn(32, 3, 32, 32)
    y = torch.randint(0, 4, (32,))
    model = ResNet18(input_shape=(3, 32, 32), num_classes=4, width=8)
    losses = fit(model, lambda: [(x[:16], y[:16]), (x[16:], y[16:])],
                 torch.optim.Adam(model.parameters(), 1e-2), nn.CrossEntropyLoss(), 8)
    assert losses[-1] < losses[0] / 2


def test_runs_in_the_pipeline_on_digit_images():
    config = digits_config(image=True, epochs=2,
                           model={"class": "ResNet18", "parameters": {"width": 8}})
    config["globals"]["cache"] = False
    session = Session(prepare(config), seed=0)
    session.load_data()
    session.train_models()
    assert isinstance(session.original, ResNet18)
    assert session.original.conv1.in_channels == 1 and session.original.linear.out_features == 10
    assert session.unlearn(0)["status"] == "finished"
