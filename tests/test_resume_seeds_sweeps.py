"""Many runs made cheap and safe: seeds, sweeps, and resuming an interrupted run to exactly the
results of an uninterrupted one."""
from __future__ import annotations

import json

import pytest

from erasure import Interrupted, Session, prepare, run
from erasure.config import ConfigError
from erasure.config.overrides import apply_overrides
from erasure.results import load as results_frame
from tests.helpers import digits_config

MEASURES = [{"class": "Accuracy", "parameters": {"partition": ["forget", "test"]}},
            {"class": "UMIA"}]
UNLEARNERS = [{"class": "GoldModel"}, {"class": "NegGrad"},
              {"class": "Finetuning", "parameters": {"epochs": 2}}, {"class": "SuccessiveRandomLabels"}]


def config(tmp_path, **globals_):
    c = digits_config(unlearners=UNLEARNERS, measures=MEASURES, epochs=8)
    c["globals"].update(cache_dir=str(tmp_path / "cache"), **globals_)
    return c


def load(path):
    return json.loads(path.read_text())


def test_each_seed_is_a_whole_experiment(tmp_path):
    doc = load(run(prepare(config(tmp_path, seeds=[0, 1])), output=tmp_path / "out"))
    assert doc["seeds"] == [0, 1]
    names = [r["name"] for r in doc["records"]]
    assert names == ["GoldModel", "NegGrad", "Finetuning", "SuccessiveRandomLabels"] * 2
    assert [r["seed"] for r in doc["records"]] == [0] * 4 + [1] * 4
    assert set(doc["models"]) == {"0", "1"} and set(doc["timings"]) == {"0", "1", "total"}
    by_seed = {s: [r for r in doc["records"] if r["seed"] == s] for s in (0, 1)}
    # different seeds draw different splits and initialisations
    assert by_seed[0][1]["metrics"] != by_seed[1][1]["metrics"]
    # seed 1 of the multi-seed run is exactly a single run with seed 1
    single = load(run(prepare(config(tmp_path, seed=1)), output=tmp_path / "single"))
    assert [r["metrics"] for r in single["records"]] == [r["metrics"] for r in by_seed[1]]


def test_seeds_are_checked(tmp_path):
    for bad in ([], [1, 1]):
        with pytest.raises(ConfigError, match="seeds"):
            prepare(config(tmp_path, seeds=bad))
    assert prepare(config(tmp_path, seeds=[3, 4])).settings.all_seeds() == [3, 4]


def test_a_sweep_is_one_named_record_per_point(tmp_path):
    c = config(tmp_path)
    c["unlearners"] = [{"class": "Finetuning",
                        "parameters": {"optimizer": {"class": "SGD", "parameters": {"lr": 0.1}}},
                        "sweep": {"epochs": [1, 3], "optimizer.parameters.lr": [0.01, 0.1]}},
                       {"class": "Identity"}]
    plan = prepare(c)
    assert plan.names == ["Finetuning[epochs=1,lr=0.01]", "Finetuning[epochs=1,lr=0.1]",
                          "Finetuning[epochs=3,lr=0.01]", "Finetuning[epochs=3,lr=0.1]", "Identity"]
    assert [(u.epochs, u.optimizer.kwargs["lr"]) for u in plan.unlearners[:4]] == \
        [(1, 0.01), (1, 0.1), (3, 0.01), (3, 0.1)]
    doc = load(run(plan, output=tmp_path / "out"))
    records = {r["name"]: r for r in doc["records"]}
    assert records["Finetuning[epochs=3,lr=0.1]"]["config"]["parameters"]["epochs"] == 3
    assert len({json.dumps(r["metrics"], sort_keys=True) for r in doc["records"][:4]}) == 4
    # each point's record says where it sits in the sweep; the other records have no "sweep"
    assert [r.get("sweep") for r in doc["records"]] == [
        {"epochs": e, "optimizer.parameters.lr": lr} for e in (1, 3) for lr in (0.01, 0.1)] + [None]
    # ... and so does each of its rows in the long form
    frame = results_frame(doc)
    assert list(frame.columns[4:6]) == ["epochs", "optimizer.parameters.lr"]
    point = frame[frame.record == "Finetuning[epochs=3,lr=0.01]"]
    assert len(point) == len(records["Finetuning[epochs=3,lr=0.01]"]["metrics"])
    assert (point.epochs == 3).all() and (point["optimizer.parameters.lr"] == 0.01).all()
    assert frame[frame.record == "Identity"].epochs.isna().all()


@pytest.mark.parametrize("sweep, message", [
    ({"epoch": [1, 2]}, "unlearners[0].parameters.epoch: Invalid parameter 'epoch' for Finetuning"),
    ({"epochs": []}, "unlearners[0].sweep.epochs: must be a non-empty list of values"),
    ([1, 2], "unlearners[0].sweep: a sweep is an object"),
    ({"epochs": [0, 1]}, "unlearners[0]"),
])
def test_bad_sweeps_are_config_errors(tmp_path, sweep, message):
    c = config(tmp_path)
    c["unlearners"] = [{"class": "Finetuning", "sweep": sweep}]
    with pytest.raises(ConfigError) as e:
        prepare(c)
    assert message in str(e.value)
    assert str(e.value).count(message) == 1  # a problem shared by sweep points is shown once


def interrupt_after(monkeypatch, n):
    """Makes the run stop (as SIGTERM does) when it starts its (n+1)-th record."""
    real, calls = Session.unlearn, []

    def unlearn(self, index):
        calls.append(index)
        if len(calls) > n:
            raise Interrupted("SIGTERM")
        return real(self, index)

    monkeypatch.setattr(Session, "unlearn", unlearn)


def test_resume_finishes_an_interrupted_run_with_identical_records(tmp_path, monkeypatch):
    c = config(tmp_path, seeds=[0, 1])
    whole = load(run(prepare(c), output=tmp_path / "whole"))

    with monkeypatch.context() as m:
        interrupt_after(m, 5)
        with pytest.raises(Interrupted) as stopped:
            run(prepare(c), output=tmp_path / "cut")
    cut = load(stopped.value.results)
    assert cut["status"] == "interrupted" and len(cut["records"]) == 5
    assert cut["missing_records"] == ["NegGrad (seed 1)", "Finetuning (seed 1)",
                                      "SuccessiveRandomLabels (seed 1)"]

    ran = []
    real = Session.unlearn
    monkeypatch.setattr(Session, "unlearn", lambda self, i: ran.append((self.seed, i)) or real(self, i))
    resumed = load(run(prepare(c), output=tmp_path / "cut", resume=True))
    assert ran == [(1, 1), (1, 2), (1, 3)]  # only what was missing
    assert resumed["status"] == "finished" and "missing_records" not in resumed
    assert [(r["name"], r["seed"]) for r in resumed["records"]] == \
        [(r["name"], r["seed"]) for r in whole["records"]]
    assert [r["metrics"] for r in resumed["records"]] == [r["metrics"] for r in whole["records"]]
    assert not (tmp_path / "cut-2").exists()


def test_resume_refuses_results_of_another_config(tmp_path):
    c = config(tmp_path)
    run(prepare(c), output=tmp_path / "out")
    c["predictor"]["parameters"]["epochs"] = 9
    with pytest.raises(ConfigError, match="come from a different config"):
        run(prepare(c), output=tmp_path / "out", resume=True)


def test_resume_without_results_starts_afresh_and_a_finished_run_is_kept(tmp_path, monkeypatch):
    c = config(tmp_path)
    first = load(run(prepare(c), output=tmp_path / "out", resume=True))
    assert first["status"] == "finished"
    ran = []
    monkeypatch.setattr(Session, "unlearn", lambda self, i: ran.append(i))
    again = load(run(prepare(c), output=tmp_path / "out", resume=True))
    assert ran == [] and again["records"] == first["records"]


def test_overrides_change_one_value(tmp_path):
    c = apply_overrides(config(tmp_path), ["predictor.parameters.epochs=3",
                                           "unlearners[2].parameters.epochs=4",
                                           "data.parameters.DataSource.parameters.name=digits"])
    plan = prepare(c)
    assert plan.predictor.epochs == 3 and plan.unlearners[2].epochs == 4
    with pytest.raises(ConfigError) as e:
        apply_overrides(c, ["unlearners.9.parameters.epochs=1", "epochs"])
    assert [p.path for p in e.value.problems] == ["--set unlearners.9.parameters.epochs=1", "--set epochs"]
