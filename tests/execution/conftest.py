"""One local Ray instance for the whole test session (2 CPUs, no dashboard; or the one a command
of the guide started in this process), started by the first test that needs it; the ray executor joins it instead of starting its own, and leaves it running
when a run stops early."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_instance():
    ray = pytest.importorskip("ray")
    from erasure.execution import cluster

    if not ray.is_initialized():  # else started by the command line in this process (the guide)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    cluster._connected_here = False  # this instance is the tests', as a notebook's is its own
    yield ray
    ray.shutdown()
