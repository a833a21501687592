"""Relearn time and AIN (Chundawat et al., "Zero-Shot Machine Unlearning", IEEE TIFS 2023):
steps of fine-tuning on the forget set until (1 − α) × the original's forget accuracy returns."""
import copy
import math
from dataclasses import replace

import pytest
import torch
from torch import nn

import erasure.measures.relearn  # noqa: F401  (registers RelearnTime and AIN)
from erasure.config import ConfigError
from erasure.measures import Measure, NotApplicable, OutputStore
from erasure.models import Diverged
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.unlearners import fixtures as fx


def margin_model(margin: float) -> nn.Module:
    """Two logits (m/2, −m/2) for the input 1: class 0 wins by ``margin``."""
    model = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[margin / 2], [-margin / 2]]))
    return model


def sgd_steps(margin: float, lr: float) -> int:
    """Plain SGD on cross-entropy for one sample of class 0 (input 1): each step raises the
    margin by 2·lr·(1 − σ(margin)); the steps until the sample is classified right."""
    steps = 0
    while margin <= 0:
        margin += 2 * lr * (1 - 1 / (1 + math.exp(-margin)))
        steps += 1
    return steps


def one_sample_data():
    # sample 0 (class 0) is the forget set; sample 1 only fills the test partition
    return fx.tiny_data(torch.tensor([[1.0], [1.0]]), torch.tensor([0, 1]),
                        {"forget": [0], "retain": [1], "test": [1]})


def build(cls: str, **parameters):
    return fx.build({"class": cls, "parameters": parameters}, Measure)


def weights(model):
    return model.weight.detach().clone()


def test_sgd_reference_counts():
    # the hand-derived counts the tests below rely on
    assert sgd_steps(-1.0, 0.1) == 8 and sgd_steps(-2.0, 0.1) == 15


def test_a_model_at_the_original_accuracy_relearns_in_zero_steps():
    data = one_sample_data()
    original = margin_model(1.0)
    ctx = fx.measure_context(data, {"original": original, "unlearned": margin_model(0.5)})
    got = build("RelearnTime", target=["original", "unlearned"]).measure(ctx)
    assert got == {"relearn_steps.forget.original": 0.0,
                   "relearn_steps.forget.original.capped": 0.0,
                   "relearn_steps.forget.unlearned": 0.0,
                   "relearn_steps.forget.unlearned.capped": 0.0}


def test_a_model_that_forgot_relearns_in_the_hand_counted_steps_on_a_copy():
    data = one_sample_data()
    unlearned = margin_model(-1.0)
    before = weights(unlearned)
    ctx = fx.measure_context(data, {"original": margin_model(1.0), "unlearned": unlearned})
    measure = build("RelearnTime", optimizer={"class": "SGD", "parameters": {"lr": 0.1}})
    got = measure.measure(ctx)
    assert got == {"relearn_steps.forget.unlearned": 8.0,
                   "relearn_steps.forget.unlearned.capped": 0.0}
    assert torch.equal(weights(unlearned), before)  # a copy was fine-tuned, never the model
    assert measure.measure(ctx) == got  # deterministic


def test_relearning_stops_at_max_steps_and_says_so():
    data = one_sample_data()
    ctx = fx.measure_context(data, {"original": margin_model(1.0), "unlearned": margin_model(-1.0)})
    got = build("RelearnTime", max_steps=5,
                optimizer={"class": "SGD", "parameters": {"lr": 0.1}}).measure(ctx)
    assert got == {"relearn_steps.forget.unlearned": 5.0,
                   "relearn_steps.forget.unlearned.capped": 1.0}


def two_margin_model(margin_a: float, margin_b: float) -> nn.Module:
    """Inputs e_1 and e_2 (one-hot): class 0 wins by ``margin_a`` on e_1 and ``margin_b`` on e_2,
    each margin moved by its own weight column."""
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[margin_a / 2, margin_b / 2],
                                         [-margin_a / 2, -margin_b / 2]]))
    return model


def test_alpha_sets_the_goal():
    # two forget samples of class 0 on orthogonal inputs: one batch of both, the mean loss halves
    # each sample's step, so each margin follows the one-sample recurrence at lr / 2 = 0.1:
    # the first sample (margin -0.5) is right after 5 steps, the second (-3) after 20
    assert sgd_steps(-0.5, 0.1) == 5 and sgd_steps(-3.0, 0.1) == 20
    data = fx.tiny_data(torch.eye(2), torch.tensor([0, 0]), {"forget": [0, 1], "test": [0]})
    ctx = fx.measure_context(data, {"original": two_margin_model(1.0, 1.0),
                                    "unlearned": two_margin_model(-0.5, -3.0)})
    sgd = {"class": "SGD", "parameters": {"lr": 0.2}}
    steps = "relearn_steps.forget.unlearned"
    # α = 0: both samples again; α = 0.5: one of the two suffices
    assert build("RelearnTime", alpha=0.0, optimizer=sgd).measure(ctx)[steps] == 20.0
    assert build("RelearnTime", alpha=0.5, optimizer=sgd).measure(ctx)[steps] == 5.0
    # α = 0.05: 0.95 × 2 = 1.9 correct needed, so both
    assert build("RelearnTime", optimizer=sgd).measure(ctx)[steps] == 20.0


def gold_context(data, models, gold, seed=0):
    return replace(fx.measure_context(data, models, seed=seed), golds={"retain": gold},
                   gold_outputs={"retain": OutputStore(gold, data)})


def test_ain_is_the_ratio_of_hand_counted_relearn_steps():
    data = one_sample_data()
    gold = margin_model(-2.0)  # 15 steps at lr 0.1
    ctx = gold_context(data, {"original": margin_model(1.0), "unlearned": margin_model(-1.0)}, gold)
    ain = build("AIN", optimizer={"class": "SGD", "parameters": {"lr": 0.1}})
    assert ain.gold_partitions() == ["retain"]
    assert ain.measure(ctx) == {"ain.forget.unlearned": 8 / 15, "ain.forget.unlearned.capped": 0.0}
    # the gold model against itself: exactly 1
    ctx = gold_context(data, {"original": margin_model(1.0), "unlearned": margin_model(-2.0)}, gold)
    assert ain.measure(ctx)["ain.forget.unlearned"] == 1.0
    # a capped run makes the ratio a bound, and says so
    capped = build("AIN", max_steps=10, optimizer={"class": "SGD", "parameters": {"lr": 0.1}})
    assert capped.measure(ctx) == {"ain.forget.unlearned": 1.0, "ain.forget.unlearned.capped": 1.0}


def test_ain_does_not_apply_when_the_gold_model_needs_no_relearning():
    data = one_sample_data()
    ctx = gold_context(data, {"original": margin_model(1.0), "unlearned": margin_model(-1.0)},
                       gold=margin_model(0.5))
    with pytest.raises(NotApplicable, match=r"without relearning \(0 steps\)"):
        build("AIN").measure(ctx)


@pytest.mark.parametrize("cls, parameters, message", [
    ("RelearnTime", {"alpha": 1.0}, "alpha"),
    ("RelearnTime", {"alpha": -0.1}, "alpha"),
    ("RelearnTime", {"max_steps": 0}, "max_steps"),
    ("AIN", {"batch_size": 0}, "batch_size"),
    ("AIN", {"retain": "retian"}, "unknown partition 'retian'"),
    ("RelearnTime", {"optimizer": {"class": "NoSuchOptimizer"}}, "NoSuchOptimizer"),
])
def test_bad_parameters_are_config_errors(cls, parameters, message):
    config = digits_config("class", [{"class": "Identity"}],
                           [{"class": cls, "parameters": parameters}])
    with pytest.raises(ConfigError, match=message):
        prepare(config)


def test_ain_asks_for_the_gold_model():
    plan = prepare(digits_config("class", [{"class": "Identity"}], [{"class": "AIN"}]))
    assert plan.gold_partitions == ["retain"]
    plan = prepare(digits_config("class", [{"class": "Identity"}], [{"class": "RelearnTime"}]))
    assert plan.gold_partitions == []


def test_relearn_and_ain_on_digits_class_forgetting():
    measures = [{"class": "RelearnTime", "parameters": {"target": ["original", "unlearned"]}},
                {"class": "AIN"}, {"class": "Accuracy", "parameters": {"partition": "forget"}}]
    session = fx.session("class", [{"class": "Identity"}, {"class": "NegGrad"}], measures)
    builds = session.shared_builds  # counted from an empty store
    identity, neggrad, gold = (session.unlearn(i)["metrics"] for i in range(3))
    session.unlearn(2)
    steps = "relearn_steps.forget.unlearned"
    # measured: Identity 0, NegGrad 9 (forget accuracy 0.71), GoldModel 16 steps
    assert identity[steps] == 0.0 and identity["ain.forget.unlearned"] == 0.0
    assert 0 < neggrad[steps] < gold[steps] < 200
    assert gold["relearn_steps.forget.unlearned.capped"] == 0.0
    assert all(m["relearn_steps.forget.original"] == 0.0 for m in (identity, neggrad, gold))
    # the GoldModel record's model is the gold model: the same steps, AIN exactly 1
    assert gold["ain.forget.unlearned"] == 1.0
    # AIN and RelearnTime share the recipe, hence one relearning run per record: AIN is exactly
    # the ratio of RelearnTime's counts (measured: NegGrad 9 / gold 16)
    assert 0 < neggrad["ain.forget.unlearned"] < 1
    assert neggrad["ain.forget.unlearned"] == neggrad[steps] / gold[steps]
    # the gold model's relearn time was computed once for all four records, the original's once
    assert len([k for k in builds if k.startswith("gold/retain/relearn/")]) == 1
    assert len([k for k in builds if k.startswith("original/relearn/")]) == 1


def test_ain_on_digits_random_forgetting_does_not_apply():
    session = fx.session("random", [{"class": "Identity"}],
                         [{"class": "AIN"}, {"class": "RelearnTime"}])
    record = session.unlearn(1)  # GoldModel: already at 0.97 ≥ 0.95 × 1.0 on the forget set
    assert record["metrics"] == {"relearn_steps.forget.unlearned": 0.0,
                                 "relearn_steps.forget.unlearned.capped": 0.0}
    assert "AIN is undefined" in record["not_applicable"]["AIN[0]"]


def test_one_relearning_run_serves_every_alpha_of_a_recipe(monkeypatch):
    """RelearnTime (α 0.05) and AIN (α 0.001) relearn the unlearned model once per record; the
    stricter goal resumes the run where the looser one stopped, with the same steps as a run of
    its own."""
    from erasure.measures import relearn as module

    built = []
    real = module.Relearning.__init__

    def counting(self, model, *args, **kwargs):
        built.append(model)
        real(self, model, *args, **kwargs)

    monkeypatch.setattr(module.Relearning, "__init__", counting)
    measures = [{"class": "RelearnTime"}, {"class": "AIN", "parameters": {"alpha": 0.001}}]
    session = fx.session("class", [{"class": "NegGrad"}], measures)
    metrics = session.unlearn(0)["metrics"]
    # two runs in the first record: the unlearned model's and the gold model's (experiment-wide)
    assert len(built) == 2
    loose = metrics["relearn_steps.forget.unlearned"]
    built.clear()
    again = session.unlearn(0)["metrics"]
    assert len(built) == 1 and again == metrics  # the gold's run is kept; same numbers
    # a stand-alone strict run takes exactly the steps AIN's shared run counted
    strict = fx.session("class", [{"class": "NegGrad"}], [
        {"class": "RelearnTime", "parameters": {"alpha": 0.001}}]).unlearn(0)["metrics"]
    strict_steps = strict["relearn_steps.forget.unlearned"]
    assert loose <= strict_steps
    ain = session.plan.evaluator.measures[1]
    gold = session.shared(f"gold/retain/relearn/{ain.recipe()}", lambda: None)  # the stored run
    assert metrics["ain.forget.unlearned"] == strict_steps / gold.steps_to(
        0.999 * module.correct(session._original_outputs("forget")))[0]


def full_counts(model, data, steps: int, seed: int) -> list[int]:
    """The reference: the correct count on the forget set before and after every step of the
    default recipe (SGD 0.01, batch 32), each counted in full."""
    from erasure.measures.relearn import endless_batches
    from erasure.seeding import generator, seeded

    student = copy.deepcopy(model).requires_grad_(True)
    opt = torch.optim.SGD(student.parameters(), lr=0.01)
    batches = endless_batches(data, "forget", 32, generator(seed, "relearn batches"))

    def count():
        student.eval()
        with torch.no_grad():
            return int((student(data.x[data["forget"]]).argmax(1) == data.y[data["forget"]]).sum())

    counts = [count()]
    with torch.random.fork_rng(devices=[]), seeded(seed, "relearn"):
        for _ in range(steps):
            x, y = next(batches)
            student.train()
            opt.zero_grad()
            nn.functional.cross_entropy(student(x), y).backward()
            opt.step()
            counts.append(count())
    return counts


def test_counting_stops_early_yet_every_goal_gets_the_exact_first_step():
    """After each step, counting stops once the goal is out of reach; a lower goal asked later
    replays the run where the bounds cannot decide. Every answer equals the first step of a run
    that counts the whole forget set after every step, whatever order the goals come in."""
    from erasure.measures.relearn import Relearning

    session = fx.session("class", [{"class": "NegGrad"}])
    _, model = fx.unlearn(session, 1)  # the gold model: it never saw a 3
    data, n = session.data, len(session.data["forget"])
    reference = full_counts(model, data, 60, seed=5)
    # measured: 0 of the 146 forgotten 3s right for 7 steps, 139 after 16, all 146 after 46
    assert reference[0] == 0 and reference[-1] == n

    def first(goal):
        return next((s for s, c in enumerate(reference) if c >= goal), None)

    goals = [n, 0.95 * n, 0.9 * n, 0.999 * n]  # strictest first: the worst order
    run = Relearning(model, data, "forget", spec_sgd(), nn.CrossEntropyLoss(), 32, 60, 5)
    for goal in goals:
        steps, capped = run.steps_to(goal)
        assert (steps, capped) == ((first(goal), False) if first(goal) is not None else (60, True))
    assert run.replays >= 1  # the looser goals needed steps the strict pass left undecided
    # in the usual order (loosest first, as RelearnTime before AIN) nothing is replayed
    ordered = Relearning(model, data, "forget", spec_sgd(), nn.CrossEntropyLoss(), 32, 60, 5)
    assert [ordered.steps_to(g)[0] for g in sorted(goals)] == [
        first(g) if first(g) is not None else 60 for g in sorted(goals)]
    assert ordered.replays == 0


def spec_sgd():
    return lambda params: torch.optim.SGD(params, lr=0.01)


def test_a_diverging_relearning_stops_at_the_step_whose_loss_is_not_finite():
    from erasure.measures.relearn import Relearning

    losses = []

    def loss_fn(logits, labels):  # finite for two steps, then NaN
        losses.append(nn.functional.cross_entropy(logits, labels))
        return losses[-1] * (float("nan") if len(losses) == 3 else 1.0)

    run = Relearning(margin_model(-2.0), one_sample_data(), "forget", spec_sgd(), loss_fn, 1, 10, 0)
    with pytest.raises(Diverged) as raised:
        run.steps_to(1)
    assert str(raised.value) == "loss became nan while relearning, at step 3"
    assert len(losses) == 3  # no step after it


def test_a_shared_run_that_diverged_fails_every_later_goal_at_the_same_step():
    """RelearnTime and AIN share one run: once a step diverged (here a finite loss whose step
    left NaN weights), every goal needing that step fails with the same message, without
    training or counting the broken student again; a goal met before it is still answered."""
    from erasure.measures.relearn import Relearning

    steps = []

    class Poisoned(torch.optim.SGD):  # the second step leaves NaN weights
        def step(self, closure=None):
            super().step(closure)
            steps.append(1)
            if len(steps) == 2:
                with torch.no_grad():
                    self.param_groups[0]["params"][0].fill_(float("nan"))

    run = Relearning(margin_model(-2.0), one_sample_data(), "forget",
                     lambda params: Poisoned(params, lr=0.01), nn.CrossEntropyLoss(), 1, 10, 0)
    with pytest.raises(Diverged) as first:
        run.steps_to(1)
    assert str(first.value) == "outputs are no longer finite while relearning, at step 2"
    with pytest.raises(Diverged) as again:
        run.steps_to(0.999)  # AIN after RelearnTime: the same failure, not a step later
    assert str(again.value) == str(first.value) and len(steps) == 2
    assert run.steps_to(0) == (0, False)


def test_a_model_that_forgot_is_counted_on_a_few_samples_per_step():
    from erasure.measures.relearn import Relearning

    session = fx.session("class", [{"class": "NegGrad"}])
    _, model = fx.unlearn(session, 0)
    data, n = session.data, len(session.data["forget"])
    with torch.no_grad():  # forgot for good: class 0 wins every forget sample (all 3s) by 100s
        head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        head.weight.zero_()
        head.bias.copy_(torch.arange(head.bias.numel(), 0, -1).float() * 100)
    evaluated = []
    model.register_forward_hook(
        lambda module, inputs, out: evaluated.append(len(out)) if not module.training else None)
    run = Relearning(model, data, "forget", spec_sgd(), nn.CrossEntropyLoss(), 32, 10, 0)
    assert run.steps_to(0.95 * n) == (10, True)
    # after each of the 10 steps: ⌈1.5·k⌉ samples counted (k = ⌊n − 0.95·n⌋ + 1 misses rule the
    # goal out), all wrong, and the other n − that could not reach the goal; the start count (in
    # full) and the deep copies' hooks aside
    k = math.ceil(1.5 * (math.floor(n - 0.95 * n) + 1))
    assert n == 146 and k == 12
    assert run.low == [0] * 11 and run.high == [0] + [n - k] * 10
    assert evaluated.count(k) >= 10 and sum(evaluated) <= n + 10 * k


def test_the_samples_last_found_wrong_are_counted_first():
    from erasure.measures.relearn import Relearning

    session = fx.session("class", [{"class": "NegGrad"}])
    _, model = fx.unlearn(session, 1)  # the gold model: it never saw a 3
    data, n = session.data, len(session.data["forget"])
    run = Relearning(model, data, "forget", spec_sgd(), nn.CrossEntropyLoss(), 32, 10, 5)
    assert run.steps_to(n) == (10, True)
    low, high = run._count(run._student, 0)  # a full count of the student after 10 steps
    assert low == high and 0 < low < n  # measured: 107 of the 146 right
    assert sorted(run._order.tolist()) == sorted(data["forget"].tolist())
    run._student.eval()
    with torch.no_grad():
        right = (run._student(data.x[run._order]).argmax(1) == data.y[run._order]).tolist()
    assert right == [False] * (n - low) + [True] * low  # the wrong ones lead the next count


def test_counting_never_runs_more_than_the_evaluation_batch_size():
    """A small ``data.batch_size`` (evaluation) bounds every counting forward, the first chunk
    included, and the answers stay those of counting everything."""
    from erasure.measures.relearn import Relearning, next_chunk

    session = fx.session("class", [{"class": "NegGrad"}])
    _, gold = fx.unlearn(session, 1)  # the gold model: it never saw a 3
    data = copy.copy(session.data)
    data.eval_batch_size = 8
    n = len(data["forget"])
    assert next_chunk(0, 0, 0, n, 0.3 * n, 10 ** 6) > 8  # the loosest goal's first chunk exceeds it
    reference = full_counts(gold, data, 30, seed=5)
    model = copy.deepcopy(gold)
    evaluated = []
    model.register_forward_hook(
        lambda module, inputs, out: evaluated.append(len(out)) if not module.training else None)
    run = Relearning(model, data, "forget", spec_sgd(), nn.CrossEntropyLoss(), 32, 30, 5)
    for goal in (0.5 * n, 0.95 * n, 0.3 * n):
        first = next((s for s, c in enumerate(reference) if c >= goal), None)
        assert run.steps_to(goal) == ((first, False) if first is not None else (30, True)), goal
    assert evaluated and max(evaluated) <= 8


def test_chunks_are_sized_to_the_misses_that_rule_the_goal_out():
    from erasure.measures.relearn import next_chunk

    def first(n, needed, largest=256):
        return next_chunk(0, 0, 0, n, needed, largest)

    # RelearnTime's default goal on 288 forget samples all right before: 0.95 x 288 = 273.6, so
    # k = 15 misses (273 right at most) rule it out and 14 do not (274 ≥ 273.6); ⌈1.5·k⌉ first
    assert first(288, 0.95 * 288) == 23
    assert 288 - 15 < 0.95 * 288 <= 288 - 14
    assert first(288, 0.999 * 288) == 2  # AIN's α = 0.001: one miss is enough
    assert first(288, 288) == 2
    assert first(288, 300) == 1  # out of reach whatever is counted
    assert first(288, 0.5 * 288) == 218  # k = 145
    assert first(288, 0.5 * 288, largest=64) == 64  # never above the evaluation batch size
    assert first(288, 0) == 256 and first(288, -1, largest=64) == 64  # count it all
    # 15 counted, 12 of them wrong: 3 more misses needed at a rate of 12/15 -> 4 samples
    assert next_chunk(15, 12, 3, 273, 0.95 * 288, 256) == 4
    assert math.floor(3 + 273 - 0.95 * 288) + 1 == 3
    # 15 counted, all right: the rest (at most the evaluation batch size)
    assert next_chunk(15, 0, 15, 273, 0.95 * 288, 256) == 256
    assert next_chunk(15, 0, 15, 100, 0.5 * 115, 256) == 100
