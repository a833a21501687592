"""GroupSplit: forget every sample that shares a group attribute — by values or a value range —
and refuse, with the values that exist, a group or value that is not there."""
from __future__ import annotations

import pytest
import torch

from erasure.config import ConfigError
from erasure.data import DatasetManager, GroupSplit, Samples, StratifiedSplit
from erasure.data.sources import DataSource
from erasure.experiment import Session
from erasure.plan import prepare
from erasure.seeding import generator


def people() -> Samples:
    """12 samples; user ids 17,17,17,3,3,5,5,5,5,8,8,8; authors by name; ages as integers."""
    users = torch.tensor([17, 17, 17, 3, 3, 5, 5, 5, 5, 8, 8, 8])
    authors = torch.tensor([2, 2, 0, 1, 1, 0, 0, 2, 2, 1, 1, 1])  # codes into the names below
    return Samples(x=torch.arange(12, dtype=torch.float32).unsqueeze(1), y=torch.arange(12) % 2,
                   groups={"user": users, "author": authors},
                   group_values={"author": ["ada", "bob", "cyd"]})


def split(splitter: GroupSplit, index=None):
    samples = people()
    index = torch.arange(12) if index is None else index
    return splitter.split(index, samples, generator(0, "test"))


def gs(**kwargs) -> GroupSplit:
    return GroupSplit(parts_names=["forget", "retain"], **kwargs)


def test_one_user_is_every_sample_of_that_user():
    forget, retain = split(gs(group="user", values=[17]))
    assert forget.tolist() == [0, 1, 2]
    assert retain.tolist() == list(range(3, 12))


def test_several_users_and_text_values():
    forget, _ = split(gs(group="user", values=[3, 8]))
    assert forget.tolist() == [3, 4, 9, 10, 11]
    forget, retain = split(gs(group="author", values=["cyd"]))
    assert forget.tolist() == [0, 1, 7, 8]
    assert len(forget) + len(retain) == 12


def test_range_is_inclusive_on_both_ends():
    forget, _ = split(gs(group="user", range=[5, 8]))
    assert forget.tolist() == [5, 6, 7, 8, 9, 10, 11]


def test_only_the_partition_read_is_split():
    forget, retain = split(gs(group="user", values=[5], ref_data="train"),
                           index=torch.tensor([0, 5, 6, 9]))
    assert forget.tolist() == [5, 6] and retain.tolist() == [0, 9]


@pytest.mark.parametrize("kwargs, message", [
    ({"group": "user", "values": [99]}, "user 99 does not exist in partition 'all' (its values: 3, 5, 8, 17)"),
    ({"group": "author", "values": ["zed"]}, "author 'zed' does not exist in partition 'all' (its values: 'ada', 'bob', 'cyd')"),
    ({"group": "author", "values": [1]}, "author 1 does not exist"),
    ({"group": "usr", "values": [17]}, "the data has no group 'usr'. Did you mean 'user'?"),
    ({"group": "user", "range": [100, 200]}, "no sample of 'all' has user in [100, 200]"),
    ({"group": "user", "range": [0, 100]}, "'retain' would be empty"),
    ({"group": "author", "range": [0, 1]}, "range needs numeric values of author, but its "
                                           "values are names ('ada', 'bob', 'cyd')"),
])
def test_absent_groups_and_values_are_errors(kwargs, message):
    with pytest.raises(ValueError) as e:
        split(gs(**kwargs))
    assert message in str(e.value)


def test_a_value_outside_the_partition_read_is_an_error():
    with pytest.raises(ValueError, match="user 17 does not exist in partition 'train'"):
        split(gs(group="user", values=[17], ref_data="train"), index=torch.tensor([5, 6, 9]))


@pytest.mark.parametrize("kwargs", [{"group": "user"},
                                    {"group": "user", "values": [1], "range": [0, 1]},
                                    {"group": "user", "range": [3, 1]}])
def test_exactly_one_of_values_and_range(kwargs):
    with pytest.raises(ValueError):
        gs(**kwargs)


class PeopleSource(DataSource):
    """People as a data source (reachable by dotted path from configs in these tests)."""

    def load(self) -> Samples:
        return people()


def test_forget_one_user_is_one_config_line(tmp_path):
    config = {
        "globals": {"seed": 0, "device": "cpu"},
        "data": {"class": "DatasetManager", "parameters": {
            "DataSource": {"class": "tests.data.test_group_split.PeopleSource"},
            "partitions": [
                {"class": "GroupSplit", "parameters": {"parts_names": ["forget", "retain"],
                                                       "group": "user", "values": [17]}}]}},
        "predictor": {"class": "Predictor", "parameters": {"epochs": 1, "training_set": "all"}},
        "unlearners": [{"class": "GoldModel"}],
        "evaluator": {"class": "Evaluator", "parameters": {"measures": [
            {"class": "PartitionSizes"}]}},
    }
    session = Session(prepare(config), seed=0)
    data = session.load_data()
    assert data["forget"].tolist() == [0, 1, 2]
    assert data.groups["user"][data["retain"]].tolist() == [3, 3, 5, 5, 5, 5, 8, 8, 8]


def test_a_missing_value_is_a_config_error_at_the_splitter():
    manager = DatasetManager(DataSource=PeopleSource(), partitions=[
        StratifiedSplit(parts_names=["train", "test"], percentage=0.5),
        GroupSplit(parts_names=["forget", "retain"], group="user", values=[4], ref_data="train")])
    with pytest.raises(ConfigError) as e:
        manager.load(0)
    problem = e.value.problems[0]
    assert problem.path == "data.parameters.partitions[1]"
    assert "user 4 does not exist in partition 'train'" in problem.message
