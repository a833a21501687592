"""Objectives named by a configured measure's key: its own direction, or one given."""
from __future__ import annotations

import pytest

from tests.tuning.common import ACCURACY, config, run_config

SPACE = {"optimizer.parameters.lr": {"low": 1e-3, "high": 0.1, "log": True},
         "epochs": {"low": 1, "high": 3}}


def finetuning(objective) -> dict:
    return {"class": "Finetuning", "tune": {"trials": 4, "space": SPACE, "objective": objective}}


def test_a_measure_key_objective_takes_the_measure_direction(tmp_path, cache_dir):
    c = config([finetuning("tow.forget.unlearned")], cache_dir=cache_dir,
               measures=[ACCURACY, {"class": "ToW"}])
    (record,) = run_config(c, tmp_path / "out")["records"]
    assert record["status"] == "finished", record["error"]
    tuning = record["tuning"]
    assert (tuning["objective"], tuning["direction"]) == ("tow.forget.unlearned", "maximize")
    complete = [v for _, v, state in tuning["history"] if state == "complete"]
    assert len(complete) == tuning["trials"] == 4  # no per-epoch reports: nothing is pruned
    assert tuning["value"] == max(complete)
    assert 0.0 < tuning["value"] <= 1.0  # ToW is a product of three numbers in [0, 1]
    # the record itself is measured with every configured measure, on the evaluated data
    assert 0.0 < record["metrics"]["tow.forget.unlearned"] <= 1.0


def test_an_objective_with_its_direction(tmp_path, cache_dir):
    c = config([finetuning({"key": "accuracy.forget.unlearned", "direction": "minimize"})],
               cache_dir=cache_dir)
    (record,) = run_config(c, tmp_path / "out")["records"]
    assert record["status"] == "finished", record["error"]
    tuning = record["tuning"]
    assert (tuning["objective"], tuning["direction"]) == ("accuracy.forget.unlearned", "minimize")
    complete = [v for _, v, state in tuning["history"] if state == "complete"]
    assert len(complete) == 4
    assert tuning["value"] == min(complete)
    # an accuracy on the stand-in forget set: a multiple of 1/|forget|
    size = tuning["stand_in"]["forget"]["size"]
    assert tuning["value"] * size == pytest.approx(round(tuning["value"] * size), abs=1e-3)
