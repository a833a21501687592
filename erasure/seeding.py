"""Seeded random streams: one per component, derived from ``globals.seed`` and a name.

Each component draws from its own stream, so adding, removing or reordering an unlearner never
changes another's numbers (ARCHITECTURE.md, rule 3).
"""
from __future__ import annotations

import contextlib
import hashlib
import random
from typing import Iterator

import numpy as np
import torch


def derive_seed(seed: int, *names: object) -> int:
    """A 63-bit seed that depends only on ``seed`` and ``names`` (stable across runs and hosts)."""
    text = "/".join([str(seed), *map(str, names)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def generator(seed: int, *names: object) -> torch.Generator:
    """A CPU ``torch.Generator`` for the named stream (batch order, splits, sampling)."""
    return torch.Generator().manual_seed(derive_seed(seed, *names))


@contextlib.contextmanager
def seeded(seed: int, *names: object) -> Iterator[None]:
    """Runs a block with torch's, numpy's and Python's global RNGs set to the named stream, and
    restores them afterwards (weight initialisation and dropout draw from the global RNG)."""
    with seeded_value(derive_seed(seed, *names)):
        yield


@contextlib.contextmanager
def seeded_value(value: int) -> Iterator[None]:
    """Like :func:`seeded`, with ``value`` itself as the seed of the three global RNGs (for a
    seed a user gives, such as a data source's)."""
    py_state, np_state = random.getstate(), np.random.get_state()
    # every GPU's stream, not only the current one: a run on cuda:1 draws from that GPU's
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(value)
        random.seed(value)
        np.random.seed(value % 2**32)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
