"""Bad Teaching (Chundawat et al. 2023): distil the student from an incompetent (random) teacher on
D_f and from the competent original on a subset of D_r, in one loader of mixed batches."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from erasure.seeding import generator
from erasure.unlearners import (  # importing bad_teaching registers BadTeaching
    UnlearningContext,
    bad_teaching,
)
from tests.helpers import accuracy, digits_config, trained_session
from tests.unlearners import fixtures as fx


def spy_teachers(monkeypatch):
    """Records the ``(competent, incompetent)`` teachers each run builds, with a snapshot of the
    incompetent one's weights as built."""
    seen = []
    build = bad_teaching.BadTeaching.teachers

    def recording(self, model, ctx):
        competent, incompetent = build(self, model, ctx)
        seen.append((competent, incompetent, fx.weights(incompetent)))
        return competent, incompetent

    monkeypatch.setattr(bad_teaching.BadTeaching, "teachers", recording)
    return seen


def outputs(model, data, partition):
    x, _ = data.tensors(partition)
    model.eval()
    with torch.inference_mode():
        return F.softmax(model(x), dim=1)


def kl(p, q):
    """Mean KL(p ‖ q) over the rows."""
    return (p * (p.clamp_min(1e-12).log() - q.clamp_min(1e-12).log())).sum(1).mean().item()


def test_bad_teaching_forgets_a_class_and_keeps_retain_accuracy():
    session = fx.session("class", [{"class": "BadTeaching"}])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]

    assert m["accuracy.forget.original"] == 1.0
    assert m["accuracy.forget.unlearned"] <= 0.10  # measured 0.014 (gold: 0.0)
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.05  # .966 vs .998
    # class 3 is a tenth of the test set: gold's test accuracy is about 0.88
    assert m["accuracy.test.unlearned"] >= 0.78  # measured .833 (gold .877)


def test_teachers_are_a_frozen_original_and_a_fresh_random_network(monkeypatch):
    session = fx.session("class", [])
    seen = spy_teachers(monkeypatch)
    unlearner = fx.build_unlearner({"class": "BadTeaching"})
    before = outputs(session.original, session.data, "forget")
    model = fx.run_by_hand(session, unlearner, seed=1)
    [(competent, incompetent, as_built)] = seen

    # the competent teacher is still the original, bit for bit, and shares nothing with the student
    assert fx.same_weights(competent, session.original)
    student_storage = {p.data_ptr() for p in model.parameters()}
    for teacher in (competent, incompetent):
        assert teacher is not model and not teacher.training
        assert not student_storage & {p.data_ptr() for p in teacher.parameters()}

    # the incompetent teacher: same architecture, freshly initialised, never trained
    assert type(incompetent) is type(session.original)
    assert {k: v.shape for k, v in incompetent.state_dict().items()} == \
        {k: v.shape for k, v in session.original.state_dict().items()}
    assert all(torch.equal(v, as_built[k]) for k, v in incompetent.state_dict().items())
    assert accuracy(incompetent, session.data, "test") <= 0.25  # measured 0.13; chance is 0.1
    random_out = outputs(incompetent, session.data, "forget")
    assert random_out.max(1).values.mean() <= 0.2  # close to uniform: measured 0.12

    # the student moved towards the random teacher on D_f (KL measured 10.9 -> 2.5) and still
    # agrees with the original on D_r
    after = outputs(model, session.data, "forget")
    assert kl(random_out, after) <= 0.5 * kl(random_out, before)
    agree = (outputs(model, session.data, "retain").argmax(1)
             == outputs(session.original, session.data, "retain").argmax(1)).float().mean()
    assert agree >= 0.95  # measured .97


def test_blended_target_takes_the_incompetent_teacher_on_forget_rows_only():
    competent = torch.tensor([[4.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 3.0]])
    incompetent = torch.tensor([[0.0, 0.0, 5.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    is_forget = torch.tensor([1.0, 0.0, 1.0])

    for temperature in (1.0, 2.0):
        target = bad_teaching.blended_target(competent, incompetent, is_forget, temperature)
        good = F.softmax(competent / temperature, dim=1)
        bad = F.softmax(incompetent / temperature, dim=1)
        torch.testing.assert_close(target, torch.stack([bad[0], good[1], bad[2]]))


class Recorder(nn.Module):
    """A linear model that notes the sample ids (its single input feature) of each batch."""

    def __init__(self, classes):
        super().__init__()
        self.linear = nn.Linear(1, classes)
        self.batches: list[torch.Tensor] = []

    def forward(self, x):
        self.batches.append(x[:, 0].long())
        return self.linear(x)


def test_one_mixed_loader_over_the_forget_set_and_a_fixed_retain_subset():
    classes, epochs, n = 4, 3, 60
    x = torch.arange(n, dtype=torch.float32)[:, None]  # each sample's feature is its id
    y = torch.arange(n) % classes
    forget, retain = list(range(10)), list(range(10, n))
    data = fx.tiny_data(x, y, {"forget": forget, "retain": retain}, num_classes=classes)
    torch.manual_seed(0)
    model = Recorder(classes)
    predictor = SimpleNamespace(batch_size=8, new_model=lambda data: Recorder(classes))
    ctx = UnlearningContext(data=data, predictor=predictor, generator=generator(3), seed=3,
                            gold=None)
    unlearner = fx.build_unlearner({"class": "BadTeaching", "parameters": {
        "epochs": epochs, "retain_fraction": 0.3, "batch_size": 8}})

    unlearner.unlearn(model, ctx)

    # the student's own forwards only (each teacher records into its own copy)
    assert all(len(b) <= 8 for b in model.batches)
    seen = torch.cat(model.batches)
    per_epoch = len(forget) + 15  # 30% of the 50 retain samples
    assert len(seen) == epochs * per_epoch
    subsets, orders = [], []
    for epoch in range(epochs):
        ids = seen[epoch * per_epoch:(epoch + 1) * per_epoch].tolist()
        assert len(set(ids)) == per_epoch  # each sample once per epoch
        assert set(forget) <= set(ids)
        subsets.append(frozenset(ids) - set(forget))
        orders.append(ids)
    assert len(set(subsets)) == 1 and set(subsets[0]) <= set(retain)  # drawn once, kept
    assert len({tuple(o) for o in orders}) == epochs  # reshuffled every epoch
    # batches mix forget and retain samples (no per-partition passes)
    assert any(0 < sum(i < 10 for i in b.tolist()) < len(b) for b in model.batches)


@pytest.mark.parametrize("parameters, message", [
    ({"retain_fraction": 1.5}, r"retain_fraction must lie in \[0, 1\]"),
    ({"retain_fraction": -0.1}, r"retain_fraction must lie in \[0, 1\]"),
    ({"temperature": 0}, "temperature must be positive"),
    ({"epochs": 0}, "epochs must be at least 1"),
])
def test_bad_hyper_parameters_are_rejected_before_any_work(parameters, message):
    fx.assert_rejected({"class": "BadTeaching", "parameters": parameters}, message)


def test_bad_teaching_with_a_diverging_loss_raises():
    # the KL's gradient in the logits is bounded (a difference of probabilities): only an absurd
    # step overflows the logits (lr 1e12 still gives finite weights of 1e21)
    fx.assert_diverges({"class": "BadTeaching", "parameters": {
        "optimizer": {"class": "SGD", "parameters": {"lr": 1e20}}}}, "loss became .* in epoch")


def test_bad_teaching_on_a_small_cnn_with_batch_norm_copies_the_random_teacher(monkeypatch):
    seen = spy_teachers(monkeypatch)
    config = digits_config("class", [{"class": "BadTeaching"}], fx.MEASURES, image=True,
                           model={"class": "SmallCNN"}, epochs=3)
    session = trained_session(config)
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]
    [(competent, incompetent, _)] = seen

    assert not fx.same_weights(model, session.original)
    assert fx.same_weights(competent, session.original)
    # the outputs on D_f flatten towards the random teacher's (KL measured 6.6 -> 0.65, mean top
    # probability 0.97 -> 0.43); class 3 still wins many near-ties (forget accuracy measured
    # 0.83), which is why this test does not assert on it
    random_out = outputs(incompetent, session.data, "forget")
    before, after = (outputs(x, session.data, "forget") for x in (session.original, model))
    assert kl(random_out, after) <= 0.2 * kl(random_out, before)
    assert before.max(1).values.mean() >= 0.9 and after.max(1).values.mean() <= 0.6
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.05  # .984 vs .987


def test_bad_teaching_runs_on_a_random_forget_set_through_the_pipeline():
    session = fx.session("random", [{"class": "BadTeaching"}], fx.MEASURES + [{"class": "UMIA"}])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]
    # reported, not asserted against the paper: scenario B numbers are in the report
    assert 0 <= m["umia.forget.unlearned"] <= 1
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.10
