"""ZRF (Chundawat et al., AAAI 2023): 1 − mean JS (bits) between the target's and a random
network's outputs on the forget set; the random network is built once per experiment."""
import math
from collections import Counter
from dataclasses import replace

import pytest
import torch
from torch import nn

import erasure.measures.zrf  # noqa: F401  (registers ZRF)
from erasure.config import ConfigError
from erasure.measures import MeasureContext, Memos, NotApplicable, OutputStore
from erasure.measures.zrf import RANDOM_NETWORK, ZRF
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import Logits, context
from tests.unlearners import fixtures as fx


class Uniform(nn.Module):
    """Equal logits for every class: the uniform distribution."""

    def forward(self, x):
        return torch.zeros_like(x)


class FakePredictor:
    """``new_model`` hands out ``network`` (a stand-in for a randomly initialised network)."""

    def __init__(self, network):
        self.network, self.built = network, 0

    def new_model(self, data):
        self.built += 1
        return self.network


def caching(counts: Counter):
    """An experiment store that builds each key once, as the session's does, and counts the
    builds."""
    store = {}

    def shared(key, build):
        if key not in store:
            counts[key] += 1
            store[key] = build()
        return store[key]
    return shared


def hand_context(models, random_network, counts=None):
    # 4 classes; samples are logits: two confident one-hots and one uniform
    x = torch.tensor([[1e4, 0, 0, 0], [0, 1e4, 0, 0], [0, 0, 0, 0.0]])
    data = fx.tiny_data(x, torch.tensor([0, 1, 2]), {"forget": [0, 1, 2], "retain": [0]})
    memos = Memos(experiment=caching(counts)) if counts is not None else Memos()
    return replace(context(data, models), predictor=FakePredictor(random_network), memos=memos)


def test_zrf_of_the_random_network_against_itself_is_one():
    network = Logits()
    ctx = hand_context({"original": Uniform(), "unlearned": network}, network)
    assert ZRF(target="unlearned").measure(ctx) == {"zrf.forget.unlearned": 1.0}


def test_zrf_by_hand_against_a_uniform_random_network():
    # one-hot vs uniform over 4 classes: M = (5/8, 1/8, 1/8, 1/8)
    # JS = ½ log2(8/5) + ½ (¼ log2(2/5) + ¾ log2(2)); the uniform sample has JS 0
    js = 0.5 * math.log2(8 / 5) + 0.5 * (0.25 * math.log2(2 / 5) + 0.75)
    ctx = hand_context({"original": Uniform(), "unlearned": Logits()}, Uniform())
    got = ZRF().measure(ctx)
    assert got["zrf.forget.unlearned"] == pytest.approx(1 - (js + js + 0) / 3, abs=1e-6)
    assert got["zrf.forget.original"] == 1.0  # the original here answers uniformly too


def test_the_random_network_and_its_outputs_are_built_once_per_experiment():
    counts = Counter()
    network = Uniform()
    ctx = hand_context({"original": Logits(), "unlearned": Logits()}, network, counts)
    for _ in range(3):  # three records
        ZRF().measure(ctx)
        ZRF(partition="retain", target="unlearned").measure(ctx)
    assert ctx.predictor.built == 1
    assert counts == {RANDOM_NETWORK: 1, f"{RANDOM_NETWORK}/outputs/forget": 1,
                      f"{RANDOM_NETWORK}/outputs/retain": 1}


def test_zrf_without_a_predictor_is_not_applicable():
    ctx = replace(hand_context({"unlearned": Logits()}, Uniform()), predictor=None)
    with pytest.raises(NotApplicable, match="predictor"):
        ZRF().measure(ctx)


def test_bad_parameters_are_config_errors():
    with pytest.raises(ConfigError, match="unknown partition 'forgt'"):
        prepare(digits_config("class", [{"class": "Identity"}],
                              [{"class": "ZRF", "parameters": {"partition": "forgt"}}]))
    with pytest.raises(ConfigError, match="Invalid parameter 'network'"):
        prepare(digits_config("class", [{"class": "Identity"}],
                              [{"class": "ZRF", "parameters": {"network": "MLP"}}]))
    assert prepare(digits_config("class", [{"class": "Identity"}], [{"class": "ZRF"}])).gold_partitions == []


def test_zrf_on_digits_builds_the_random_network_once():
    """Scenario A, three records and two ZRF measures: one random network, one forward pass of it
    per partition. A trained model is far from random on the forget set (low ZRF); the random
    network scores exactly 1 against itself."""
    session = fx.session("class", [{"class": "Identity"}],
                         [{"class": "ZRF", "parameters": {"target": "original"}},
                          {"class": "ZRF", "parameters": {"target": "unlearned"}},
                          {"class": "ZRF", "parameters": {"partition": "test"}}])
    records = [session.unlearn(i) for i in (0, 0, 1)]
    assert all(r["status"] == "finished" and not r["failed_measures"] for r in records)
    assert sorted(session.shared_builds) == [RANDOM_NETWORK, f"{RANDOM_NETWORK}/outputs/forget",
                                             f"{RANDOM_NETWORK}/outputs/test"]
    identity, gold = records[0]["metrics"], records[2]["metrics"]
    assert records[1]["metrics"] == identity  # deterministic
    # measured on digits: original 0.266, gold 0.434 (it never learnt the 3s it is shown)
    assert 0.0 < identity["zrf.forget.unlearned"] < gold["zrf.forget.unlearned"] < 1.0
    assert identity["zrf.forget.original"] == gold["zrf.forget.original"]

    network = session.shared(RANDOM_NETWORK, lambda: None)  # already built: returned as is
    ctx = MeasureContext(data=session.data, models={"unlearned": network},
                         outputs={"unlearned": OutputStore(network, session.data)},
                         predictor=session.plan.predictor, experiment_seed=session.seed,
                         memos=Memos(experiment=session.shared))
    assert ZRF(target="unlearned").measure(ctx) == {"zrf.forget.unlearned": 1.0}
    assert session.shared_builds.count(RANDOM_NETWORK) == 1
    # a random network of the predictor's architecture, untouched by training
    assert type(network) is type(session.original)
    assert not any(p.requires_grad for p in network.parameters())
