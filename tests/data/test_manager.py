"""DatasetManager and Data: samples held once, sorted index partitions, complete batches,
standardisation from one partition only."""
from __future__ import annotations

import pytest
import torch

from erasure.data import (ClassSplit, Data, DatasetManager, IdsSplit, PercentageSplit, Samples,
                          SklearnDataSource, StratifiedSplit)
from erasure.seeding import generator

N_DIGITS = 1797


def digits_manager(shape: str = "flat", standardize=None, name: str = "digits") -> DatasetManager:
    return DatasetManager(
        DataSource=SklearnDataSource(name=name, shape=shape),
        partitions=[StratifiedSplit(parts_names=["train", "test"], percentage=0.8),
                    PercentageSplit(parts_names=["forget", "retain"], percentage=0.1,
                                    ref_data="train")],
        standardize=standardize)


@pytest.fixture(scope="module")
def data() -> Data:
    return digits_manager().load(0, "cpu")


@pytest.fixture(scope="module")
def id_data(data) -> Data:
    """The digits partitions over samples whose single feature is their own id."""
    samples = Samples(x=torch.arange(N_DIGITS, dtype=torch.float32).unsqueeze(1), y=data.y.clone())
    return Data(samples, dict(data.partitions), torch.device("cpu"))


def ids_of(batches) -> list[torch.Tensor]:
    return [x[:, 0].long() for x, _ in batches]


def test_partitions_are_sorted_unique_index_tensors(data):
    assert data.sizes() == {"all": N_DIGITS, "train": 1438, "test": 359, "forget": 144,
                            "retain": 1294}
    for name, index in data.partitions.items():
        assert index.dtype == torch.int64 and index.ndim == 1, name
        assert torch.equal(index, torch.unique(index)), name  # sorted and without repeats
        assert int(index.min()) >= 0 and int(index.max()) < N_DIGITS
    assert data["train"] is data.partitions["train"]


def test_tensors_gathers_a_partition(data):
    x, y = data.tensors("forget")
    assert x.shape == (144, 64) and y.shape == (144,)
    assert torch.equal(x, data.x[data["forget"]])
    assert torch.equal(y, data.y[data["forget"]])


def test_batches_yield_every_sample_once_and_keep_the_last_small_batch(data, id_data):
    batches = list(data.batches("train", 64, shuffle=True, generator=generator(0, "b")))
    assert len(batches) == 23
    assert [len(y) for _, y in batches] == [64] * 22 + [30]
    assert all(x.shape[1:] == (64,) for x, _ in batches)

    seen = torch.cat(ids_of(id_data.batches("train", 64, shuffle=True, generator=generator(0, "b"))))
    assert len(seen) == 1438
    assert torch.equal(torch.sort(seen).values, data["train"])
    assert not torch.equal(seen, data["train"])  # shuffled


def test_batches_labels_match_their_samples(data, id_data):
    for (x, y), (ids, _) in zip(data.batches("test", 50, shuffle=True, generator=generator(1)),
                                id_data.batches("test", 50, shuffle=True, generator=generator(1))):
        ids = ids[:, 0].long()
        assert torch.equal(x, data.x[ids])
        assert torch.equal(y, data.y[ids])


def test_unshuffled_batches_follow_the_partition_order(data, id_data):
    seen = torch.cat(ids_of(id_data.batches("test", 100)))
    assert torch.equal(seen, data["test"])
    assert [len(y) for _, y in data.batches("test", 100)] == [100, 100, 100, 59]


def test_default_batch_size_is_the_managers(data):
    assert data.eval_batch_size == 256
    assert [len(y) for _, y in data.batches("train")] == [256] * 5 + [158]


def test_shuffled_order_reproducible_from_the_generator_and_different_across(id_data):
    def order(g):
        return torch.cat(ids_of(id_data.batches("train", 64, shuffle=True, generator=g)))

    assert torch.equal(order(generator(0, "batches")), order(generator(0, "batches")))
    assert not torch.equal(order(generator(0, "batches")), order(generator(1, "batches")))
    g = generator(0, "batches")
    first, second = order(g), order(g)  # successive epochs from one stream differ
    assert not torch.equal(first, second)
    assert torch.equal(torch.sort(first).values, torch.sort(second).values)


def test_index_batches_of_an_explicit_index(id_data):
    index = torch.tensor([7, 3, 1000, 5, 2])
    assert [b.tolist() for b in ids_of(id_data.index_batches(index, 2))] == [[7, 3], [1000, 5], [2]]


def test_data_holds_x_once(data):
    pointer = data.x.data_ptr()
    for name in data.partitions:
        data.tensors(name)
        for _ in data.batches(name, 64, shuffle=True, generator=generator(0)):
            pass
    assert data.x.data_ptr() == pointer
    assert data.x.shape == (N_DIGITS, 64)
    # partitions are indices, not copies of the samples
    assert all(not index.is_floating_point() for index in data.partitions.values())


def test_data_on_cpu_shares_the_samples_memory():
    samples = Samples(x=torch.rand(10, 3), y=torch.arange(10) % 2)
    data = Data(samples, {"all": torch.arange(10)}, torch.device("cpu"))
    assert data.x.data_ptr() == samples.x.data_ptr()
    assert data.y.data_ptr() == samples.y.data_ptr()


def test_num_classes_and_input_shape_flat_and_image(data):
    assert data.num_classes == 10 and data.input_shape == (64,)
    image = digits_manager(shape="image").load(0, "cpu")
    assert image.num_classes == 10 and image.input_shape == (1, 8, 8)
    assert image.x.shape == (N_DIGITS, 1, 8, 8)
    assert torch.equal(image["train"], data["train"])  # the shape does not change the split
    assert torch.equal(image.x.reshape(N_DIGITS, 64), data.x)
    assert image.class_names == [str(i) for i in range(10)]


def test_num_classes_counts_class_names_even_when_a_class_is_absent():
    samples = Samples(x=torch.zeros(4, 2), y=torch.tensor([0, 1, 1, 0]), class_names=["a", "b", "c"])
    assert Data(samples, {"all": torch.arange(4)}, torch.device("cpu")).num_classes == 3
    unnamed = Samples(x=torch.zeros(4, 2), y=torch.tensor([0, 4, 1, 0]))
    assert Data(unnamed, {"all": torch.arange(4)}, torch.device("cpu")).num_classes == 5


def test_standardize_with_train_statistics_only():
    raw = digits_manager(name="wine").load(0, "cpu")
    data = digits_manager(name="wine", standardize="train").load(0, "cpu")
    assert torch.equal(raw["train"], data["train"])
    train, test = data.tensors("train")[0], data.tensors("test")[0]
    assert train.shape == (142, 13)
    assert train.mean(0).abs().max() < 1e-4
    assert (train.std(0) - 1).abs().max() < 1e-4
    # the statistics come from train alone: test is not centred or scaled by itself
    assert test.mean(0).abs().max() > 0.05
    raw_train = raw.tensors("train")[0]
    expected = (raw.tensors("test")[0] - raw_train.mean(0)) / raw_train.std(0)
    assert torch.allclose(test, expected, atol=1e-4)
    # raw wine is far from standard (proline is in the hundreds)
    assert raw_train.mean(0).max() > 100


def test_standardize_digits_non_constant_pixels():
    data = digits_manager(standardize="train").load(0, "cpu")
    raw = SklearnDataSource(name="digits").load().x[data["train"]]
    varying = raw.std(0) > 0
    assert int(varying.sum()) == 61  # pixels 0, 32 and 39 are always blank
    train = data.tensors("train")[0]
    assert train.mean(0).abs().max() < 1e-4
    assert (train.std(0)[varying] - 1).abs().max() < 1e-4
    assert torch.all(train[:, ~varying] == 0)


def test_standardize_a_feature_constant_on_the_reference_stays_finite():
    # pixel 56 is non-zero in one digit only (sample 502); with it outside train, the pixel is
    # constant on train and must not be divided by ~0 on the other samples
    x = SklearnDataSource(name="digits").load().x
    assert torch.nonzero(x[:, 56]).flatten().tolist() == [502]
    manager = DatasetManager(DataSource=SklearnDataSource(name="digits"),
                             partitions=[IdsSplit(parts_names=["test", "train"], ids=[502])],
                             standardize="train")
    data = manager.load(0, "cpu")
    assert data.x.isfinite().all()
    assert data.x[502, 56].item() == pytest.approx(x[502, 56].item())  # centred on 0, scale 1
    assert data.x.abs().max() < 100


def test_standardize_does_not_change_the_partitions():
    a = digits_manager().load(5, "cpu")
    b = digits_manager(standardize="train").load(5, "cpu")
    assert all(torch.equal(a[n], b[n]) for n in a.partitions)


def test_manager_rejects_a_batch_size_below_one():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        DatasetManager(DataSource=SklearnDataSource(), batch_size=0)


def test_manager_without_splitters_has_only_all():
    data = DatasetManager(DataSource=SklearnDataSource(name="iris")).load(0, "cpu")
    assert data.sizes() == {"all": 150}
    assert torch.equal(data["all"], torch.arange(150))


def test_class_split_partitions_on_image_data():
    manager = DatasetManager(DataSource=SklearnDataSource(name="digits", shape="image"),
                             partitions=[ClassSplit(parts_names=["forget", "retain"], classes=[0])])
    data = manager.load(0, "cpu")
    assert data.sizes()["forget"] == 178
    assert torch.all(data.y[data["forget"]] == 0)
    assert not torch.any(data.y[data["retain"]] == 0)
