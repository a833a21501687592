"""The loss-threshold attack (Yeom et al. 2018) as ROC AUC: forget-set losses (members) against
an equal-size sample of test losses (non-members), score = −loss; 0.5 = indistinguishable."""
import pytest
import torch

import erasure.measures.loss_attack as loss_module  # registers LossAttack for configs
from erasure.config import ConfigError
from erasure.measures.loss_attack import LossAttack
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import Logits
from tests.unlearners import fixtures as fx

KEY = "loss_auc.forget.unlearned"


def loss_data(member_margins, other_margins):
    """Two-class samples whose loss is softplus(−margin) (label 0, logits [m, 0]): a larger
    margin is a lower loss."""
    margins = torch.cat([torch.as_tensor(member_margins, dtype=torch.float32),
                         torch.as_tensor(other_margins, dtype=torch.float32)])
    x = torch.stack([margins, torch.zeros_like(margins)], 1)
    members = list(range(len(member_margins)))
    others = list(range(len(member_margins), len(margins)))
    return fx.tiny_data(x, torch.zeros(len(margins), dtype=torch.long),
                        {"forget": members, "test": others})


def auc(data, seed=0, **params):
    ctx = fx.measure_context(data, {"unlearned": Logits()}, seed=seed)
    return LossAttack(target="unlearned", **params).measure(ctx)[KEY]


def normal(n, seed, mean=0.0):
    return mean + torch.randn(n, generator=torch.Generator().manual_seed(seed))


def test_identical_loss_distributions_score_one_half():
    assert auc(loss_data(normal(300, 1), normal(300, 2))) == pytest.approx(0.5, abs=0.1)
    # the very same losses: every pair ties, exactly 1/2
    assert auc(loss_data(torch.ones(40), torch.ones(40))) == 0.5


def test_separated_losses_score_exactly_one_and_reversed_zero():
    low, high = normal(100, 1, mean=8.0), normal(100, 2, mean=-5.0)
    assert auc(loss_data(low, high)) == 1.0  # every member's loss is below every test loss
    assert auc(loss_data(high, low)) == 0.0


def test_auc_is_the_share_of_pairs_a_member_wins():
    # members' margins 3, 1, 0.5 against 1, 0, -1: the member wins 3 + 2.5 (a tie) + 2 of 9 pairs
    assert auc(loss_data([3.0, 1.0, 0.5], [1.0, 0.0, -1.0])) == pytest.approx(7.5 / 9, abs=1e-12)


@pytest.mark.parametrize("members, others", [(30, 300), (300, 30)])
def test_members_and_non_members_are_balanced(monkeypatch, members, others):
    seen = []

    def spy(labels, scores, **kwargs):
        seen.append((labels.copy(), scores.copy()))
        return real(labels, scores, **kwargs)

    real = loss_module.roc_auc
    monkeypatch.setattr(loss_module, "roc_auc", spy)
    auc(loss_data(normal(members, 1), normal(others, 2)))
    labels, scores = seen[0]
    assert (labels == 1).sum() == (labels == 0).sum() == 30
    if members == 30:  # every forget sample, each once
        data = loss_data(normal(members, 1), normal(others, 2))
        losses = fx.measure_context(data, {"u": Logits()}).output("u", "forget").losses.double()
        assert sorted(-scores[labels == 1]) == pytest.approx(sorted(losses.tolist()))


def test_one_draw_serves_both_targets_and_the_seed_drives_it():
    data = loss_data(normal(50, 1, 0.3), normal(200, 2))
    ctx = fx.measure_context(data, {"unlearned": Logits(), "original": Logits()}, seed=3)
    both = LossAttack().measure(ctx)
    assert both["loss_auc.forget.original"] == both[KEY] == auc(data, seed=3)
    assert len({auc(data, seed=s) for s in range(5)}) > 1


def test_an_empty_forget_set_is_an_error():
    with pytest.raises(ValueError, match="needs samples"):
        auc(loss_data([], [1.0, 2.0]))


def test_an_unknown_partition_is_a_config_error():
    config = digits_config("random", measures=[{"class": "LossAttack", "parameters": {"reference": "tset"}}])
    with pytest.raises(ConfigError, match="unknown partition 'tset'"):
        prepare(config)


def test_random_forgetting_gold_model_is_at_chance():
    session = fx.session("random", [{"class": "Identity"}], [{"class": "LossAttack"}])
    gold = session.unlearn(1)["metrics"]
    identity = session.unlearn(0)["metrics"]
    # measured: gold 0.499; the original generalises well on digits, so only slightly above
    # (0.521)
    assert gold[KEY] == pytest.approx(0.5, abs=0.1)
    assert identity[KEY] == identity["loss_auc.forget.original"] == gold["loss_auc.forget.original"]
    print(f"\nloss AUC, digits random 10%: original {gold['loss_auc.forget.original']:.4f}, "
          f"gold {gold[KEY]:.4f}")


def test_class_forgetting_gold_model_has_high_forget_losses():
    """Against the whole test set, the gold model's forgotten class has higher losses than unseen
    images of the classes it knows: AUC far below 1/2 (measured 0.061); the original's forget
    losses are as low as test losses (measured 0.473)."""
    gold = fx.session("class", [], [{"class": "LossAttack"}]).unlearn(0)["metrics"]
    assert gold[KEY] <= 0.2
    assert gold["loss_auc.forget.original"] == pytest.approx(0.5, abs=0.1)
