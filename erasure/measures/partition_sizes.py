"""How many samples each partition holds."""
from __future__ import annotations

from typing import Optional

from erasure.config import PartitionNames

from .base import Measure, as_list


class PartitionSizes(Measure):
    """The number of samples in each partition (``size.<partition>``).

    Args:
        partition: partition name(s); ``null`` means every partition.
    """

    name = "size"
    partition: Optional[PartitionNames] = None

    def measure(self, ctx):
        sizes = ctx.data.sizes()
        names = sizes if self.partition is None else as_list(self.partition)
        return {f"size.{name}": float(sizes[name]) for name in names}
