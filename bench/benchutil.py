"""What the benchmarks share: the import path, the machine line, medians, tables, peak RSS."""
from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine(device: str = "cpu") -> str:
    """One line: CPUs, load, torch version, threads, device."""
    import torch

    try:
        load = "load %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        load = "load n/a"
    gpu = ""
    if device.startswith("cuda") and torch.cuda.is_available():
        gpu = f", {torch.cuda.get_device_name(0)}"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {load}; "
            f"python {platform.python_version()}, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch threads; device {device}{gpu}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object], sync: Callable[[], None] = lambda: None) -> float:
    """Seconds ``fn()`` takes (``sync`` waits for queued device work before each clock read)."""
    sync()
    tick = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - tick


def peak_rss_mb() -> float:
    """This process's lifetime peak resident memory (ru_maxrss: KiB on Linux, bytes on macOS)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
