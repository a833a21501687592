"""Built-in networks. Each is a plain ``torch.nn.Module`` whose ``forward`` returns logits.

``input_shape`` and ``num_classes`` are filled in from the data unless the config sets them;
any ``torch.nn.Module`` of your own works the same way when named by its dotted path.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

from torch import nn

from erasure.config import register
from erasure.config.checks import layer_widths


@register
class MLP(nn.Module):
    """A multi-layer perceptron on flattened inputs.

    Args:
        input_shape: shape of one sample (flattened to its product).
        num_classes: number of outputs.
        hidden: width of each hidden layer.
        dropout: dropout probability after each hidden layer.
    """

    def __init__(self, input_shape: Optional[Sequence[int]] = None,
                 num_classes: Optional[int] = None, hidden: Sequence[int] = (128,),
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.check_parameters(hidden=hidden)
        if input_shape is None or num_classes is None:
            raise ValueError("MLP needs input_shape and num_classes")
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    @staticmethod
    def check_parameters(*, hidden: Sequence[int] = (), **_: object) -> None:
        """The checks that need no data (run by ``--validate``)."""
        layer_widths("hidden", hidden)

    def forward(self, x):
        return self.layers(x)


@register
class SmallCNN(nn.Module):
    """Two 3×3 convolution blocks (conv, batch norm, ReLU, 2×2 max-pool) and a linear head.

    Each block pools before its ReLU: the two commute exactly (max(relu(a), relu(b)) =
    relu(max(a, b)), and both send a zero gradient where the window's maximum is ≤ 0), so the
    network computes, and trains to, bit for bit what conv → BN → ReLU → pool does (tested),
    with the ReLU on a quarter of the values, so training steps are cheaper on a CPU
    (bench/README.md, "Timings behind choices in the code").

    Fits ``1×8×8`` (digits), ``1×28×28`` (MNIST) and ``3×32×32`` (CIFAR) images.

    Args:
        input_shape: ``(channels, height, width)``.
        num_classes: number of outputs.
        channels: output channels of the two convolution blocks.
        hidden: width of the hidden linear layer.
    """

    #: NHWC weights need no check under ``channels_last: auto`` (erasure.models.acceleration)
    channels_last_safe = True

    def __init__(self, input_shape: Optional[Sequence[int]] = None,
                 num_classes: Optional[int] = None, channels: Sequence[int] = (16, 32),
                 hidden: int = 64) -> None:
        super().__init__()
        self.check_parameters(channels=channels, hidden=hidden)
        check_image_network("SmallCNN", input_shape, num_classes)
        blocks: list[nn.Module] = []
        width, (height, side) = input_shape[0], input_shape[1:]
        for out in channels:
            blocks += [nn.Conv2d(width, out, 3, padding=1), nn.BatchNorm2d(out), nn.MaxPool2d(2),
                       nn.ReLU()]
            width, height, side = out, height // 2, side // 2
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * height * side, hidden),
                                  nn.ReLU(), nn.Linear(hidden, num_classes))

    @staticmethod
    def check_parameters(*, channels: Sequence[int] = (), hidden: int = 1, **_: object) -> None:
        """The checks that need no data (run by ``--validate``)."""
        layer_widths("channels", channels)
        layer_widths("hidden", hidden)

    def forward(self, x):
        return self.head(self.features(x))


def check_image_network(name: str, input_shape: Optional[Sequence[int]],
                        num_classes: Optional[int]) -> None:
    """Raises ValueError unless an image network got ``(channels, height, width)`` and a class
    count (the pipeline fills both in from the data)."""
    if input_shape is None or num_classes is None:
        raise ValueError(f"{name} needs input_shape and num_classes")
    if len(input_shape) != 3:
        raise ValueError(f"{name} needs images (channels, height, width), got shape "
                         f"{tuple(input_shape)}")
