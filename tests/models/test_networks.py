"""Built-in networks: output shapes for the image sizes they promise, and constructor checks."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from erasure.models import MLP, SmallCNN


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("shape", [(64,), (1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_mlp_output_shape(shape):
    torch.manual_seed(0)
    model = MLP(input_shape=shape, num_classes=10, hidden=[32, 16])
    out = model(torch.rand(5, *shape))
    assert out.shape == (5, 10)
    assert model.layers[1].in_features == torch.Size(shape).numel()


def test_mlp_layers_and_parameter_count():
    model = MLP(input_shape=(64,), num_classes=10, hidden=[128])
    assert n_params(model) == 64 * 128 + 128 + 128 * 10 + 10  # 9,610
    assert [type(m) for m in model.layers] == [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear]
    linear = MLP(input_shape=(4,), num_classes=3, hidden=[])
    assert [type(m) for m in linear.layers] == [nn.Flatten, nn.Linear]
    assert linear(torch.rand(2, 4)).shape == (2, 3)


def test_mlp_dropout_layers():
    model = MLP(input_shape=(8,), num_classes=2, hidden=[6, 6], dropout=0.5)
    dropouts = [m for m in model.layers if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 2 and all(d.p == 0.5 for d in dropouts)
    model.eval()
    x = torch.rand(3, 8)
    assert torch.equal(model(x), model(x))  # no dropout in eval mode


@pytest.mark.parametrize("shape, flat", [((1, 8, 8), 32 * 2 * 2), ((1, 28, 28), 32 * 7 * 7),
                                         ((3, 32, 32), 32 * 8 * 8)])
def test_small_cnn_output_shape(shape, flat):
    torch.manual_seed(0)
    model = SmallCNN(input_shape=shape, num_classes=7)
    out = model(torch.rand(4, *shape))
    assert out.shape == (4, 7)
    assert model.head[1].in_features == flat
    assert model.features[0].in_channels == shape[0]
    model.eval()
    assert model(torch.rand(1, *shape)).shape == (1, 7)


def test_small_cnn_channels_and_hidden():
    model = SmallCNN(input_shape=(1, 8, 8), num_classes=10, channels=[4, 8], hidden=12)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 4), (4, 8)]
    assert (model.head[1].in_features, model.head[1].out_features) == (8 * 2 * 2, 12)
    assert model.head[-1].out_features == 10


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32)])
def test_small_cnn_pooling_before_relu_trains_bit_for_bit_like_relu_before_pooling(shape,
                                                                                     channels_last):
    """SmallCNN pools before its ReLU (cheaper); the textbook order conv → BN → ReLU → pool,
    built from the same modules, gives the same logits and the same weights after 20 Adam steps,
    bit for bit (negative and tied windows included: the inputs are centred noise)."""
    torch.manual_seed(0)
    ours = SmallCNN(input_shape=shape, num_classes=10)
    assert [type(m) for m in ours.features[:4]] == [nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d,
                                                    nn.ReLU]
    textbook = copy.deepcopy(ours)
    blocks = list(textbook.features)
    for start in range(0, len(blocks), 4):
        blocks[start + 2], blocks[start + 3] = blocks[start + 3], blocks[start + 2]
    textbook.features = nn.Sequential(*blocks)
    assert isinstance(textbook.features[2], nn.ReLU)
    initial = ours.features[0].weight.detach().clone()
    x, y = torch.randn(32, *shape), torch.randint(0, 10, (32,))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        ours, textbook = (m.to(memory_format=torch.channels_last) for m in (ours, textbook))
    for model in (ours, textbook):
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(20):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        model.eval()
    for (name, a), b in zip(ours.state_dict().items(), textbook.state_dict().values()):
        assert torch.equal(a, b), name
    assert torch.equal(ours(x), textbook(x))
    assert not torch.equal(ours.features[0].weight, initial)  # it did train


@pytest.mark.parametrize("cls", [MLP, SmallCNN])
@pytest.mark.parametrize("kwargs", [{}, {"input_shape": (1, 8, 8)}, {"num_classes": 10}])
def test_networks_need_input_shape_and_num_classes(cls, kwargs):
    with pytest.raises(ValueError, match="needs input_shape and num_classes"):
        cls(**kwargs)


@pytest.mark.parametrize("shape", [(64,), (8, 8), (1, 1, 8, 8)])
def test_small_cnn_rejects_non_image_shapes(shape):
    with pytest.raises(ValueError, match=r"SmallCNN needs images \(channels, height, width\)"):
        SmallCNN(input_shape=shape, num_classes=10)


def test_networks_are_registered_by_short_name():
    from erasure.config import resolve

    assert resolve("MLP", nn.Module, "x") is MLP
    assert resolve("SmallCNN", nn.Module, "x") is SmallCNN
