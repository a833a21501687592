"""Memory: peak memory added by the unlearner alone."""

import torch

from erasure.measures.memory import Memory  # noqa: F401  (registers the short name)
from erasure.profiling import peak_memory
from erasure.unlearners import Unlearner
from tests.unlearners import fixtures as fx

MEASURES = [{"class": "Memory"}]


class Hog(Unlearner):
    """Holds ``megabytes`` of memory for a moment, then returns the model unchanged."""

    megabytes: int = 200

    def unlearn(self, model, ctx):
        block = torch.ones(self.megabytes * 2**20 // 4)
        block += 1  # touch every page
        del block
        return model


def test_peak_memory_sees_a_temporary_allocation_and_not_a_small_one():
    with peak_memory(torch.device("cpu")) as big:
        block = torch.ones(100 * 2**20 // 4)
        del block
    with peak_memory(torch.device("cpu")) as small:
        torch.ones(1000)
    assert 90 <= big["rss_peak_mb"] <= 130
    assert small["rss_peak_mb"] < 10
    assert "cuda_peak_mb" not in big


def test_memory_of_a_hungry_unlearner_is_measured_around_it_alone():
    session = fx.session("random", [{"class": "tests.measures.test_memory.Hog"}, {"class": "Identity"}],
                        measures=MEASURES)
    hog, identity = session.unlearn(0), session.unlearn(1)
    assert 190 <= hog["metrics"]["memory.unlearn.rss_peak_mb"] <= 260
    assert identity["metrics"]["memory.unlearn.rss_peak_mb"] < 20
    assert set(hog["metrics"]) == {"memory.unlearn.rss_peak_mb"}
