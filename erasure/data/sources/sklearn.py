"""scikit-learn's bundled datasets: real data that needs no network (the offline default)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

    Digits are scaled to [0, 1] by their known pixel range. The other datasets are returned raw;
    set the data manager's ``standardize`` to a partition (e.g. ``"train"``) to standardise with
    that partition's statistics only.
    """

    name: Literal["digits", "iris", "wine", "breast_cancer"] = "digits"
    shape: Literal["flat", "image"] = "flat"

    def __post_init__(self) -> None:
        if self.shape == "image" and self.name != "digits":
            raise ValueError(f"shape 'image' needs the digits dataset, not '{self.name}'")

    def load(self) -> Samples:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{self.name}")()
        x = torch.tensor(bunch.data, dtype=torch.float32)
        if self.name == "digits":
            x = x / _DIGITS_MAX
            if self.shape == "image":
                x = x.reshape(-1, 1, 8, 8)
        names = [str(n) for n in bunch.target_names]
        return Samples(x=x, y=torch.tensor(bunch.target), class_names=names)
