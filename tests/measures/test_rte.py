"""RTE: unlearning time relative to retraining time, both as the pipeline timed them."""
import pytest
import torch

import erasure.measures.rte  # noqa: F401  (registers RTE)
from erasure.config import ConfigError
from erasure.measures import NotApplicable
from erasure.measures.rte import RTE
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.unlearners import fixtures as fx


def context(timings):
    data = fx.tiny_data(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), {"retain": [0]})
    return fx.measure_context(data, {}, timings=timings)


def test_rte_is_unlearning_time_over_retraining_time():
    ctx = context({"train_original": 3.0, "retrain": 2.5, "unlearn": 0.5})
    assert RTE().measure(ctx) == {"rte.unlearn": 0.2}
    # several gold models: each retraining is timed under its partition
    ctx = context({"retrain.retain": 4.0, "retrain.other": 1.0, "unlearn": 1.0})
    assert RTE().measure(ctx) == {"rte.unlearn": 0.25}
    assert RTE(retain="other").measure(ctx) == {"rte.unlearn": 1.0}


def test_rte_does_not_apply_without_a_retraining_time():
    with pytest.raises(NotApplicable, match="no retraining time .* 'retain'"):
        RTE().measure(context({"train_original": 3.0, "unlearn": 0.5}))


def test_rte_asks_for_the_gold_model_so_retraining_is_timed():
    plan = prepare(digits_config("class", [{"class": "Identity"}], [{"class": "RTE"}]))
    assert plan.gold_partitions == ["retain"]
    with pytest.raises(ConfigError, match="unknown partition 'retian'"):
        prepare(digits_config("class", [{"class": "Identity"}],
                              [{"class": "RTE", "parameters": {"retain": "retian"}}]))


def test_rte_on_digits_matches_the_pipeline_timings():
    sleepy = {"class": "tests.unlearners.fixtures.Sleepy", "parameters": {"seconds": 0.2}}
    session = fx.session("class", [sleepy], [{"class": "Runtime"}, {"class": "RTE"}])
    record = session.unlearn(0)
    m = record["metrics"]
    assert record["status"] == "finished" and not record["not_applicable"]
    assert m["rte.unlearn"] == m["runtime.unlearn"] / session.timings["retrain"]
    assert m["rte.unlearn"] >= 0.2 / session.timings["retrain"]
    # the GoldModel record only copies the shared gold model: far cheaper than retraining
    assert session.unlearn(1)["metrics"]["rte.unlearn"] < 0.1
