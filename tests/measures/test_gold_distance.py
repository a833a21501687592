"""Distances to the gold model: JS and KL of output distributions (bits), L2 between weights."""
import math

import pytest
import torch
from torch import nn

from erasure.config import ConfigError
from erasure.measures import NotApplicable
from erasure.measures.gold_distance import (
    OutputDivergence,
    WeightDistance,
    js_divergence,
    kl_divergence,
)
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import Logits, context
from tests.unlearners import fixtures as fx

INF = float("inf")


def logs(*rows):
    """Log-probabilities of rows of probabilities (0 → −inf)."""
    return torch.tensor(rows, dtype=torch.float64).log()


def test_js_of_identical_distributions_is_exactly_zero():
    log_p = torch.randn(50, 7, generator=torch.Generator().manual_seed(0)).mul(20).log_softmax(1)
    assert torch.equal(js_divergence(log_p, log_p), torch.zeros(50, dtype=log_p.dtype))
    assert torch.equal(kl_divergence(log_p, log_p), torch.zeros(50, dtype=log_p.dtype))


def test_js_of_disjoint_one_hots_is_the_maximum_one_bit():
    p, q = logs([1, 0, 0], [0, 0.5, 0.5]), logs([0, 1, 0], [1, 0, 0])
    assert js_divergence(p, q).tolist() == pytest.approx([1.0, 1.0], abs=1e-12)
    # as logits: a huge margin gives the same (no overflow, no nan)
    big = torch.tensor([[1e4, 0.0], [0.0, 1e4]]).log_softmax(1)
    assert js_divergence(big[:1], big[1:]).item() == pytest.approx(1.0, abs=1e-6)


def test_js_and_kl_by_hand():
    # P = (1, 0), Q = (1/2, 1/2): M = (3/4, 1/4)
    # KL(P‖M) = log2(4/3); KL(Q‖M) = ½ log2(2/3) + ½ log2(2); JS = the mean of the two
    js = 0.5 * (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5)
    assert js_divergence(logs([1, 0]), logs([0.5, 0.5])).item() == pytest.approx(js, abs=1e-12)
    assert js == pytest.approx(0.311278, abs=1e-6)
    # KL((1/2, 1/2) ‖ (1/4, 3/4)) = ½ log2(2) + ½ log2(2/3)
    kl = 0.5 + 0.5 * math.log2(2 / 3)
    assert kl_divergence(logs([0.5, 0.5]), logs([0.25, 0.75])).item() == pytest.approx(kl, abs=1e-12)
    # KL is not symmetric; JS is
    assert kl_divergence(logs([0.25, 0.75]), logs([0.5, 0.5])).item() != pytest.approx(kl)
    a, b = logs([0.2, 0.3, 0.5]), logs([0.6, 0.1, 0.3])
    assert js_divergence(a, b).item() == pytest.approx(js_divergence(b, a).item(), abs=1e-15)
    # a class the gold model gives mass and the target none: KL is infinite, JS still ≤ 1
    assert kl_divergence(logs([0.5, 0.5]), logs([1, 0])).item() == INF


def test_js_matches_the_textbook_formula_on_random_distributions():
    g = torch.Generator().manual_seed(1)
    log_p = (torch.randn(200, 10, generator=g) * 5).log_softmax(1).double()
    log_q = (torch.randn(200, 10, generator=g) * 5).log_softmax(1).double()
    p, q = log_p.exp(), log_q.exp()
    m = (p + q) / 2
    textbook = 0.5 * (p * (p / m).log2()).sum(1) + 0.5 * (q * (q / m).log2()).sum(1)
    assert torch.allclose(js_divergence(log_p, log_q), textbook, atol=1e-12)
    assert torch.allclose(kl_divergence(log_p, log_q), (p * (p / q).log2()).sum(1), atol=1e-12)


def test_output_divergence_is_the_mean_over_the_partition():
    # samples are logits; the gold model and the targets read them differently
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [5.0, -5.0]])
    y = torch.tensor([0, 1, 0])
    data = fx.tiny_data(x, y, {"forget": [0, 1], "retain": [2], "test": [2]})

    class Fixed(nn.Module):
        """Log-probabilities (log ¼, log ¾) for every sample."""

        def forward(self, x):
            return torch.tensor([0.25, 0.75]).log().expand(len(x), 2)

    ctx = context(data, {"original": Logits(), "unlearned": Fixed()}, gold=Logits())
    got = OutputDivergence().measure(ctx)
    # gold on the forget set: (½, ½) for both samples
    kl = 0.5 + 0.5 * math.log2(2 / 3)  # KL((½, ½) ‖ (¼, ¾))
    p, q = torch.tensor([[0.5, 0.5]]).log(), torch.tensor([[0.25, 0.75]]).log()
    assert got["kl_to_gold.forget.unlearned"] == pytest.approx(kl, abs=1e-6)
    assert got["js_to_gold.forget.unlearned"] == pytest.approx(js_divergence(p, q).item(), abs=1e-6)
    assert got["kl_to_gold.forget.original"] == 0.0
    assert got["js_to_gold.forget.original"] == 0.0
    only_js = OutputDivergence(divergence="js", target="unlearned", partition="retain").measure(ctx)
    assert list(only_js) == ["js_to_gold.retain.unlearned"]


def linear(weight, bias):
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


def test_l2_weight_distance_by_hand():
    data = fx.tiny_data(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]),
                        {"forget": [0], "retain": [1, 2, 3]})
    gold = linear([[1.0, 2.0], [3.0, 4.0]], [0.0, 0.0])
    same = linear([[1.0, 2.0], [3.0, 4.0]], [0.0, 0.0])
    moved = linear([[4.0, 2.0], [3.0, 4.0]], [0.0, 4.0])  # differences 3 and 4: distance 5
    ctx = context(data, {"original": same, "unlearned": moved}, gold=gold)
    assert WeightDistance().measure(ctx) == {"l2_to_gold.retain.original": 0.0,
                                             "l2_to_gold.retain.unlearned": 5.0}


def test_l2_between_different_architectures_is_not_applicable():
    data = fx.tiny_data(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]),
                        {"forget": [0], "retain": [1, 2, 3]})
    gold = linear([[1.0, 2.0], [3.0, 4.0]], [0.0, 0.0])
    wider = nn.Linear(2, 3)
    ctx = context(data, {"unlearned": wider}, gold=gold)
    with pytest.raises(NotApplicable, match=r"parameter 'weight' has shape \(3, 2\), the gold model's \(2, 2\)"):
        WeightDistance(target="unlearned").measure(ctx)
    ctx = context(data, {"unlearned": nn.Sequential(gold)}, gold=gold)
    with pytest.raises(NotApplicable, match="no parameter 'weight'"):
        WeightDistance(target="unlearned").measure(ctx)
    ctx = context(data, {"unlearned": gold})
    with pytest.raises(NotApplicable, match="no gold model"):
        WeightDistance(target="unlearned").measure(ctx)


def test_bad_parameters_are_config_errors():
    def measures(*nodes):
        return digits_config("random", [{"class": "Identity"}], list(nodes))

    with pytest.raises(ConfigError, match="divergence: expected one of 'kl', 'js'"):
        prepare(measures({"class": "OutputDivergence", "parameters": {"divergence": ["kl", "jsd"]}}))
    with pytest.raises(ConfigError, match="Did you mean 'js'"):
        prepare(measures({"class": "OutputDivergence", "parameters": {"divergence": "jsd"}}))
    with pytest.raises(ConfigError, match="unknown partition 'retained'"):
        prepare(measures({"class": "WeightDistance", "parameters": {"retain": "retained"}}))
    plan = prepare(measures({"class": "OutputDivergence", "parameters": {"retain": "train"}},
                            {"class": "WeightDistance"}))
    assert plan.gold_partitions == ["retain", "train"]


def test_distances_on_digits_random_forgetting():
    """Scenario B: the gold model is at distance exactly 0 from itself; the original is close in
    outputs on the forget set (it generalises) but far in weights (another initialisation)."""
    session = fx.session("random", [{"class": "Identity"}],
                         [{"class": "OutputDivergence"}, {"class": "WeightDistance"}])
    identity = session.unlearn(0)["metrics"]
    gold = session.unlearn(1)["metrics"]
    for key in ("kl_to_gold.forget.unlearned", "js_to_gold.forget.unlearned",
                "l2_to_gold.retain.unlearned"):
        assert gold[key] == 0.0
        assert identity[key] > 0.0
    # measured: JS 0.013 bits, KL 0.059 bits, L2 27.2
    assert identity["js_to_gold.forget.unlearned"] < 0.1
    assert identity["l2_to_gold.retain.unlearned"] > 1.0
    assert identity["js_to_gold.forget.unlearned"] == gold["js_to_gold.forget.original"]
