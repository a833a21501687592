"""PartitionSizes: how many samples each partition holds."""
import torch
from sklearn.datasets import load_digits

from erasure.measures import PartitionSizes
from tests.unlearners import fixtures as fx


def test_partition_sizes_are_exact():
    data = fx.tiny_data(torch.zeros(10, 2), torch.zeros(10, dtype=torch.long),
                        {"all": list(range(10)), "forget": [1, 4, 7], "retain": [0, 2], "empty": []})
    ctx = fx.measure_context(data, {})
    assert PartitionSizes().measure(ctx) == {"size.all": 10.0, "size.forget": 3.0,
                                             "size.retain": 2.0, "size.empty": 0.0}
    assert PartitionSizes(partition="forget").measure(ctx) == {"size.forget": 3.0}
    assert PartitionSizes(partition=["retain", "all"]).measure(ctx) == {"size.retain": 2.0,
                                                                       "size.all": 10.0}


def test_partition_sizes_on_digits():
    expected_train = sum(round(0.8 * n) for n in torch.bincount(torch.tensor(load_digits().target)).tolist())
    threes = int((torch.tensor(load_digits().target) == 3).sum())
    measures = [{"class": "PartitionSizes"}]
    for forget, forget_size in (("class", round(0.8 * threes)), ("random", round(0.1 * expected_train))):
        record = fx.session(forget, [{"class": "Identity"}], measures).unlearn(0)
        sizes = record["metrics"]
        assert sizes == {"size.all": 1797.0, "size.train": float(expected_train),
                         "size.test": 1797.0 - expected_train, "size.forget": float(forget_size),
                         "size.retain": float(expected_train - forget_size)}
    assert expected_train == 1438 and threes == 183  # 146 threes forgotten, 144 random samples
