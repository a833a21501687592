"""The median pruner stops hopeless trials (with the default objective), and a pruned trial
counts toward the budget; ``"prune": false`` lets every trial finish."""
from __future__ import annotations

from tests.tuning.common import WIDE_NEGGRAD_SPACE, config, records, run_config

TRIALS = 10


def tuned(prune: bool) -> dict:
    return {"class": "NegGrad", "tune": {"trials": TRIALS, "space": WIDE_NEGGRAD_SPACE,
                                         "prune": prune}}


def test_pruned_trials_count_toward_the_budget(tmp_path, cache_dir):
    doc = run_config(config([tuned(True)], cache_dir=cache_dir), tmp_path / "out")
    tuning = records(doc)["NegGrad"]["tuning"]
    assert tuning["pruned"] >= 1
    assert tuning["trials"] == TRIALS == tuning["complete"] + tuning["pruned"] + tuning["failed"]
    assert len(tuning["history"]) == TRIALS
    assert [n for n, _, _ in tuning["history"]] == list(range(TRIALS))
    for _, value, state in tuning["history"]:
        assert (value is None) == (state == "pruned")
    # the median pruner waits for 5 finished trials before it stops any
    assert all(state == "complete" for _, _, state in tuning["history"][:5])
    complete = [value for _, value, state in tuning["history"] if state == "complete"]
    assert tuning["value"] == min(complete)


def test_no_pruning_when_turned_off(tmp_path, cache_dir):
    doc = run_config(config([tuned(False)], cache_dir=cache_dir), tmp_path / "out")
    tuning = records(doc)["NegGrad"]["tuning"]
    assert tuning["pruned"] == 0
    assert tuning["trials"] == tuning["complete"] == TRIALS
    assert all(value is not None for _, value, _ in tuning["history"])
