"""ResNet-18 for small images: the standard network of machine-unlearning papers.

The CIFAR variant used by SCRUB, SalUn, SSD, Bad Teaching and most unlearning code (it comes
from the widely copied ``kuangliu/pytorch-cifar``): He et al.'s ResNet-18 ("Deep Residual
Learning for Image Recognition", CVPR 2016) with the ImageNet stem (7×7 stride-2 convolution and
max-pool) replaced by one 3×3 stride-1 convolution, so that a 32×32 image keeps its resolution
into the first stage. Four stages of two BasicBlocks each (64, 128, 256, 512 channels; stride 2
from the second stage on, with a 1×1 convolution + batch norm shortcut where the shape changes),
global average pooling and one linear layer. With 3×32×32 inputs and 10 classes it has
11,173,962 parameters.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from erasure.config import register
from erasure.config.checks import ParameterValueError, layer_widths

from .networks import check_image_network


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and a residual connection (ResNet-18/34's block)."""

    def __init__(self, inputs: int, outputs: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


@register
class ResNet18(nn.Module):
    """ResNet-18 adapted to 32×32 inputs (3×3 stride-1 stem, no max-pool), as in unlearning
    papers' CIFAR experiments.

    Works on any ``channels×height×width`` images (global average pooling at the end): 3×32×32
    (CIFAR), 1×28×28 (MNIST), 1×8×8 (digits). The last stage sees the input downsampled 8 times
    (4×4 for 32×32 inputs).

    Args:
        input_shape: ``(channels, height, width)`` of one sample (filled in from the data).
        num_classes: number of outputs (filled in from the data).
        width: channels of the first stage (64); the stages have ``width``, 2×, 4× and 8× that.
            A smaller width (16, 32) gives a cheaper network of the same shape.
        blocks: BasicBlocks per stage (``[2, 2, 2, 2]`` is ResNet-18).
    """

    #: NHWC weights need no check under ``channels_last: auto`` (erasure.models.acceleration)
    channels_last_safe = True

    def __init__(self, input_shape: Optional[Sequence[int]] = None,
                 num_classes: Optional[int] = None, width: int = 64,
                 blocks: Sequence[int] = (2, 2, 2, 2)) -> None:
        super().__init__()
        self.check_parameters(width=width, blocks=blocks)
        check_image_network("ResNet18", input_shape, num_classes)
        self.conv1 = nn.Conv2d(input_shape[0], width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        stages, channels = [], width
        for i, count in enumerate(blocks):
            out = width * 2 ** i
            stride = 1 if i == 0 else 2
            layers = []
            for j in range(count):
                layers.append(BasicBlock(channels, out, stride if j == 0 else 1))
                channels = out
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(channels, num_classes)

    @staticmethod
    def check_parameters(*, width: int = 1, blocks: Sequence[int] = (1, 1, 1, 1),
                         **_: object) -> None:
        """The checks that need no data (run by ``--validate``)."""
        layer_widths("width", width)
        if len(blocks) != 4 or any(b < 1 for b in blocks):
            raise ParameterValueError("blocks", "blocks must give four stages of at least one "
                                                f"block, got {list(blocks)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(self.flatten(self.pool(out)))
