import pytest


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """A model cache shared by the tuning tests that do not compare two runs' training."""
    return tmp_path_factory.mktemp("tuning-cache")
