"""Chapter 6: your own network, a plain ``torch.nn.Module``. ``network.jsonc`` names it."""
from __future__ import annotations

from torch import nn


class TinyCNN(nn.Module):
    """Two 3x3 convolutions and a linear classifier, for small single-channel images.

    Args:
        input_shape: one sample's shape, ``(channels, height, width)``: filled in from the data.
        num_classes: outputs, one per class: filled in from the data.
        channels: channels of the two convolutions.
    """

    # input_shape and num_classes need a default: the config is checked before the data is
    # loaded, and a parameter without one would be reported as missing from the config
    def __init__(self, input_shape=None, num_classes=None, channels: int = 16):
        super().__init__()
        in_channels, height, width = input_shape
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(channels * (height // 2) * (width // 2), num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
