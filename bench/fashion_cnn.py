"""The original ERASURE's FashionCNN, written as a user network for the like-for-like comparison
(``bench/erasure_fashion28.jsonc``; issue 22).

Written from its description, not copied: two convolution blocks (convolution → batch norm →
ReLU → 2×2 max-pooling; 1→32 channels 3×3 with padding 1, then 32→64 3×3 without), flattened
with ``x.view(x.size(0), -1)`` as the original does, then three linear layers 64·6·6 → 600 →
(dropout 0.25) → 120 → 10. On 1×28×28 images it has 1,475,338 parameters
(``python bench/fashion_cnn.py`` prints the count). Unlike the original, ``forward`` returns the
logits only (the original returns a pair, its loops unpack it).
"""
from __future__ import annotations

from torch import nn


class FashionCNN(nn.Module):
    """The original ERASURE's FashionCNN (1.475 M parameters on 1×28×28 images).

    Args:
        input_shape: one sample's shape, ``(channels, height, width)``: filled in from the data.
        num_classes: outputs, one per class: filled in from the data.
    """

    # defaults: the config is checked before the data is loaded (guide/examples/my_networks.py)
    def __init__(self, input_shape=None, num_classes=None):
        super().__init__()
        channels, height, width = input_shape
        self.layer1 = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2))
        self.layer2 = nn.Sequential(
            nn.Conv2d(32, 64, kernel_size=3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
        flat = 64 * ((height // 2 - 2) // 2) * ((width // 2 - 2) // 2)
        self.fc1 = nn.Linear(flat, 600)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(600, 120)
        self.fc3 = nn.Linear(120, num_classes)

    def forward(self, x):
        out = self.layer2(self.layer1(x))
        out = out.view(out.size(0), -1)  # as the original: needs a contiguous (NCHW) tensor
        return self.fc3(self.fc2(self.drop(self.fc1(out))))


if __name__ == "__main__":
    model = FashionCNN(input_shape=(1, 28, 28), num_classes=10)
    print(f"FashionCNN on 1x28x28: {sum(p.numel() for p in model.parameters()):,} parameters")
