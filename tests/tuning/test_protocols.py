"""The two protocols: ``held_out`` tunes on another forget set drawn like the evaluated one (for
class forgetting: another class), ``oracle`` on the evaluated forget set itself."""
from __future__ import annotations

import pytest
import torch

from erasure.tuning import study
from tests.tuning.common import config, neggrad, run_config

FORGOTTEN = 3  # tests.helpers.digits_config's class split forgets digit 3


@pytest.fixture
def worlds(monkeypatch):
    """The stand-in experiments built while a run tunes (with the session they stand in for)."""
    built = []
    build = study._build_stand_in

    def spy(session, tuning, unlearner):
        world = build(session, tuning, unlearner)
        built.append((session, world))
        return world

    monkeypatch.setattr(study, "_build_stand_in", spy)
    return built


def test_held_out_class_forgetting_tunes_on_another_class(tmp_path, cache_dir, worlds):
    doc = run_config(config([neggrad(trials=3)], cache_dir=cache_dir, forget="class"),
                     tmp_path / "out")
    (record,) = doc["records"]
    assert record["status"] == "finished", record["error"]
    tuning = record["tuning"]
    assert tuning["protocol"] == tuning["stand_in"]["protocol"] == "held_out"
    ((session, world),) = worlds
    y = session.data.y.cpu()
    evaluated = session.data["forget"].cpu()
    assert set(y[evaluated].tolist()) == {FORGOTTEN}
    stand_in = world.session.data[world.forget].cpu()
    (other,) = set(y[stand_in].tolist())  # one class, as the split says
    assert other != FORGOTTEN
    assert tuning["stand_in"]["forget"]["drawn"] == \
        f"drawn like 'forget' by ClassSplit (classes [{other}])"
    assert tuning["stand_in"]["forget"]["size"] == len(stand_in)
    # every training sample of that class, outside V (the whole class is forgotten)
    training = world.session.data["train"].cpu()
    assert torch.equal(stand_in, training[y[training] == other])
    # there the evaluated class is ordinary training data: retained (what is not in V)
    stand_retain = world.session.data["retain"].cpu()
    assert torch.isin(evaluated, stand_retain).sum() + \
        torch.isin(evaluated, world.session.data[study.VALIDATION].cpu()).sum() == len(evaluated)
    assert not torch.isin(stand_in, stand_retain).any()


def test_oracle_tunes_on_the_evaluated_forget_set(tmp_path, cache_dir, worlds):
    doc = run_config(config([neggrad(trials=3, protocol="oracle")], cache_dir=cache_dir,
                            forget="class"), tmp_path / "out")
    (record,) = doc["records"]
    assert record["status"] == "finished", record["error"]
    tuning = record["tuning"]
    assert tuning["protocol"] == tuning["stand_in"]["protocol"] == "oracle"
    assert tuning["stand_in"]["forget"]["drawn"] == "the evaluated forget set 'forget'"
    ((session, world),) = worlds
    assert torch.equal(world.session.data[world.forget].cpu(), session.data["forget"].cpu())
    assert tuning["stand_in"]["forget"]["size"] == doc["partitions"]["forget"]
    # the stand-in retain set is the evaluated one without V
    retain = session.data["retain"].cpu()
    stand_retain = world.session.data["retain"].cpu()
    validation = world.session.data[study.VALIDATION].cpu()
    assert torch.equal(stand_retain, retain[~torch.isin(retain, validation)])
    assert tuning["stand_in"]["retain"] + tuning["stand_in"]["validation"]["size"] == len(retain)


def test_held_out_random_forgetting_draws_a_disjoint_forget_set(tmp_path, cache_dir, worlds):
    doc = run_config(config([neggrad(trials=3)], cache_dir=cache_dir), tmp_path / "out")
    (record,) = doc["records"]
    assert record["tuning"]["protocol"] == "held_out"
    assert record["tuning"]["stand_in"]["forget"]["drawn"] == \
        "drawn like 'forget' by PercentageSplit"
    ((session, world),) = worlds
    evaluated = session.data["forget"].cpu()
    stand_in = world.session.data[world.forget].cpu()
    assert not torch.isin(stand_in, evaluated).any()
    # the evaluated forget set is retained there (outside V)
    validation = world.session.data[study.VALIDATION].cpu()
    assert torch.equal(torch.isin(evaluated, world.session.data["retain"].cpu()),
                       ~torch.isin(evaluated, validation))
    # drawn like it: 10% of what the splitter reads there (the stand-in's training data
    # outside the evaluated forget set)
    training = world.session.data["train"].cpu()
    pool = len(training) - int(torch.isin(evaluated, training).sum())
    assert len(stand_in) == pytest.approx(0.1 * pool, abs=1)
