"""Peak memory around one stage of the pipeline (the unlearner), CPU and GPU."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import resource
import sys
from pathlib import Path
from typing import Iterator

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _trim_heap() -> None:
    """Gives the C heap's free memory back to the system (glibc's ``malloc_trim``; nothing
    elsewhere), so that memory freed before a block but still resident is not reused inside it
    unseen: an allocation there then raises the resident size it measures."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


def _reset_peak_rss() -> bool:
    """Resets the kernel's peak-RSS mark (Linux ≥ 4.0); False where that is not possible."""
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


@contextlib.contextmanager
def peak_memory(device: torch.device) -> Iterator[dict[str, float]]:
    """Measures the memory a block adds at its peak.

    Yields a dict filled in when the block ends:
        ``rss_peak_mb``: peak resident memory during the block minus resident memory before it
            (Linux: the kernel's peak mark, reset at the start; elsewhere the growth of the
            process's lifetime peak, a lower bound).
        ``cuda_peak_mb``: peak allocated CUDA memory during the block minus the allocation
            before it (only on a CUDA device).
    """
    result: dict[str, float] = {}
    _trim_heap()
    before = _status_kib("VmRSS")
    exact = before is not None and _reset_peak_rss()
    lifetime_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        cuda_before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
    try:
        yield result
    finally:
        if exact:
            result["rss_peak_mb"] = max(0, (_status_kib("VmHWM") or 0) - before) / 1024
        else:  # ru_maxrss is KiB on Linux, bytes on macOS
            scale = 1 if sys.platform == "darwin" else 1024
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - lifetime_before
            result["rss_peak_mb"] = max(0, grown) * scale / 2**20
        if cuda:
            torch.cuda.synchronize(device)
            result["cuda_peak_mb"] = (torch.cuda.max_memory_allocated(device) - cuda_before) / 2**20
