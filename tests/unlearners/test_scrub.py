"""SCRUB (Kurmanji et al. 2023): max steps away from a frozen teacher on D_f, min steps towards it
(and the labels) on D_r."""
import copy

import pytest

from erasure.unlearners import scrub  # registers Scrub
from tests.helpers import accuracy, digits_config, trained_session
from tests.unlearners import fixtures as fx

#: Fine-tuning with SCRUB's default optimizer and epochs: the same min steps on D_r, no teacher.
FINETUNING = {"class": "Finetuning", "parameters": {"epochs": 3, "optimizer": {
    "class": "SGD", "parameters": {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}}}}


def spy(monkeypatch, teacher=None):
    """Records the teacher SCRUB builds and the mean KL of each pass, as ``(maximise, value)``;
    ``teacher`` replaces how the teacher is built."""
    seen = {"teachers": [], "passes": []}
    build, run_pass = teacher or scrub.Scrub.teacher, scrub.Scrub._pass

    def recording_teacher(self, model):
        built = build(self, model)
        seen["teachers"].append(built)
        return built

    def recording_pass(self, *args, maximise, **kwargs):
        value = run_pass(self, *args, maximise=maximise, **kwargs)
        seen["passes"].append((maximise, float(value)))
        return value

    monkeypatch.setattr(scrub.Scrub, "teacher", recording_teacher)
    monkeypatch.setattr(scrub.Scrub, "_pass", recording_pass)
    return seen


def independence_problems(teacher, student, original, passes) -> list[str]:
    """What is wrong with SCRUB's teacher, if anything (the checks a shared teacher fails)."""
    problems = []
    if teacher is student:
        problems.append("the teacher is the student")
    student_storage = {p.data_ptr() for p in student.parameters()}
    if any(p.data_ptr() in student_storage for p in teacher.parameters()):
        problems.append("the teacher shares parameter storage with the student")
    if not fx.same_weights(teacher, original):
        problems.append("the teacher's weights moved away from the original's")
    # the first max pass starts where student = teacher, at the KL's minimum (zero gradient);
    # once the min steps have moved the student, a real teacher gives a clearly positive KL
    if not [kl for maximise, kl in passes if maximise][-1] > 0.1:
        problems.append("the last max pass had (nearly) zero KL")
    return problems


def test_scrub_forgets_a_class_and_keeps_retain_accuracy_where_finetuning_does_not():
    session = fx.session("class", [{"class": "Scrub"}, FINETUNING])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]

    assert m["accuracy.forget.original"] == 1.0
    assert m["accuracy.forget.unlearned"] <= 0.10  # measured 0.0 (gold: 0.0)
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.05  # .993 vs .998
    # class 3 is a tenth of the test set: gold's test accuracy is about 0.88
    assert m["accuracy.test.unlearned"] >= 0.80  # measured .864 (gold .877)

    # the same min steps without the teacher's max steps barely forget
    record, _ = fx.unlearn(session, 1)
    assert record["metrics"]["accuracy.forget.unlearned"] >= 0.9  # measured .993


def test_the_teacher_is_an_independent_frozen_copy_of_the_original(monkeypatch):
    session = fx.session("class", [])
    seen = spy(monkeypatch)
    unlearner = fx.build_unlearner({"class": "Scrub"})
    model = fx.run_by_hand(session, unlearner, seed=1)

    [teacher] = seen["teachers"]
    assert independence_problems(teacher, model, session.original, seen["passes"]) == []
    assert not teacher.training
    assert accuracy(teacher, session.data, "forget") == 1.0  # still the original
    assert not fx.same_weights(model, session.original)
    # max, min, max, min, min; the student moves away from the teacher on D_f: the first max
    # pass starts at the KL's minimum (mean KL·T² measured 2.6e-7, moved by weight decay only;
    # rounding can put it just below zero: -8.2e-8 seen on another machine), the second after
    # a min pass (measured 1.17)
    assert [maximise for maximise, _ in seen["passes"]] == [True, False, True, False, False]
    (_, first), (_, second) = [p for p in seen["passes"] if p[0]]
    assert abs(first) < 1e-4 and second > 0.1


def test_a_teacher_sharing_the_students_parameters_is_caught_and_is_mere_finetuning(monkeypatch):
    """The defect of an earlier implementation: a shallow copy shares the student's parameters,
    so every KL term is zero and only the cross-entropy on D_r is left."""
    session = fx.session("class", [])
    seen = spy(monkeypatch, teacher=lambda self, model: copy.copy(model).eval())
    unlearner = fx.build_unlearner({"class": "Scrub"})
    model = fx.run_by_hand(session, unlearner, seed=1)

    [teacher] = seen["teachers"]
    problems = independence_problems(teacher, model, session.original, seen["passes"])
    assert problems == ["the teacher shares parameter storage with the student",
                        "the teacher's weights moved away from the original's",
                        "the last max pass had (nearly) zero KL"]
    assert all(kl == 0 for maximise, kl in seen["passes"] if maximise)
    # and nothing is forgotten, as with fine-tuning
    assert accuracy(model, session.data, "forget") >= 0.9  # measured .993


@pytest.mark.parametrize("parameters, message", [
    ({"alpha": -0.1}, "alpha must be at least 0"),
    ({"gamma": -1}, "gamma must be at least 0"),
    ({"temperature": 0}, "temperature must be positive"),
    ({"msteps": -1}, "msteps must be at least 0"),
    ({"msteps": 4, "epochs": 3}, r"msteps \(4\) must be at most epochs \(3\)"),
    ({"forget_batch_size": 0}, "forget_batch_size must be at least 1"),
])
def test_bad_hyper_parameters_are_rejected_before_any_work(parameters, message):
    fx.assert_rejected({"class": "Scrub", "parameters": parameters}, message)


def test_scrub_with_a_diverging_loss_raises():
    fx.assert_diverges({"class": "Scrub", "parameters": {
        "optimizer": {"class": "SGD", "parameters": {"lr": 1e8}}}},
        "loss became .* in the (max|min) steps of epoch 1")


def test_scrub_on_a_small_cnn_with_batch_norm_forgets_at_the_papers_learning_rate():
    # with batch norm the student (batch statistics) and teacher (running statistics) differ from
    # the first max step; the paper's lr 5e-4 suits that (the MLP default 0.01 collapses it)
    paper_sgd = {"class": "SGD", "parameters": {"lr": 5e-4, "momentum": 0.9, "weight_decay": 5e-4}}
    config = digits_config("class", [{"class": "Scrub", "parameters": {"optimizer": paper_sgd}}],
                           fx.MEASURES, image=True, model={"class": "SmallCNN"}, epochs=3)
    session = trained_session(config)
    record, model = fx.unlearn(session, 0)
    m = record["metrics"]

    assert not fx.same_weights(model, session.original)
    assert m["accuracy.forget.original"] >= 0.95
    assert m["accuracy.forget.unlearned"] <= 0.10  # measured 0.0 (original .993)
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.05  # .987 vs .987


def test_scrub_runs_on_a_random_forget_set_through_the_pipeline():
    session = fx.session("random", [{"class": "Scrub"}], fx.MEASURES + [{"class": "UMIA"}])
    record, _ = fx.unlearn(session, 0)
    m = record["metrics"]
    # reported, not asserted against the paper: scenario B numbers are in the report
    assert 0 <= m["umia.forget.unlearned"] <= 1
    assert m["accuracy.retain.unlearned"] >= m["accuracy.retain.original"] - 0.05
