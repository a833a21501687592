"""User networks for the channels-last tests, importable by dotted path
(``tests.models.fixtures.ViewCNN``), written as a user would write them."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from erasure.models import SmallCNN

HERE = __name__  # "tests.models.fixtures"


class ViewCNN(nn.Module):
    """The tutorials' CNN: it flattens with ``x.view(x.size(0), -1)``, which needs NCHW memory
    (a view of an NHWC feature map raises)."""

    def __init__(self, input_shape=None, num_classes=None, channels: int = 8):
        super().__init__()
        c, h, w = input_shape
        self.conv1 = nn.Conv2d(c, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(channels * (h // 2) * (w // 2), num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv2(F.relu(self.conv1(x)))))
        x = x.view(x.size(0), -1)
        return self.fc(x)


class MemoryOrderCNN(ViewCNN):
    """Runs on NHWC memory without raising but computes something else there: it flattens the
    feature map in memory order (``as_strided``), so its linear layer sees permuted features."""

    def forward(self, x):
        x = self.pool(F.relu(self.conv2(F.relu(self.conv1(x)))))
        n = x.size(0)
        x = torch.as_strided(x, (n, x[0].numel()), (x[0].numel(), 1))
        return self.fc(x)


class ViewSmallCNN(SmallCNN):
    """A built-in network subclassed with a ``.view`` of its own: the subclass is checked, not
    trusted like SmallCNN (``channels_last_safe`` is read from the class's own body)."""

    def forward(self, x):
        x = self.features(x)
        return self.head[1:](x.view(x.size(0), -1))


class FlattenCNN(ViewCNN):
    """The same network flattening with ``flatten(1)``: works in either layout."""

    def forward(self, x):
        return self.fc(self.pool(F.relu(self.conv2(F.relu(self.conv1(x))))).flatten(1))


class MidViewCNN(ViewCNN):
    """A ``.view`` between its convolutions (a per-sample normalisation written with views):
    no single feature map handed back NCHW lets it run with NHWC weights."""

    def forward(self, x):
        x = F.relu(self.conv1(x))
        flat = x.view(x.size(0), -1)
        x = (flat / (flat.norm(dim=1, keepdim=True) + 1e-6)).view(x.shape)
        return self.fc(self.pool(F.relu(self.conv2(x))).flatten(1))


class MidMemoryOrderCNN(ViewCNN):
    """Reads its first feature map in memory order (``as_strided``) before the second
    convolution: runs on NHWC memory but computes something else, wherever the map is handed
    back."""

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = torch.as_strided(x, x.shape, torch.empty(x.shape).stride())
        return self.fc(self.pool(F.relu(self.conv2(x))).flatten(1))
