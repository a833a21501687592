"""Peak memory of the unlearner."""
from __future__ import annotations

from .base import Measure


class Memory(Measure):
    """Peak memory the unlearner added, measured around ``unlearn()`` alone (not training the
    original, not the measures): ``memory.unlearn.rss_peak_mb`` (peak resident CPU memory above
    what the process held before; on Linux from the kernel's peak mark, reset at the start) and,
    on a CUDA device, ``memory.unlearn.cuda_peak_mb`` (peak allocated GPU memory above the
    allocation before). Lower is cheaper."""

    name = "memory"
    direction = "minimize"

    def measure(self, ctx):
        return {f"memory.unlearn.{key}": value for key, value in sorted(ctx.memory.items())}
