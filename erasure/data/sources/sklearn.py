"""scikit-learn's bundled datasets: real data that needs no network (the offline default)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch

from .base import DataSource, Samples

#: Known pixel range of the digits images (0..16), used to scale them to [0, 1].
_DIGITS_MAX = 16.0


@dataclass(kw_only=True)
class SklearnDataSource(DataSource):
    """One of scikit-learn's bundled datasets, loaded from the installed package.

    Args:
        name: ``digits`` (1,797 8×8 handwritten digits, 10 classes), ``iris`` (150 × 4, 3 classes),
            ``wine`` (178 × 13, 3 classes) or ``breast_cancer`` (569 × 30, 2 classes).
        shape: ``flat`` gives feature vectors; ``image`` gives digits as ``1×8×8`` images for a CNN.
        size: with ``shape: "image"``, upscale the digits to ``1×size×size`` (bilinear, once at
            load), e.g. 28 for MNIST-sized inputs as in the original ERASURE's example; ``null``
            keeps 8×8.

    Digits are scaled to [0, 1] by their known pixel range. The other datasets are returned raw;
    set the data manager's ``standardize`` to a partition (e.g. ``"train"``) to standardise with
    that partition's statistics only.
    """

    name: Literal["digits", "iris", "wine", "breast_cancer"] = "digits"
    shape: Literal["flat", "image"] = "flat"
    size: Optional[int] = None

    def __post_init__(self) -> None:
        if self.shape == "image" and self.name != "digits":
            raise ValueError(f"shape 'image' needs the digits dataset, not '{self.name}'")
        if self.size is not None:
            if self.shape != "image":
                raise ValueError("size upscales images: it needs shape 'image' (and the digits "
                                 "dataset)")
            if self.size < 1:
                raise ValueError(f"size must be at least 1, got {self.size}")

    def load(self) -> Samples:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{self.name}")()
        x = torch.tensor(bunch.data, dtype=torch.float32)
        if self.name == "digits":
            x = x / _DIGITS_MAX
            if self.shape == "image":
                x = x.reshape(-1, 1, 8, 8)
                if self.size is not None and self.size != 8:
                    x = torch.nn.functional.interpolate(x, size=(self.size, self.size),
                                                        mode="bilinear", align_corners=False)
        names = [str(n) for n in bunch.target_names]
        return Samples(x=x, y=torch.tensor(bunch.target), class_names=names)
