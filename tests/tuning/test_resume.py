"""A run stopped in the middle of a study resumes it: the trials already told are kept, the one
running when the signal came does not count, and the result is the uninterrupted run's."""
from __future__ import annotations

import optuna
import pytest

from erasure import Interrupted
from erasure.tuning import study
from tests.tuning.common import config, load, neggrad, records, run_config

TRIALS = 6
STOP_AT = 4  # the 4th trial is interrupted: 3 are told, 3 remain


def test_an_interrupted_study_resumes_to_the_uninterrupted_result(tmp_path, cache_dir,
                                                                  monkeypatch):
    c = config([{"class": "Identity"}, neggrad(trials=TRIALS)], cache_dir=cache_dir)
    uninterrupted = records(run_config(c, tmp_path / "whole"))["NegGrad"]
    whole = uninterrupted["tuning"]

    calls = []
    call = study._Trials.__call__

    def interrupting(self, trial, values):
        calls.append(trial.number)
        if len(calls) == STOP_AT:
            raise Interrupted("SIGINT")  # what the signal handler raises, mid-trial
        return call(self, trial, values)

    monkeypatch.setattr(study._Trials, "__call__", interrupting)
    out = tmp_path / "stopped"
    with pytest.raises(Interrupted) as stopped:
        run_config(c, out)
    assert stopped.value.results == out / "results.json"
    partial = load(out / "results.json")
    assert partial["status"] == "interrupted"
    assert [r["name"] for r in partial["records"]] == ["Identity"]
    assert partial["missing_records"] == ["NegGrad"]
    storage = f"sqlite:///{out / 'tuning.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    told = optuna.load_study(study_name=summary.study_name, storage=storage).trials
    assert [t.state for t in told] == [optuna.trial.TrialState.COMPLETE] * (STOP_AT - 1) + \
        [optuna.trial.TrialState.FAIL]
    assert told[-1].user_attrs == {"interrupted": True}

    monkeypatch.setattr(study._Trials, "__call__", call)
    resumed = run_config(c, out, resume=True)
    assert resumed["status"] == "finished"
    record = records(resumed)["NegGrad"]
    tuning = record["tuning"]
    trials = optuna.load_study(study_name=summary.study_name, storage=storage).trials
    # the budget, counted without the interrupted trial (which stays in the study, marked)
    assert len(trials) == TRIALS + 1
    assert [t.number for t in trials] == list(range(TRIALS + 1))
    assert trials[STOP_AT - 1].user_attrs.get("interrupted") is True
    counted = [t for t in trials if not t.user_attrs.get("interrupted")]
    assert len(counted) == TRIALS
    assert tuning["trials"] == TRIALS
    assert (tuning["complete"], tuning["pruned"], tuning["failed"]) == \
        (whole["complete"], whole["pruned"], whole["failed"])
    assert [n for n, _, _ in tuning["history"]] == [t.number for t in counted]
    # the resumed study drew what the uninterrupted one drew, trial for trial
    assert tuning["params"] == whole["params"]
    assert tuning["value"] == whole["value"]
    assert [(v, state) for _, v, state in tuning["history"]] == \
        [(v, state) for _, v, state in whole["history"]]
    assert tuning["study_name"] == whole["study_name"]
    assert record["config"] == uninterrupted["config"]
    assert record["metrics"] == uninterrupted["metrics"]
