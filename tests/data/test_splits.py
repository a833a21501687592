"""Splitters: seeded, disjoint and complete partitions of exact sizes, each from its own stream.

Driven through ``DatasetManager.load`` on scikit-learn's digits (1,797 samples, 10 classes) and
directly through ``Splitter.split`` on small hand-made samples.
"""
from __future__ import annotations

import re

import pytest
import torch

from erasure.config import ConfigError
from erasure.data import (ClassSplit, ConcatSplit, CountSplit, DatasetManager, IdsSplit,
                          PercentageSplit, Samples, SklearnDataSource, StratifiedSplit)
from erasure.plan import prepare
from erasure.seeding import generator
from tests.helpers import digits_config

N_DIGITS = 1797


def load(*splitters, seed: int = 0):
    manager = DatasetManager(DataSource=SklearnDataSource(name="digits"), partitions=list(splitters))
    return manager.load(seed, "cpu")


def train_test(**kwargs):
    return PercentageSplit(parts_names=["train", "test"], percentage=0.8, **kwargs)


@pytest.fixture(scope="module")
def digits_y() -> torch.Tensor:
    return SklearnDataSource(name="digits").load().y


@pytest.fixture()
def toy() -> Samples:
    """20 samples, labels 0,1,2,3 repeating (5 of each)."""
    return Samples(x=torch.arange(20, dtype=torch.float32).unsqueeze(1), y=torch.arange(20) % 4)


def assert_disjoint_complete(parts: list[torch.Tensor], read: torch.Tensor) -> None:
    joined = torch.cat(parts)
    assert len(joined) == len(read), "parts overlap or miss samples"
    assert torch.equal(torch.sort(joined).values, torch.sort(read).values)
    assert all(len(p) > 0 for p in parts)


# -- through the manager ------------------------------------------------------------------------

def test_percentage_split_sizes_disjoint_complete():
    data = load(train_test())
    assert data.sizes() == {"all": N_DIGITS, "train": 1438, "test": 359}
    assert_disjoint_complete([data["train"], data["test"]], data["all"])
    assert torch.equal(data["all"], torch.arange(N_DIGITS))


def test_same_seed_same_partitions_different_seed_different():
    chain = [train_test(), PercentageSplit(parts_names=["forget", "retain"], percentage=0.1,
                                           ref_data="train")]
    a, b, c = load(*chain, seed=0), load(*chain, seed=0), load(*chain, seed=1)
    for name in ("train", "test", "forget", "retain"):
        assert torch.equal(a[name], b[name]), name
        assert not torch.equal(a[name], c[name]), name
    assert a.sizes() == c.sizes() == {"all": N_DIGITS, "train": 1438, "test": 359,
                                      "forget": 144, "retain": 1294}


def test_second_level_split_is_disjoint_and_complete_within_what_it_reads():
    data = load(train_test(), PercentageSplit(parts_names=["forget", "retain"], percentage=0.1,
                                              ref_data="train"))
    assert_disjoint_complete([data["forget"], data["retain"]], data["train"])
    assert not torch.isin(data["forget"], data["test"]).any()


def test_percentage_without_shuffle_takes_dataset_order():
    data = load(train_test(shuffle=False))
    assert torch.equal(data["train"], torch.arange(1438))
    assert torch.equal(data["test"], torch.arange(1438, N_DIGITS))


def test_count_split_exact_and_in_order_without_shuffle():
    data = load(train_test(), CountSplit(parts_names=["forget", "retain"], count=100,
                                         ref_data="train", shuffle=False))
    assert data.sizes()["forget"] == 100 and data.sizes()["retain"] == 1338
    assert torch.equal(data["forget"], data["train"][:100])
    assert torch.equal(data["retain"], data["train"][100:])


def test_count_split_shuffled_is_seeded():
    chain = [CountSplit(parts_names=["a", "b"], count=100)]
    a0, a0bis, a1 = load(*chain, seed=0)["a"], load(*chain, seed=0)["a"], load(*chain, seed=1)["a"]
    assert len(a0) == 100
    assert torch.equal(a0, a0bis)
    assert not torch.equal(a0, a1)
    assert not torch.equal(a0, torch.arange(100))  # shuffled, not the first 100


def test_stratified_split_keeps_each_class_proportion(digits_y):
    data = load(StratifiedSplit(parts_names=["train", "test"], percentage=0.8))
    assert_disjoint_complete([data["train"], data["test"]], data["all"])
    assert data.sizes()["train"] == 1438
    total = torch.bincount(digits_y, minlength=10)
    in_train = torch.bincount(digits_y[data["train"]], minlength=10)
    assert torch.all((in_train - 0.8 * total).abs() < 1), (in_train, total)


def test_stratified_split_of_a_partition_keeps_its_proportions(digits_y):
    data = load(train_test(), StratifiedSplit(parts_names=["forget", "retain"], percentage=0.25,
                                              ref_data="train"))
    read = torch.bincount(digits_y[data["train"]], minlength=10)
    forget = torch.bincount(digits_y[data["forget"]], minlength=10)
    assert torch.all((forget - 0.25 * read).abs() < 1), (forget, read)
    assert_disjoint_complete([data["forget"], data["retain"]], data["train"])


def test_stratified_is_seeded():
    chain = [StratifiedSplit(parts_names=["train", "test"], percentage=0.8)]
    assert torch.equal(load(*chain, seed=3)["test"], load(*chain, seed=3)["test"])
    assert not torch.equal(load(*chain, seed=3)["test"], load(*chain, seed=4)["test"])


def test_class_split_picks_exactly_the_listed_classes(digits_y):
    data = load(ClassSplit(parts_names=["forget", "retain"], classes=[3, 7]))
    expected = torch.nonzero((digits_y == 3) | (digits_y == 7)).flatten()
    assert torch.equal(data["forget"], expected)
    assert len(expected) == 183 + 179  # digits has 183 threes and 179 sevens
    assert_disjoint_complete([data["forget"], data["retain"]], data["all"])


def test_class_split_with_a_single_int_within_a_partition(digits_y):
    data = load(train_test(), ClassSplit(parts_names=["forget", "retain"], classes=3,
                                         ref_data="train"))
    train = data["train"]
    assert torch.equal(data["forget"], train[digits_y[train] == 3])
    assert torch.equal(data["retain"], train[digits_y[train] != 3])


def test_class_split_of_an_absent_class_is_a_config_error():
    with pytest.raises(ConfigError) as e:
        load(ClassSplit(parts_names=["forget", "retain"], classes=[11]))
    (problem,) = e.value.problems
    assert re.fullmatch(r"data(\.parameters)?\.partitions\[0\]", problem.path)
    assert "no sample of class [11]" in problem.message


def test_class_split_taking_every_class_is_a_config_error():
    with pytest.raises(ConfigError, match="'retain' would be empty"):
        load(ClassSplit(parts_names=["forget", "retain"], classes=list(range(10))))


def test_ids_split_takes_exactly_the_ids():
    data = load(IdsSplit(parts_names=["forget", "retain"], ids=[5, 1, 1000, 5]))
    assert data["forget"].tolist() == [1, 5, 1000]
    assert len(data["retain"]) == N_DIGITS - 3
    assert_disjoint_complete([data["forget"], data["retain"]], data["all"])


def test_ids_outside_ref_data_raise_config_error_naming_them():
    test_ids = load(train_test())["test"][:3].tolist()
    with pytest.raises(ConfigError) as e:
        load(train_test(), IdsSplit(parts_names=["forget", "retain"], ref_data="train",
                                    ids=[*test_ids, 99999]))
    (problem,) = e.value.problems
    assert re.fullmatch(r"data(\.parameters)?\.partitions\[1\]", problem.path), problem.path
    for i in (*test_ids, 99999):
        assert str(i) in problem.message
    assert "'train'" in problem.message


@pytest.mark.parametrize("splitter", [
    CountSplit(parts_names=["a", "b"], count=N_DIGITS),
    CountSplit(parts_names=["a", "b"], count=5000),
    PercentageSplit(parts_names=["a", "b"], percentage=0.0001),  # 0.18 samples → 0
    PercentageSplit(parts_names=["a", "b"], percentage=0.9999),  # leaves 0.18 → 0
], ids=["count-all", "count-too-many", "pct-tiny", "pct-huge"])
def test_a_split_leaving_a_part_empty_is_a_config_error(splitter):
    with pytest.raises(ConfigError) as e:
        load(splitter)
    (problem,) = e.value.problems
    assert re.fullmatch(r"data(\.parameters)?\.partitions\[0\]", problem.path)
    assert "leaves a partition empty" in problem.message
    assert "1797 samples" in problem.message
    assert problem.message.endswith(("'a' would have no sample", "'b' would have no sample"))


def test_ids_taking_every_sample_leave_the_rest_empty(toy):
    with pytest.raises(ValueError, match="ids are every sample of 'all': 'retain' would be empty"):
        IdsSplit(parts_names=["forget", "retain"], ids=list(range(20))).split(
            torch.arange(20), toy, generator(0))


def test_concat_split_writes_the_union():
    data = load(train_test(),
                PercentageSplit(parts_names=["forget", "retain"], percentage=0.1, ref_data="train"),
                ConcatSplit(parts_names=["forget_and_test"], ref_data=["forget", "test"]))
    union = data["forget_and_test"]
    assert len(union) == 144 + 359
    assert torch.equal(union, torch.sort(torch.cat([data["forget"], data["test"]])).values)


def test_a_splitters_partitions_do_not_depend_on_other_splitters():
    alone = load(StratifiedSplit(parts_names=["train", "test"], percentage=0.8))
    with_others = load(
        CountSplit(parts_names=["a", "b"], count=100),  # before it, drawing from its own stream
        StratifiedSplit(parts_names=["train", "test"], percentage=0.8),
        PercentageSplit(parts_names=["forget", "retain"], percentage=0.1, ref_data="train"))
    assert torch.equal(alone["train"], with_others["train"])
    assert torch.equal(alone["test"], with_others["test"])


# -- directly ---------------------------------------------------------------------------------

def test_direct_percentage_split_seeded_by_the_generator(toy):
    splitter = PercentageSplit(parts_names=["a", "b"], percentage=0.25)
    index = torch.arange(20)
    first = splitter.split(index, toy, generator(0, "x"))
    again = splitter.split(index, toy, generator(0, "x"))
    other = splitter.split(index, toy, generator(0, "y"))
    assert [len(p) for p in first] == [5, 15]
    assert all(torch.equal(p, q) for p, q in zip(first, again))
    assert not torch.equal(torch.sort(first[0]).values, torch.sort(other[0]).values)
    assert_disjoint_complete(first, index)


def test_direct_percentage_split_without_shuffle_ignores_the_generator(toy):
    splitter = PercentageSplit(parts_names=["a", "b"], percentage=0.5, shuffle=False)
    index = torch.tensor([2, 3, 5, 7, 11, 13])
    a, b = splitter.split(index, toy, generator(0))
    assert a.tolist() == [2, 3, 5] and b.tolist() == [7, 11, 13]


def test_direct_count_split(toy):
    a, b = CountSplit(parts_names=["a", "b"], count=3, shuffle=False).split(
        torch.arange(4, 10), toy, generator(0))
    assert a.tolist() == [4, 5, 6] and b.tolist() == [7, 8, 9]
    with pytest.raises(ValueError, match="leaves a partition empty"):
        CountSplit(parts_names=["a", "b"], count=6).split(torch.arange(4, 10), toy, generator(0))


def test_direct_stratified_split(toy):
    a, b = StratifiedSplit(parts_names=["a", "b"], percentage=0.4).split(
        torch.arange(20), toy, generator(1))
    assert torch.bincount(toy.y[a], minlength=4).tolist() == [2, 2, 2, 2]
    assert torch.bincount(toy.y[b], minlength=4).tolist() == [3, 3, 3, 3]
    assert_disjoint_complete([a, b], torch.arange(20))


def test_direct_class_and_ids_split(toy):
    a, b = ClassSplit(parts_names=["a", "b"], classes=[1]).split(torch.arange(20), toy, generator(0))
    assert a.tolist() == [1, 5, 9, 13, 17]
    assert len(b) == 15
    a, b = IdsSplit(parts_names=["a", "b"], ids=[19, 0]).split(torch.arange(20), toy, generator(0))
    assert a.tolist() == [0, 19] and b.tolist() == list(range(1, 19))
    with pytest.raises(ValueError, match=r"ids \[25\] are not in partition 'all'"):
        IdsSplit(parts_names=["a", "b"], ids=[25]).split(torch.arange(20), toy, generator(0))


# -- constructor validation -------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: PercentageSplit(parts_names=["a"], percentage=0.5),
    lambda: PercentageSplit(parts_names=["a", "b", "c"], percentage=0.5),
    lambda: CountSplit(parts_names=[], count=1),
    lambda: ConcatSplit(parts_names=["a", "b"], ref_data=["x", "y"]),
], ids=["one-name", "three-names", "no-names", "concat-two-names"])
def test_wrong_number_of_parts_names(make):
    with pytest.raises(ValueError, match="parts_names must hold"):
        make()


@pytest.mark.parametrize("cls, extra", [(PercentageSplit, {"percentage": 0.5}),
                                        (CountSplit, {"count": 3}),
                                        (ClassSplit, {"classes": [1]})])
def test_equal_parts_names(cls, extra):
    with pytest.raises(ValueError, match="parts_names must differ"):
        cls(parts_names=["a", "a"], **extra)


@pytest.mark.parametrize("cls", [PercentageSplit, StratifiedSplit])
@pytest.mark.parametrize("percentage", [0.0, 1.0, -0.1, 1.5])
def test_percentage_outside_open_unit_interval(cls, percentage):
    with pytest.raises(ValueError, match=r"percentage must lie in \(0, 1\)"):
        cls(parts_names=["a", "b"], percentage=percentage)


@pytest.mark.parametrize("count", [0, -3])
def test_count_below_one(count):
    with pytest.raises(ValueError, match="count must be at least 1"):
        CountSplit(parts_names=["a", "b"], count=count)


def test_empty_ids():
    with pytest.raises(ValueError, match="ids is empty"):
        IdsSplit(parts_names=["a", "b"], ids=[])


def test_valid_constructors_keep_their_values():
    s = PercentageSplit(parts_names=["x", "y"], percentage=0.3, ref_data="train", shuffle=False)
    assert (s.parts_names, s.percentage, s.ref_data, s.shuffle) == (["x", "y"], 0.3, "train", False)
    assert s.reads() == ["train"]
    assert ConcatSplit(parts_names=["u"], ref_data=["a", "b"]).reads() == ["a", "b"]


# -- the chain, checked by name before anything is loaded -------------------------------------

def manager(*splitters) -> DatasetManager:
    return DatasetManager(DataSource=SklearnDataSource(name="digits"), partitions=list(splitters))


def test_chain_problems_none_for_a_valid_chain():
    problems, known = manager(
        train_test(),
        PercentageSplit(parts_names=["forget", "retain"], percentage=0.1, ref_data="train"),
        ConcatSplit(parts_names=["both"], ref_data=["forget", "test"]),
    ).chain_problems("data.parameters")
    assert problems == []
    assert known == {"all", "train", "test", "forget", "retain", "both"}


def test_chain_problems_reading_a_partition_not_yet_written():
    problems, _ = manager(
        PercentageSplit(parts_names=["forget", "retain"], percentage=0.1, ref_data="train"),
        train_test(),
    ).chain_problems("data.parameters")
    assert len(problems) == 1
    assert problems[0].path == "data.parameters.partitions[0].parameters.ref_data"
    assert "'train' is not written before this splitter" in problems[0].message
    assert "Written so far: all." == problems[0].hint


def test_chain_problems_writing_a_name_twice():
    problems, known = manager(
        train_test(),
        PercentageSplit(parts_names=["forget", "test"], percentage=0.1, ref_data="train"),
        CountSplit(parts_names=["all", "rest"], count=3),
    ).chain_problems("data.parameters")
    assert [(p.path, p.message) for p in problems] == [
        ("data.parameters.partitions[1].parameters.parts_names",
         "partition 'test' is already written earlier"),
        ("data.parameters.partitions[2].parameters.parts_names",
         "partition 'all' is already written earlier"),
    ]
    assert known == {"all", "train", "test", "forget", "rest"}


def test_prepare_reports_chain_problems_before_loading():
    config = digits_config()
    config["data"]["parameters"]["partitions"][1]["parameters"]["ref_data"] = "trian"
    with pytest.raises(ConfigError) as e:
        prepare(config)
    paths = [p.path for p in e.value.problems]
    assert "data.parameters.partitions[1].parameters.ref_data" in paths
