"""One local Ray instance for the whole test session (2 CPUs, no dashboard), started by the first
test that needs it; the ray executor joins it instead of starting its own."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_instance():
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
