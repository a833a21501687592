"""Avg gap (SalUn, Fan et al. ICLR 2024): the mean of |UA − UA*|, |RA − RA*|, |TA − TA*| and
|MIA-Efficacy − MIA-Efficacy*| against the gold model retrained on the retain set."""
import pytest
import torch
from torch import nn

from erasure.config import ConfigError
from erasure.experiment import Session
from erasure.measures import NotApplicable
from erasure.measures.avg_gap import AvgGap
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import context
from tests.unlearners import fixtures as fx

KEY = "avg_gap.forget.unlearned"

# three-class logits, true label 0; p_0 is the attack feature (confidence)
HIGH = [6.0, 0.0, 0.0]        # right, p_0 = 0.995
MID_RIGHT = [0.01, 0.0, -30.0]  # right, p_0 = 0.5025
MID_WRONG = [0.0, 0.01, -30.0]  # wrong, p_0 = 0.4975
LOW = [-6.0, 6.0, 0.0]        # wrong, p_0 = 6e-6


class Columns(nn.Module):
    """Returns columns ``start:start + 3`` of its input: each sample carries the logits of
    every model, side by side."""

    def __init__(self, start):
        super().__init__()
        self.start = start

    def forward(self, x):
        return x[:, self.start:self.start + 3]


def two_models(rows):
    """Data from ``{partition: [(unlearned logits, gold logits) × count, ...]}``."""
    x, parts = [], {}
    for name, samples in rows.items():
        parts[name] = list(range(len(x), len(x) + len(samples)))
        x.extend(u + g for u, g in samples)
    x = torch.tensor(x)
    return fx.tiny_data(x, torch.zeros(len(x), dtype=torch.long), parts)


def test_a_hand_computed_avg_gap():
    r"""unlearned: UA 5/10, RA 8/10, TA 6/10, MIA 2/10 (forget: 3 HIGH, 2 MID_RIGHT, 5 LOW; its
    attacker calls HIGH and LOW members, MID non-members); gold: UA 3/10, RA 10/10, TA 7/10,
    MIA 9/10 (forget: 1 HIGH, 6 MID_RIGHT, 3 MID_WRONG). Gaps 0.2, 0.2, 0.1, 0.7: mean 0.3.
    A narrow kernel (gamma 100) makes each attacker a nearest-cluster rule, so the hand count
    holds."""
    data = two_models({
        "retain": [(HIGH, HIGH)] * 8 + [(LOW, HIGH)] * 2,
        "test": [(MID_RIGHT, MID_RIGHT)] * 6 + [(MID_WRONG, MID_RIGHT)] + [(MID_WRONG, MID_WRONG)] * 3,
        "forget": [(HIGH, HIGH)] + [(HIGH, MID_RIGHT)] * 2 + [(MID_RIGHT, MID_RIGHT)] * 2
                  + [(LOW, MID_RIGHT)] * 2 + [(LOW, MID_WRONG)] * 3,
    })
    unlearned, gold = Columns(0), Columns(3)
    ctx = context(data, {"unlearned": unlearned, "original": unlearned}, gold)
    got = AvgGap(target="unlearned", gamma=100.0).measure(ctx)
    assert got == {KEY: pytest.approx(0.3, abs=1e-6)}
    # the parts, as the measure computes them
    measure = AvgGap(gamma=100.0)
    mine = measure.metrics(ctx, "unlearned", lambda p: ctx.output("unlearned", p))
    theirs = measure.metrics(ctx, "gold/retain", lambda p: ctx.gold_output("retain", p))
    assert mine == pytest.approx((0.5, 0.8, 0.6, 0.2))
    assert theirs == pytest.approx((0.3, 1.0, 0.7, 0.9))


def test_a_gold_model_equal_to_the_unlearned_one_scores_zero():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 4, generator=g) * 3
    y = torch.randint(0, 4, (300,), generator=g)
    data = fx.tiny_data(x, y, {"forget": list(range(60)), "retain": list(range(60, 200)),
                               "test": list(range(200, 300))})
    same = nn.Identity()  # the samples are the logits
    ctx = context(data, {"unlearned": same, "original": same}, same)
    got = AvgGap().measure(ctx)
    assert got == {"avg_gap.forget.unlearned": 0.0, "avg_gap.forget.original": 0.0}


def test_without_a_gold_model_it_does_not_apply():
    data = two_models({"retain": [(HIGH, HIGH)], "test": [(LOW, LOW)], "forget": [(HIGH, HIGH)]})
    ctx = fx.measure_context(data, {"unlearned": Columns(0)})
    with pytest.raises(NotApplicable, match="no gold model retrained on 'retain'"):
        AvgGap(target="unlearned").measure(ctx)


def test_it_asks_for_the_gold_model_of_its_retain_partition():
    assert AvgGap().gold_partitions() == ["retain"]
    assert AvgGap(retain="train").gold_partitions() == ["train"]
    # a config with AvgGap and no GoldModel unlearner still gets its gold model
    assert prepare(digits_config("random", measures=[{"class": "AvgGap"}])).gold_partitions == ["retain"]


@pytest.mark.parametrize("parameters, message", [
    ({"C": -1.0}, "C must be positive"),
    ({"gamma": 0.0}, "gamma must be positive"),
    ({"features": "prob"}, "not one of the accepted values"),
    ({"retain": "retian"}, "unknown partition 'retian'"),
])
def test_bad_parameters_are_config_errors(parameters, message):
    config = digits_config("random", measures=[{"class": "AvgGap", "parameters": parameters}])
    with pytest.raises(ConfigError, match=message):
        prepare(config)


@pytest.mark.parametrize("forget", ["class", "random"])
def test_on_digits_the_gold_model_scores_exactly_zero(forget):
    session = fx.session(forget, [{"class": "Identity"}], [{"class": "AvgGap"}])
    gold = session.unlearn(1)["metrics"]  # GoldModel: the very outputs of ctx.golds["retain"]
    identity = session.unlearn(0)["metrics"]
    assert gold[KEY] == 0.0
    assert identity[KEY] == identity["avg_gap.forget.original"] == gold["avg_gap.forget.original"]
    if forget == "class":
        # UA 0 vs 1, MIA-Efficacy 0.05 vs 1.00, TA 0.98 vs 0.88: measured 0.509
        assert identity[KEY] >= 0.4
    else:
        assert identity[KEY] <= 0.1  # measured 0.012
    print(f"\navg gap, digits {forget}: original {identity[KEY]:.4f}")


def test_the_gold_model_is_trained_once_however_many_measures_use_it():
    measures = [{"class": "AvgGap"}, {"class": "AvgGap", "parameters": {"features": "entropy"}},
                {"class": "MIAEfficacy"}, {"class": "Accuracy"}]
    config = digits_config("class", [{"class": "Identity"}, {"class": "GoldModel"}], measures,
                           epochs=2)
    session = Session(prepare(config), seed=0)
    session.load_data()
    session.train_models()
    records = [session.unlearn(i) for i in range(2)]
    assert session.trainings == {"train_original": 1, "retrain": 1}
    assert all(r["status"] == "finished" and not r["failed_measures"] for r in records)
    gold = records[1]["metrics"]
    assert gold[KEY] == gold["avg_gap_entropy.forget.unlearned"] == 0.0
