"""Tuning on the ray executor: with ``tune.parallel`` trials drawn at once, each trial of a batch
is a Ray task of its own, running beside the others — and the study and the record are the ones
the local executor gives, which runs the same batches one trial after another."""
from __future__ import annotations

import json
import os

import pytest

from erasure.plan import prepare
from tests.execution.common import comparable, run_records
from tests.helpers import digits_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
pytest.importorskip("optuna")

SLOW = '''
import os
import time
from pathlib import Path
from typing import Annotated

import torch

from erasure import FloatRange, Range, Unlearner


DRIVER = {driver}  # the test's process: the local study runs here, without pausing


class SlowScale(Unlearner):
    """Scales the last layer by ``scale``, after a pause in a Ray task (long enough for two
    tasks to overlap); notes where and when it ran."""

    scale: Annotated[float, Range(gt=0)] = 1.0
    search_space = {{"scale": FloatRange(0.2, 1.5)}}

    def unlearn(self, model, ctx):
        start = time.time()
        if os.getpid() != DRIVER:
            time.sleep(0.5)
        with torch.no_grad():
            for p in list(model.parameters())[-2:]:
                p.mul_(self.scale)
        with Path(__file__).with_name("ran.log").open("a") as file:
            file.write(f"{{os.getpid()}} {{start}} {{time.time()}} {{self.scale}}\\n")
        return model
'''


def _config(tmp_path, executor: str):
    (tmp_path / "slow.py").write_text(SLOW.format(driver=os.getpid()))
    config = digits_config(unlearners=[
        {"class": "slow.SlowScale", "tune": {"trials": 4, "parallel": 2, "prune": False}},
        {"class": "NegGrad", "tune": {"trials": 2}}], epochs=5)
    # one torch thread in both (a Ray task's default is num_cpus, this process's the test's)
    config["globals"].update(executor=executor, cache=False, threads=1)
    file = tmp_path / "tuned.jsonc"
    file.write_text(json.dumps(config))
    return prepare(config, config_file=file)


def _runs(log_file):
    return [line.split() for line in log_file.read_text().splitlines()]


def test_parallel_trials_run_as_tasks_side_by_side_with_the_local_study(ray_instance, tmp_path):
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    local = run_records(_config(tmp_path / "local", "local"), tmp_path / "local" / "out")
    on_ray = run_records(_config(tmp_path / "ray", "ray"), tmp_path / "ray" / "out")
    assert local["status"] == on_ray["status"] == "finished"
    assert comparable(on_ray["records"]) == comparable(local["records"])
    tuned = on_ray["records"][0]["tuning"]
    assert tuned["budget"]["parallel"] == 2
    assert [h[2] for h in tuned["history"]] == ["complete"] * 4
    assert len({h[1] for h in tuned["history"]}) == 4  # four different draws, each measured

    # locally: 4 trials and the final run, one after another in this process
    ran = _runs(tmp_path / "local" / "ran.log")
    assert len(ran) == 5 and len({pid for pid, *_ in ran}) == 1
    # on Ray: the trials ran as tasks in other processes than the record's (the final run), two
    # of them at the same time (the first batch may wait for its second worker to start)
    ran = _runs(tmp_path / "ray" / "ran.log")
    assert len(ran) == 5
    trials = sorted(ran[:4], key=lambda r: float(r[1]))
    assert len({pid for pid, *_ in trials}) >= 2 and ran[4][0] not in {p for p, *_ in trials}
    overlapping = [a for a, b in zip(trials, trials[1:])
                   if float(b[1]) < float(a[2]) and a[0] != b[0]]
    assert overlapping, ran
    # the same values were tried, in the same batches
    assert sorted(float(r[3]) for r in ran) == pytest.approx(
        sorted(float(r[3]) for r in _runs(tmp_path / "local" / "ran.log")), abs=0)
