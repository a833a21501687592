"""Two processes tuning into one study file at once (``"storage"`` names a shared SQLite file):
both finish, and the study they share stays valid."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna

from tests.tuning.common import config, load, neggrad, write_config

ROOT = Path(__file__).resolve().parent.parent.parent
TRIALS = 6


def test_two_processes_share_one_study(tmp_path, cache_dir):
    c = config([neggrad(trials=TRIALS, storage="shared/study.db")], cache_dir=cache_dir)
    file = write_config(tmp_path / "tuned.json", c)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.Popen([sys.executable, str(ROOT / "main.py"), str(file), "--output",
                              str(tmp_path / name), "--quiet", "--no-plots"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("a", "b")]
    for process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
    storage = f"sqlite:///{tmp_path / 'shared' / 'study.db'}"
    (summary,) = optuna.get_all_study_summaries(storage)
    trials = optuna.load_study(study_name=summary.study_name, storage=storage).trials
    states = optuna.trial.TrialState
    # numbered without gaps, each told; together the two ran the budget (each checks it before
    # asking, so one trial more at most: the other's, running when the budget filled)
    assert [t.number for t in trials] == list(range(len(trials)))
    assert all(t.state in (states.COMPLETE, states.PRUNED, states.FAIL) for t in trials)
    assert not any(t.user_attrs.get("interrupted") for t in trials)
    assert TRIALS <= len(trials) <= TRIALS + 1
    complete = [t for t in trials if t.state == states.COMPLETE]
    assert complete
    for name in ("a", "b"):
        doc = load(tmp_path / name / "results.json")
        assert doc["status"] == "finished"
        (record,) = doc["records"]
        assert record["status"] == "finished", record["error"]
        tuning = record["tuning"]
        assert tuning["study"] == str(tmp_path / "shared" / "study.db")
        assert tuning["study_name"] == summary.study_name
        assert TRIALS <= tuning["trials"] <= len(trials)
        # the record's choice is a trial of the shared study, the best of those it saw
        best = {t.number: t for t in complete}[tuning["best_trial"]]
        assert best.params == tuning["params"] and best.value == tuning["value"]
        seen = [value for _, value, state in tuning["history"] if state == "complete"]
        assert tuning["value"] == min(seen)
        assert not (tmp_path / name / "tuning.db").exists()  # not in the run folder


def _open_at(args: tuple[str, float]) -> str:
    from erasure.tuning import study

    path, start = args
    while time.time() < start:  # every process opens the new file at the same moment
        pass
    try:
        study._storage(Path(path))
    except Exception as e:  # noqa: BLE001 (what failed is the answer)
        return f"{type(e).__name__}: {e}"
    return "ok"


def test_a_new_study_file_opened_by_several_processes_at_once(tmp_path):
    """The race the two runs above may hit at their start, provoked: before the fix, most
    processes opening a new file together failed on the schema the first one wrote."""
    with multiprocessing.get_context("fork").Pool(3) as pool:
        for attempt in range(4):
            start = time.time() + 0.2
            opened = pool.map(_open_at, [(str(tmp_path / f"study{attempt}.db"), start)] * 3)
            assert opened == ["ok"] * 3
