"""Runtime: seconds per stage, as timed by the pipeline."""
from dataclasses import replace

from erasure.measures import Runtime
from tests.unlearners import fixtures as fx


def test_runtime_reports_each_timed_stage():
    ctx = fx.measure_context(fx.tiny_data(*_one_sample(), {"all": [0]}), {},
                             timings={"train_original": 1.5, "retrain": 2.25, "unlearn": 0.125})
    assert Runtime().measure(ctx) == {"runtime.train_original": 1.5, "runtime.retrain": 2.25,
                                      "runtime.unlearn": 0.125}
    ctx = replace(ctx, timings={"train_original": 1.5, "unlearn": 0.125})  # no gold model
    assert Runtime().measure(ctx) == {"runtime.train_original": 1.5, "runtime.unlearn": 0.125}


def _one_sample():
    import torch
    return torch.zeros(1, 2), torch.zeros(1, dtype=torch.long)


def test_runtime_on_digits_times_training_retraining_and_a_slow_unlearner():
    sleepy = {"class": "tests.unlearners.fixtures.Sleepy", "parameters": {"seconds": 0.2}}
    session = fx.session("class", [sleepy, {"class": "Identity"}], [{"class": "Runtime"}])
    record = session.unlearn(0)
    m = record["metrics"]

    assert record["status"] == "finished"
    assert set(m) == {"runtime.train_original", "runtime.retrain", "runtime.unlearn"}
    assert all(isinstance(v, float) and v > 0 for v in m.values())
    assert m["runtime.unlearn"] >= 0.2
    # the stages the session timed, not re-measured
    assert m["runtime.train_original"] == session.timings["train_original"]
    assert m["runtime.retrain"] == session.timings["retrain"]
    assert "runtime.load_data" not in m
    # the sleep belongs to its own record only
    assert session.unlearn(1)["metrics"]["runtime.train_original"] == m["runtime.train_original"]
