"""MIA-Efficacy (Jia et al., NeurIPS 2023; SalUn's privacy column): an SVC learns retain (members)
from test (non-members) on one prediction feature and is applied to the forget set; the value is
the fraction of the forget set it calls non-members."""
import math
from dataclasses import replace

import pytest
import torch

from erasure.config import ConfigError
from erasure.measures import Outputs
from erasure.measures.mia_efficacy import (
    MIAEfficacy,
    attack_features,
    balanced_pick,
    svc_efficacy,
)
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import Logits
from tests.unlearners import fixtures as fx

KEY = "mia_efficacy.forget.unlearned"


def normal(n, seed, mean=0.0, std=1.0):
    return mean + std * torch.randn(n, generator=torch.Generator().manual_seed(seed))


def margin_data(**parts):
    """Two-class samples of label 0 with logits [m, 0]: confidence sigmoid(m); one partition per
    keyword, holding those margins."""
    margins = torch.cat(list(parts.values()))
    x = torch.stack([margins, torch.zeros_like(margins)], 1)
    bounds, start = {}, 0
    for name, values in parts.items():
        bounds[name] = list(range(start, start + len(values)))
        start += len(values)
    return fx.tiny_data(x, torch.zeros(len(margins), dtype=torch.long), bounds)


def margin_outputs(margins):
    return Outputs(torch.stack([margins, torch.zeros_like(margins)], 1),
                   torch.zeros(len(margins), dtype=torch.long))


def efficacy(data, seed=0, **params):
    ctx = fx.measure_context(data, {"unlearned": Logits()}, seed=seed)
    (value,) = MIAEfficacy(target="unlearned", **params).measure(ctx).values()
    return value


def test_features_follow_their_definitions():
    p = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3]], dtype=torch.float64)
    outputs = Outputs(p.log(), torch.tensor([0, 0]))
    ln = math.log
    assert attack_features(outputs, "confidence")[:, 0] == pytest.approx([0.5, 0.1])
    assert attack_features(outputs, "entropy")[:, 0] == pytest.approx(
        [-(0.5 * ln(0.5) + 0.5 * ln(0.25)), -(0.1 * ln(0.1) + 0.6 * ln(0.6) + 0.3 * ln(0.3))])
    # Song & Mittal: -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i)
    assert attack_features(outputs, "modified_entropy")[:, 0] == pytest.approx(
        [-(0.5 * ln(0.5) + 2 * 0.25 * ln(0.75)),
         -(0.9 * ln(0.1) + 0.6 * ln(0.4) + 0.3 * ln(0.7))])
    # per sample, with its own label (Jia et al.'s code mixes the labels of different rows)
    swapped = Outputs(p.log(), torch.tensor([0, 1]))
    assert attack_features(swapped, "modified_entropy")[1, 0] == pytest.approx(
        -(0.4 * ln(0.6) + 0.1 * ln(0.9) + 0.3 * ln(0.7)))
    # a saturated softmax, confidently wrong: large but finite (log floored at 1e-30)
    saturated = Outputs(torch.tensor([[0.0, 200.0], [200.0, 0.0]]), torch.tensor([0, 0]))
    modified = attack_features(saturated, "modified_entropy")[:, 0]
    assert modified[0] == pytest.approx(-2 * ln(1e-30)) and modified[1] == pytest.approx(0, abs=1e-12)
    assert attack_features(saturated, "entropy")[:, 0] == pytest.approx([0, 0], abs=1e-12)


@pytest.mark.parametrize("features", ["confidence", "entropy", "modified_entropy"])
def test_forget_samples_like_test_data_are_all_non_members(features):
    # members confident (margin 6, p_y ~ 0.998), non-members unsure (margin 0, p_y ~ 0.5)
    retain, test = normal(200, 1, mean=6.0, std=0.3), normal(200, 2, mean=0.0, std=0.3)
    unseen_like = margin_data(retain=retain, test=test, forget=normal(50, 3, mean=0.0, std=0.3))
    seen_like = margin_data(retain=retain, test=test, forget=normal(50, 4, mean=6.0, std=0.3))
    assert efficacy(unseen_like, features=features) == 1.0
    assert efficacy(seen_like, features=features) == 0.0


def test_identical_member_and_non_member_features_give_the_base_rate():
    """When members and non-members look alike, an SVC draws an arbitrary boundary: one draw can
    call anything from 3% to 90% of the forget set non-members (measured over 10 seeds). What
    it calls them is what it calls any unseen sample of that distribution, and over draws of its
    training samples the average is the non-member base rate of its balanced training set, 1/2."""
    values = []
    for seed in range(12):
        g = torch.Generator().manual_seed(seed)
        retain, test = margin_outputs(normal(150, 3 * seed, 1.0)), margin_outputs(normal(150, 3 * seed + 1, 1.0))
        forget, elsewhere = (margin_outputs(normal(400, 1000 + 2 * seed + k, 1.0)) for k in (0, 1))
        pick = balanced_pick(150, 150, g)
        value = svc_efficacy(retain, test, forget, pick)
        # the same attacker on another sample of the same distribution: the same rate
        assert value == pytest.approx(svc_efficacy(retain, test, elsewhere, pick), abs=0.1)
        values.append(value)
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.15)  # measured 0.49 (20 seeds)
    assert max(values) - min(values) > 0.3  # no single draw is "at chance"


def test_attacker_trains_on_equal_numbers_of_members_and_non_members(monkeypatch):
    import sklearn.svm

    seen = []

    class Spy(sklearn.svm.SVC):
        def fit(self, x, y, *args, **kwargs):
            seen.append((x.copy(), y.copy()))
            return super().fit(x, y, *args, **kwargs)

    monkeypatch.setattr(sklearn.svm, "SVC", Spy)  # imported when the attack runs
    # 400 members, 50 non-members, one distribution: unbalanced, "always member" would win
    data = margin_data(retain=normal(400, 1, 1.0), test=normal(50, 2, 1.0), forget=normal(40, 3, 1.0))
    efficacy(data)
    x, y = seen[0]
    assert (y == 1).sum() == 50 and (y == 0).sum() == 50
    # the non-members are the whole test set; the members a sample of retain
    test_conf = torch.sigmoid(normal(50, 2, 1.0)).double().numpy()
    assert sorted(x[y == 0, 0]) == pytest.approx(sorted(test_conf), abs=1e-6)
    retain_conf = torch.sigmoid(normal(400, 1, 1.0)).double()
    members = torch.from_numpy(x[y == 1, 0])
    assert (members[:, None] - retain_conf[None]).abs().min(1).values.max() < 1e-6
    # the reported number is the share of forget samples the attacker calls non-members
    spy = seen[0]
    attacker = sklearn.svm.SVC(C=3, gamma="auto").fit(*spy)
    forget_conf = torch.sigmoid(normal(40, 3, 1.0)).double().numpy().reshape(-1, 1)
    assert efficacy(data) == pytest.approx(1 - attacker.predict(forget_conf).mean())


def test_mia_efficacy_is_deterministic_for_a_seed():
    data = margin_data(retain=normal(100, 1, 1.5), test=normal(80, 2, 1.0), forget=normal(60, 3, 1.2))
    assert efficacy(data, seed=5) == efficacy(data, seed=5)
    assert len({efficacy(data, seed=s) for s in range(6)}) > 1  # the seed drives the sample


def test_mia_efficacy_and_avg_gaps_mia_term_are_one_attack(monkeypatch):
    """Same parameters, same attacker sample: AvgGap's MIA term is MIA-Efficacy's number, and
    the unlearned model's SVC is trained once per record for both."""
    import sklearn.svm

    from erasure.measures import AvgGap

    data = margin_data(retain=normal(100, 1, 1.5), test=normal(80, 2, 1.0), forget=normal(60, 3, 1.2))
    ctx = fx.measure_context(data, {"unlearned": Logits()}, seed=3)
    fits = []
    real = sklearn.svm.SVC.fit
    monkeypatch.setattr(sklearn.svm.SVC, "fit",
                        lambda self, *a, **k: fits.append(1) or real(self, *a, **k))
    (value,) = MIAEfficacy(target="unlearned").measure(ctx).values()
    other = replace(ctx, seed=ctx.seed + 1)  # another measure: its own stream, the same sample
    mia_term = AvgGap(target="unlearned").attack(other, "unlearned",
                                                 lambda p: other.output("unlearned", p))
    assert mia_term == value and len(fits) == 1


def test_mia_efficacy_needs_samples():
    data = margin_data(retain=normal(10, 1), test=normal(10, 2), forget=normal(0, 3))
    with pytest.raises(ValueError, match="non-empty forget set"):
        efficacy(data)


@pytest.mark.parametrize("parameters, message", [
    ({"C": 0}, "C must be positive"),
    ({"gamma": -1.0}, "gamma must be positive"),
    ({"gamma": "automatic"}, "expected"),
    ({"features": "confidance"}, "not one of the accepted values"),
    ({"reference": "tset"}, "unknown partition 'tset'"),
])
def test_bad_parameters_are_config_errors(parameters, message):
    config = digits_config("random", measures=[{"class": "MIAEfficacy", "parameters": parameters}])
    with pytest.raises(ConfigError, match=message):
        prepare(config)


MEASURES = [{"class": "MIAEfficacy"}]


def test_class_forgetting_gold_forget_set_looks_unseen_and_the_originals_does_not():
    session = fx.session("class", [{"class": "Identity"}], MEASURES)
    gold = session.unlearn(1)["metrics"]  # GoldModel
    identity = session.unlearn(0)["metrics"]
    # the gold model never saw a 3: its confidence on them is near 0, as on misclassified test
    # images (measured 1.000); the original fits the 3s as it fits retain (measured 0.055)
    assert gold[KEY] >= 0.9
    assert gold["mia_efficacy.forget.original"] <= 0.1
    assert identity[KEY] == identity["mia_efficacy.forget.original"] == gold["mia_efficacy.forget.original"]


def test_class_forgetting_other_features_have_their_own_keys():
    measures = [{"class": "MIAEfficacy", "parameters": {"features": f}}
                for f in ("confidence", "entropy", "modified_entropy")]
    gold = fx.session("class", [], measures).unlearn(0)["metrics"]
    assert len(gold) == 6  # three features, two targets: none overwrites another
    # measured: entropy gold 0.870 / original 0.096; modified entropy 1.000 / 0.014
    assert gold["mia_efficacy_entropy.forget.unlearned"] >= 0.7
    assert gold["mia_efficacy_entropy.forget.original"] <= 0.2
    assert gold["mia_efficacy_modified_entropy.forget.unlearned"] >= 0.9
    assert gold["mia_efficacy_modified_entropy.forget.original"] <= 0.1


def test_random_forgetting_values_are_sane():
    """Digits with 10% random forgetting: the original generalises well, so its forget samples
    look like retain samples and neither model's are called non-members often (measured:
    original 0.049, gold 0.069)."""
    session = fx.session("random", [{"class": "Identity"}], MEASURES)
    gold = session.unlearn(1)["metrics"]
    identity = session.unlearn(0)["metrics"]
    for value in (gold[KEY], gold["mia_efficacy.forget.original"]):
        assert 0.0 <= value <= 0.25  # few forget samples are called non-members
    assert identity[KEY] == identity["mia_efficacy.forget.original"]
    print(f"\nMIA-Efficacy, digits random 10%: original {gold['mia_efficacy.forget.original']:.4f}, "
          f"gold {gold[KEY]:.4f}")
