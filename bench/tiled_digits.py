"""A data source for bench/scale_images.py: scikit-learn's 1,797 digits at 28×28, tiled to any
number of samples, each copy after the first shifted by a deterministic pixel offset and given
a little deterministic noise, so that no two samples are identical (offline, as rule 7 asks).

Named in a config by dotted path (``tiled_digits.TiledDigits``) with ``globals.paths`` pointing
at this folder."""
from __future__ import annotations

import torch

from erasure.data.sources.base import DataSource, Samples
from erasure.data.sources.sklearn import SklearnDataSource


class TiledDigits(DataSource):
    """The 28×28 digits repeated to ``samples`` images.

    Args:
        samples: how many images (the digits' 1,797 repeated, the last copy cut short).
        size: the images' side (bilinear upscaling of the 8×8 digits, as ``SklearnDataSource``).
        noise: the standard deviation of the Gaussian noise added to every copy but the first.
    """

    samples: int = 20_000
    size: int = 28
    noise: float = 0.05

    def load(self) -> Samples:
        base = SklearnDataSource(name="digits", shape="image", size=self.size).load()
        n = base.x.shape[0]
        copies = -(-self.samples // n)
        generator = torch.Generator().manual_seed(0)
        xs, ys = [], []
        for copy in range(copies):
            x = base.x
            if copy:
                dx, dy = (copy % 5) - 2, (copy // 5) % 5 - 2  # offsets in -2..2, (0, 0) skipped
                if (dx, dy) == (0, 0):
                    dx = 1
                x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
                x = (x + self.noise * torch.randn(x.shape, generator=generator)).clamp(0, 1)
            xs.append(x)
            ys.append(base.y)
        return Samples(x=torch.cat(xs)[:self.samples], y=torch.cat(ys)[:self.samples],
                       class_names=base.class_names)
