"""U-MIA (Kurmanji et al. 2023): a logistic regression on per-sample losses, forget set vs an
equal-size sample of unseen data; cross-validated accuracy, 0.5 = indistinguishable."""
import pytest
import torch

from erasure.measures import UMIA
from erasure.measures import umia as umia_module
from tests.measures.hand_models import Logits
from tests.unlearners import fixtures as fx


def loss_data(member_margins, other_margins):
    """Two-class samples whose per-sample loss is softplus(-margin) (label 0, logits [m, 0])."""
    margins = torch.cat([member_margins, other_margins])
    x = torch.stack([margins, torch.zeros_like(margins)], 1)
    y = torch.zeros(len(margins), dtype=torch.long)
    members = list(range(len(member_margins)))
    others = list(range(len(member_margins), len(margins)))
    return fx.tiny_data(x, y, {"forget": members, "test": others})


def score(data, seed=0, **params):
    ctx = fx.measure_context(data, {"unlearned": Logits()}, seed=seed)
    return UMIA(target="unlearned", **params).measure(ctx)["umia.forget.unlearned"]


def normal(n, seed, mean=0.0):
    return mean + torch.randn(n, generator=torch.Generator().manual_seed(seed))


def test_identical_loss_distributions_score_one_half():
    data = loss_data(normal(300, 1), normal(300, 2))
    assert score(data) == pytest.approx(0.5, abs=0.1)


def test_separable_losses_score_near_one():
    # members: confident and right (loss ~0); others: wrong (loss > 2)
    data = loss_data(normal(200, 1, mean=8.0), normal(200, 2, mean=-5.0))
    assert score(data) >= 0.95


def test_members_and_non_members_are_balanced(monkeypatch):
    seen = []

    def spy(x, y, splits, **kwargs):
        seen.append((x.reshape(-1, 1).copy(), y.copy()))
        return real(x, y, splits, **kwargs)

    real = umia_module.logistic_cv_accuracy
    monkeypatch.setattr(umia_module, "logistic_cv_accuracy", spy)
    # 30 members, 300 non-members from one distribution: unbalanced, "always non-member" would
    # score 0.91; balanced, the attacker has nothing to go on
    data = loss_data(normal(30, 1), normal(300, 2))
    value = score(data)
    x, y = seen[0]
    assert (y == 1).sum() == 30 and (y == 0).sum() == 30 and len(x) == 60
    assert value <= 0.7
    # the members are the forget set's losses, every one of them
    members = fx.measure_context(data, {"unlearned": Logits()}).output("unlearned", "forget").losses
    assert sorted(x[y == 1, 0].tolist()) == pytest.approx(sorted(members.tolist()))


def test_umia_is_deterministic_for_a_seed():
    data = loss_data(normal(100, 1), normal(100, 2, mean=0.3))
    assert score(data, seed=7) == score(data, seed=7)
    assert len({score(data, seed=s) for s in range(4)}) > 1  # the seed does drive the splits


def test_umia_needs_as_many_samples_as_splits():
    data = loss_data(normal(5, 1, mean=8.0), normal(50, 2, mean=-5.0))
    with pytest.raises(ValueError, match="at least 10 samples"):
        score(data)
    # fewer splits: 5 members suffice (each split holds out one member and one non-member)
    assert score(data, n_splits=2) == 1.0
    with pytest.raises(ValueError, match="n_splits"):
        UMIA(n_splits=1)


def test_umia_on_digits_random_forgetting_gold_model_is_at_chance():
    session = fx.session("random", [{"class": "Identity"}], [{"class": "UMIA"}])
    gold = session.unlearn(1)["metrics"]  # GoldModel
    identity = session.unlearn(0)["metrics"]
    # never trained on the forget set: its losses look like test losses (measured 0.503)
    assert gold["umia.forget.unlearned"] == pytest.approx(0.5, abs=0.1)
    # the original's number is the same in every record (the measure's own stream)
    assert gold["umia.forget.original"] == identity["umia.forget.original"]
    assert identity["umia.forget.unlearned"] == identity["umia.forget.original"]


def test_umia_on_digits_class_forgetting_needs_a_same_class_reference():
    """Against the whole test set, even the gold model's forgotten class is "detected" — its high
    losses only say "class 3", which retraining cannot change. Against test images of class 3 the
    gold model scores near chance, so that reference is the meaningful one for class forgetting."""
    session = fx.session("class", [])
    data = session.data
    test = data["test"]
    partitions = dict(data.partitions)
    partitions["test_3"] = test[data.y[test] == 3]
    with_reference = fx.tiny_data(data.x, data.y, {k: v.tolist() for k, v in partitions.items()})
    gold = session.golds["retain"]

    def mean_umia(reference, model, seeds=range(5)):
        values = [UMIA(reference=reference, target="unlearned").measure(
            fx.measure_context(with_reference, {"unlearned": model}, seed=s))["umia.forget.unlearned"]
            for s in seeds]
        return sum(values) / len(values)

    assert len(partitions["test_3"]) == 37
    whole_test = mean_umia("test", gold)
    same_class = mean_umia("test_3", gold)
    assert whole_test >= 0.9  # measured 0.944 over 5 seeds
    assert same_class <= 0.7  # measured 0.560
    # the original fits class 3 everywhere, train or test: near chance too (measured 0.537)
    assert mean_umia("test_3", session.original) <= 0.7


def test_splits_hold_out_a_tenth_of_members_and_of_non_members():
    """Like scikit-learn's StratifiedShuffleSplit with test_size 0.1, on n members (0 … n−1) and
    n non-members (n … 2n−1): ⌈n / 10⌉ of each held out (at least one), the rest trained on."""
    for n, held in [(2, 1), (9, 1), (10, 1), (11, 2), (30, 3), (145, 15)]:
        splits = umia_module.stratified_splits(n, 7, torch.Generator().manual_seed(n))
        assert len(splits) == 7
        for train, test in splits:
            assert sorted(train.tolist() + test.tolist()) == list(range(2 * n))
            assert (test < n).sum() == (test >= n).sum() == held
    # the generator decides, and only it
    again = [umia_module.stratified_splits(30, 3, torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    assert all((a[0] == b[0]).all() and (a[1] == b[1]).all() for a, b in zip(again[0], again[1]))
    assert any(not (a[1] == b[1]).all() for a, b in zip(again[0], again[2]))


def test_sigmoid_is_exact_and_never_overflows():
    import numpy as np

    z = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = umia_module.sigmoid(z)
    assert p[3] == 0.5 and p[0] == 0.0 and p[-1] == 1.0
    assert p[1:-1] == pytest.approx(1 / (1 + np.exp(-z[1:-1])), rel=1e-15)
    assert p + umia_module.sigmoid(-z) == pytest.approx(np.ones(7), rel=1e-15)


def test_the_exact_logistic_fit_equals_scikit_learns_on_every_split():
    """U-MIA's Newton solver is scikit-learn's LogisticRegression (L2, C=1, free intercept),
    fitted to its optimum: held-out accuracies equal a tightly converged scikit-learn fit."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from erasure.measures.umia import logistic_cv_accuracy, stratified_splits

    rng = np.random.default_rng(0)
    for trial in range(12):
        n = int(rng.integers(10, 200))
        scale = rng.uniform(0.1, 20)
        x = np.r_[rng.exponential(0.3, n), rng.exponential(rng.uniform(0.3, 3), n)] * scale
        y = np.r_[np.ones(n), np.zeros(n)]
        splits = stratified_splits(n, 10, torch.Generator().manual_seed(trial))
        reference = cross_val_score(LogisticRegression(tol=1e-12, max_iter=10_000),
                                    x.reshape(-1, 1), y, cv=splits).mean()
        assert logistic_cv_accuracy(x, y, splits) == pytest.approx(reference, abs=1e-12), trial
    # perfectly separable members: still the regularised optimum, no overflow
    x = np.r_[np.zeros(20), np.full(20, 50.0)]
    y = np.r_[np.ones(20), np.zeros(20)]
    splits = stratified_splits(20, 5, torch.Generator().manual_seed(0))
    assert logistic_cv_accuracy(x, y, splits) == 1.0
