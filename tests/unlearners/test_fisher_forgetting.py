"""Fisher forgetting (Golatkar et al. 2020): Gaussian noise on each weight with variance
α·min(1/(F_i + ε), c), F the diagonal Fisher information of the retain set."""
import copy

import pytest
import torch

import erasure.unlearners.fisher_forgetting  # noqa: F401  (registers "FisherForgetting")
from erasure.unlearners.fisher_forgetting import FisherForgetting
from tests.helpers import accuracy, digits_config, trained_session
from tests.unlearners import fixtures as fx

FF = {"class": "FisherForgetting"}


@pytest.fixture(scope="module")
def class_fisher():
    """The class-forgetting session and the default unlearner's retain Fisher (computed once)."""
    session = fx.session("class", [])
    return session, FisherForgetting().fisher(session.original, fx.context(session, seed=0))


def test_fisher_forgetting_through_the_pipeline_and_alpha_zero_returns_the_original():
    session = fx.session("class", [FF, {"class": "FisherForgetting", "parameters": {"alpha": 0.0}}])
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]
    assert not fx.same_weights(model, session.original)
    # the default α keeps retain accuracy within about a point: measured .998 → .990; it does
    # not forget the class (measured forget 1.0 → 1.0; test .981 → .969; see the sweep below)
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.02
    assert m["accuracy.test.unlearned"] < m["accuracy.test.original"]

    record, model = fx.unlearn(session, 1)
    assert fx.same_weights(model, session.original)  # α = 0: bit-identical


def test_noise_is_larger_where_the_retain_fisher_is_smaller(class_fisher):
    session, fisher = class_fisher
    unlearner = FisherForgetting()
    variances = unlearner.variances(fisher)
    f = torch.cat([t.flatten() for t in fisher.values()])
    v = torch.cat([variances[k].flatten() for k in fisher])

    # the variance each weight gets is non-increasing in its Fisher information ...
    order = torch.argsort(f)
    assert (v[order].diff() <= 0).all()
    # ... the largest, α·c, where the retain set does not constrain the weight at all ...
    cap = unlearner.alpha * unlearner.max_inverse
    assert (f == 0).sum() > 100 and torch.allclose(v[f == 0], torch.full_like(v[f == 0], cap))
    # ... and strictly smaller where F > 1/c (measured: 17% of the weights)
    constrained = f > 1 / unlearner.max_inverse
    assert constrained.float().mean() > 0.1 and (v[constrained] < cap).all()

    # empirically, over 30 draws: |Δθ| is anti-correlated with F, and Δθ/σ is standard normal
    original = session.original
    before = torch.cat([p.detach().flatten() for p in original.parameters()])
    steps = []
    for seed in range(30):
        model = unlearner.perturb(copy.deepcopy(original), variances,
                                  torch.Generator().manual_seed(seed))
        steps.append(torch.cat([p.detach().flatten() for p in model.parameters()]) - before)
    steps = torch.stack(steps)

    def ranks(x):
        return torch.argsort(torch.argsort(x)).double()

    def spearman(x, y):
        return torch.corrcoef(torch.stack([ranks(x), ranks(y)]))[0, 1]

    mean_step = steps.abs().mean(0)
    # over the weights D_r constrains (F > 1/c, 17% of them), where σ varies: measured -0.88
    assert spearman(f[constrained], mean_step[constrained]) < -0.7
    # over all weights, most of which tie at the largest σ (F < 1/c): measured -0.32
    assert spearman(f, mean_step) < -0.2
    # the constrained weights move less than the rest: measured 0.057 vs 0.080
    assert mean_step[constrained].mean() < 0.8 * mean_step[~constrained].mean()
    standard = steps / v.sqrt()
    assert abs(standard.mean()) < 0.01 and abs(standard.std() - 1) < 0.01  # measured 0.001, 0.999


ALPHAS = [1e-6, 1e-5, 3e-5, 1e-4, 3e-4]


def test_forgetting_grows_with_alpha_while_retain_accuracy_degrades_gracefully(class_fisher):
    session, fisher = class_fisher
    data, original = session.data, session.original
    sweep = {}
    for alpha in ALPHAS:
        unlearner = FisherForgetting(alpha=alpha)
        variances = unlearner.variances(fisher)
        rows = []
        for seed in range(5):
            model = unlearner.perturb(copy.deepcopy(original), variances,
                                      torch.Generator().manual_seed(seed))
            rows.append([accuracy(model, data, p) for p in ("forget", "retain", "test")])
        sweep[alpha] = torch.tensor(rows).mean(0).tolist()
    print("\nFisher forgetting, class 3, mean of 5 draws (forget, retain, test):",
          {a: [round(x, 3) for x in r] for a, r in sweep.items()})
    # measured (original 1.0 / .998 / .981):
    #   1e-6 1.000/.997/.978, 1e-5 .989/.990/.965, 3e-5 .966/.958/.935, 1e-4 .842/.735/.724,
    #   3e-4 .460/.348/.339
    forget = [sweep[a][0] for a in ALPHAS]
    retain = [sweep[a][1] for a in ALPHAS]
    assert all(later <= earlier + 0.005 for earlier, later in zip(forget, forget[1:]))
    assert forget[-1] <= 0.6 and forget[0] >= 0.99
    # gracefully: up to the default α (1e-5) retain accuracy stays within 2 points ...
    default = FisherForgetting().alpha
    assert all(sweep[a][1] >= 0.998 - 0.02 for a in ALPHAS if a <= default)
    # ... but the noise is not selective on this confident MLP (see guide/method-notes.md): the forgotten
    # class never loses more accuracy than the retained ones do
    assert all(f >= r - 0.05 for f, r in zip(forget, retain))


@pytest.mark.parametrize("params, message", [
    ({"alpha": -1e-6}, "alpha must be at least 0"),
    ({"max_inverse": 0.0}, "max_inverse must be above 0"),
    ({"eps": 0.0}, "eps must be above 0"),
    ({"max_samples": 0}, "max_samples must be at least 1"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
])
def test_bad_hyper_parameters_are_rejected_before_any_work(params, message):
    fx.assert_rejected({"class": "FisherForgetting", "parameters": params}, message)


def test_an_absurd_alpha_raises_diverged():
    fx.assert_diverges({"class": "FisherForgetting",
                        "parameters": {"alpha": 1e300, "max_samples": 50}}, "perturbed weights")


def test_the_retain_sample_and_the_noise_come_from_the_unlearners_stream():
    session = fx.session("class", [])
    unlearner = fx.build_unlearner({"class": "FisherForgetting",
                                    "parameters": {"max_samples": 100}})
    first, again = (fx.run_by_hand(session, unlearner, seed=4) for _ in range(2))
    assert fx.same_weights(first, again)
    assert not fx.same_weights(first, fx.run_by_hand(session, unlearner, seed=5))
    # a sample of D_r estimates the same Fisher: within a factor of 2 overall (measured 1.28)
    ctx = fx.context(session, seed=4)
    sampled = unlearner.fisher(session.original, ctx)
    full = FisherForgetting().fisher(session.original, ctx)
    ratio = sum(t.sum() for t in sampled.values()) / sum(t.sum() for t in full.values())
    assert 0.5 < ratio < 2


def test_fisher_forgetting_runs_on_a_cnn_with_batch_norm_and_changes_it():
    node = {"class": "FisherForgetting", "parameters": {"max_samples": 300}}
    config = digits_config("class", [node], fx.MEASURES, image=True, epochs=5,
                           model={"class": "SmallCNN"})
    session = trained_session(config)
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]
    assert not fx.same_weights(model, session.original)
    buffers = dict(session.original.named_buffers())  # batch-norm statistics: untouched
    assert buffers and all(torch.equal(b, buffers[k]) for k, b in model.named_buffers())
    # the CNN's Fisher has another scale: at the MLP's α = 1e-5, measured retain .998 → .922,
    # forget 1.0 → .993, test .992 → .911 (α = 1e-6: no change in accuracy)
    assert m["accuracy.retain.unlearned"] < m["accuracy.retain.original"]
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.15


def test_fisher_forgetting_on_a_random_forget_set_perturbs_at_a_small_cost():
    """Scenario B (random 10%): the default noise moves the weights and costs little utility.
    Measured: forget 1.0 → .986, retain .998 → .991, test .981 → .969 (gold .972/.996/.975)."""
    session = fx.session("random", [FF], fx.MEASURES)
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(),
                                                     session.original.parameters()))
    assert m["accuracy.forget.unlearned"] < m["accuracy.forget.original"]
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.02
    assert m["accuracy.test.unlearned"] >= m["accuracy.test.original"] - 0.03
