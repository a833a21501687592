import os
import random
import sys
import tempfile
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# tiny networks run fastest on one thread; more only adds synchronisation on 2 cores.
# ERASURE_TEST_THREADS runs the suite at another count (bench/suite_stability.py uses 1 and 2).
THREADS = int(os.environ.get("ERASURE_TEST_THREADS", "1"))
torch.set_num_threads(THREADS)

# trained models are cached in a folder of this test session, never in the user's home
os.environ["ERASURE_CACHE_DIR"] = tempfile.mkdtemp(prefix="erasure-test-cache-")


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory) -> str:
    """The tracking URI of this test session's one MLflow store (SQLite, MLflow's default kind;
    creating one costs seconds): tests set ``MLFLOW_TRACKING_URI`` to it and name their own
    experiments."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(autouse=True)
def _torch_threads():
    """A test that runs a config with ``globals.threads`` leaves the count as it found it."""
    yield
    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)


def pytest_addoption(parser):
    parser.addoption("--shuffle", action="store_true",
                     help="run the test modules in a random order, and the tests inside each "
                          "module (class) in a random order")
    parser.addoption("--shuffle-seed", type=int, default=None, metavar="SEED",
                     help="shuffle in the order this seed gives (repeats a shuffled run)")


def _shuffle_seed(config) -> int | None:
    seed = config.getoption("--shuffle-seed")
    if seed is None and not config.getoption("--shuffle"):
        return None
    if not hasattr(config, "_shuffle_seed"):
        config._shuffle_seed = random.randrange(10**6) if seed is None else seed
    return config._shuffle_seed


def pytest_report_header(config):
    seed = _shuffle_seed(config)
    order = "file order" if seed is None else f"shuffled (--shuffle-seed {seed} repeats it)"
    return f"erasure tests: torch threads {THREADS}; order: {order}"


@pytest.hookimpl(tryfirst=True)  # before pytest groups the tests of parametrized fixtures
def pytest_collection_modifyitems(session, config, items):
    """With ``--shuffle`` (or ``--shuffle-seed``): modules in a random order, then classes, then tests — grouped, so a
    module-scoped fixture is still built once."""
    seed = _shuffle_seed(config)
    if seed is None:
        return
    rng = random.Random(seed)
    groups: dict = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        owner = item.cls.__qualname__ if item.cls is not None else ""
        groups.setdefault(module, {}).setdefault(owner, []).append(item)
    modules = list(groups.values())
    rng.shuffle(modules)
    items[:] = []
    for owners in modules:
        blocks = list(owners.values())
        rng.shuffle(blocks)
        for block in blocks:
            rng.shuffle(block)
            items.extend(block)


def pytest_terminal_summary(terminalreporter, config):
    """The order's seed, also under ``-q`` (which hides the header), before the closing line."""
    seed = _shuffle_seed(config)
    if seed is not None:
        terminalreporter.write_line(f"erasure tests: shuffled order, --shuffle-seed {seed} "
                                    "repeats it")


@pytest.fixture(scope="session")
def ray_instance():
    """One local Ray instance for the whole test session, started by the first test that needs
    it (2 CPUs, no dashboard, this process's working directory): the ray executor joins it instead
    of starting its own (the guide's ``--executor ray`` command too, so that a machine with many
    visible cores never gets an instance sized to them), and leaves it running when a run stops
    early."""
    ray = pytest.importorskip("ray")
    from erasure.execution import cluster

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    cluster._connected_here = False  # this instance is the tests', as a notebook's is its own
    yield ray
    ray.shutdown()


@pytest.fixture
def no_network(monkeypatch):
    """Any internet connection or name lookup fails (and is recorded): the list of attempts."""
    import socket

    attempts = []
    connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network use in a test")
        return connect(self, address)

    def guarded_lookup(host, *args, **kwargs):
        attempts.append(host)
        raise socket.gaierror("network use in a test")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    return attempts


@pytest.fixture(scope="module")
def hub_offline():
    """The Hugging Face libraries in offline mode for a module's tests (their flags set, not
    only the environment, which they read once at import)."""
    pytest.importorskip("huggingface_hub")
    from erasure.pretrained import hub_offline as offline

    with offline():
        yield
