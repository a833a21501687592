"""scikit-learn's bundled datasets: real data that needs no network (the offline default)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch

from .base import DataSource, Samples

#: Known pixel range of the digits images (0..16), used to scale them to [0, 1].
_DIGITS_MAX = 16.0

#: Each dataset's file in scikit-learn's ``datasets/data`` folder.
_FILES = {"digits": "digits.csv.gz", "iris": "iris.csv", "wine": "wine_data.csv",
          "breast_cancer": "breast_cancer.csv"}


def read_bundled(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(data, target, target names)`` of a scikit-learn bundled dataset, equal to its
    ``sklearn.datasets.load_<name>()``, read from the installed package's data file without
    importing scikit-learn (slow and memory-hungry; bench/README.md): ``digits.csv.gz`` has 65
    columns, the last the target (names ``0`` … ``9``); the other files start with a line
    ``n_samples,n_features,<target names>``, and the last column is the target. If the file is
    not where this expects it, scikit-learn's own loader reads it.
    """
    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    folder = spec.submodule_search_locations if spec else None
    path = Path(folder[0], "datasets", "data", _FILES[name]) if folder else None
    if path is None or not path.is_file():
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        return bunch.data, bunch.target, [str(n) for n in bunch.target_names]
    if name == "digits":
        table = np.loadtxt(path, delimiter=",")  # numpy decompresses .gz itself
        names = [str(n) for n in range(10)]
    else:
        with open(path, encoding="utf-8") as file:
            names = file.readline().strip().split(",")[2:]
            table = np.loadtxt(file, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int), names


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

    Never unpickles: the installed package's csv files are read as text, no config names a file.
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
        data, target, names = read_bundled(self.name)
        x = torch.tensor(data, dtype=torch.float32)
        if self.name == "digits":
            x = x / _DIGITS_MAX
            if self.shape == "image":
                x = x.reshape(-1, 1, 8, 8)
                if self.size is not None and self.size != 8:
                    x = torch.nn.functional.interpolate(x, size=(self.size, self.size),
                                                        mode="bilinear", align_corners=False)
        return Samples(x=x, y=torch.tensor(target), class_names=names)
