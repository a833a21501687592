"""The ray executor: the same records as the local one, whatever finishes first; a dead worker's
task retried once, then recorded as failed; interrupted runs resumed on either executor; Ctrl-C
on the command line; asking for Ray without it."""
from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from erasure.cli import main
from erasure.config.overrides import Override, apply_overrides
from erasure.plan import prepare
from erasure.runner import Interrupted
from tests.execution.common import EXAMPLE, ROOT, comparable, example_plan, run_records
from tests.helpers import digits_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def local_example(tmp_path_factory):
    """The example config with seeds 0 and 1 on the local executor: the reference."""
    document = run_records(example_plan("local", cache=False),
                           tmp_path_factory.mktemp("local") / "run")
    assert document["status"] == "finished"
    assert len(document["records"]) == 30
    return document


def test_a_ray_run_gives_the_records_of_a_local_run(ray_instance, local_example, tmp_path):
    # cache off: the models are trained in a Ray task and reach the record tasks through the
    # object store — and still equal, bit for bit, the ones trained in this process; the tasks
    # keep every model in the run folder (globals.save_models), and Finetuning's curve comes back
    document = run_records(example_plan("ray", cache=False, save_models="all"), tmp_path / "ray")
    assert document["status"] == "finished"
    assert comparable(document["records"]) == comparable(local_example["records"])
    assert [(r["name"], r["seed"]) for r in document["records"]] == \
        [(r["name"], r["seed"]) for r in local_example["records"]]
    assert document["partitions"] == local_example["partitions"]
    assert list(document["timings"]) == ["0", "1", "total"]
    assert document["models"]["1"].keys() == local_example["models"]["1"].keys()
    # something real was compared: every record finished, with numbers that differ by seed
    assert all(r["status"] == "finished" for r in document["records"])
    by_seed = [[r["metrics"] for r in document["records"] if r["seed"] == s] for s in (0, 1)]
    assert sum(a != b for a, b in zip(*by_seed)) == 15
    curves = [r["curve"] for r in document["records"] if r["name"] == "Finetuning"]
    assert [c["epochs"] for c in curves] == [[0, 2, 4]] * 2
    kept = tmp_path / "ray" / "models"
    for record in document["records"]:
        assert (tmp_path / "ray" / record["saved_model"]).is_file(), record["name"]
    for seed in (0, 1):
        names = {p.name for p in (kept / f"seed-{seed}").glob("*.safetensors")}
        assert {"original.safetensors", "gold.retain.safetensors"} <= names
        assert len(names) == 2 + 15  # and one per record
    # the tasks' log lines reached the run's log, as a local run writes them
    log = (tmp_path / "ray" / "run.log").read_text()
    assert log.count("erasure.experiment: unlearner UNSIR\n") == 2
    assert log.count("erasure.experiment: training train_original on 'train'") == 2


def _interrupt_at(monkeypatch, save: int) -> None:
    """The ``save``-th write of the results file raises what SIGINT raises."""
    from erasure import runner

    real, count = runner.write_json_atomic, itertools.count(1)

    def write(path, document):
        if next(count) == save:
            raise Interrupted("SIGINT")
        real(path, document)

    monkeypatch.setattr(runner, "write_json_atomic", write)


def test_an_interrupted_run_resumes_on_the_other_executor_and_back(ray_instance, local_example,
                                                                   tmp_path, monkeypatch):
    """Local, interrupted; resumed on Ray, interrupted with tasks in flight (cancelled: this
    process's Ray instance, a notebook's, keeps running); resumed locally to the end — the
    records of an uninterrupted local run. (The command line's Ctrl-C on a Ray run:
    test_ctrl_c_stops_a_ray_run_and_keeps_what_finished.)"""
    folder = tmp_path / "run"
    stopped = []
    for executor in ("local", "ray"):
        with monkeypatch.context() as patch:
            _interrupt_at(patch, 8)
            with pytest.raises(Interrupted):
                run_records(example_plan(executor), folder, resume=bool(stopped))
        stopped.append(json.loads((folder / "results.json").read_text()))
        assert stopped[-1]["status"] == "interrupted"
        assert len(stopped[-1]["records"]) + len(stopped[-1]["missing_records"]) == 30
    assert 0 < len(stopped[0]["records"]) < len(stopped[1]["records"]) < 30
    assert ray_instance.is_initialized()
    resumed = run_records(example_plan("local"), folder, resume=True)
    assert resumed["status"] == "finished"
    kept = {(r["name"], r["seed"]): r for r in stopped[1]["records"]}
    # what finished before each interruption is kept as it was; the rest ran afterwards
    assert all(r == kept[(r["name"], r["seed"])] for r in resumed["records"]
               if (r["name"], r["seed"]) in kept)
    assert comparable(resumed["records"]) == comparable(local_example["records"])


KILLERS = '''
import os
from pathlib import Path

from erasure import Unlearner


class DiesOnce(Unlearner):
    """Kills its worker process the first time it runs; then leaves the model as it is."""

    def unlearn(self, model, ctx):
        marker = Path(__file__).with_name("died-once")
        if not marker.exists():
            marker.touch()
            os._exit(1)
        return model


class AlwaysDies(Unlearner):
    """Kills its worker process every time (counting the deaths)."""

    def unlearn(self, model, ctx):
        with Path(__file__).with_name("deaths").open("a") as file:
            file.write("x")
        os._exit(1)
'''


def test_a_killed_worker_is_retried_once_then_its_record_fails(ray_instance, tmp_path):
    (tmp_path / "killers.py").write_text(KILLERS)
    config = digits_config(unlearners=[{"class": "Identity"}, {"class": "killers.DiesOnce"},
                                       {"class": "killers.AlwaysDies"}], epochs=5)
    config["globals"].update(executor="ray", cache=False)
    config_file = tmp_path / "killers.jsonc"
    config_file.write_text(json.dumps(config))
    document = run_records(prepare(config, config_file=config_file), tmp_path / "out")

    assert document["status"] == "finished"
    identity, once, always = document["records"]
    assert identity["status"] == once["status"] == "finished"
    # the retried task ran on a fresh worker (data reloaded, models from the object store) and
    # measured the same model: DiesOnce returns the original, as Identity does
    assert comparable([once])[0]["metrics"] == comparable([identity])[0]["metrics"]
    assert always["status"] == "failed"
    assert "worker died 2 times" in always["error"]
    assert (tmp_path / "deaths").read_text() == "xx"


def test_ray_asked_for_without_ray_is_a_config_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    for flags in (["--executor", "ray"], ["--address", "auto"]):
        status = main([str(EXAMPLE), *flags, "--output", str(tmp_path / "out")])
        assert status == 2
        error = capsys.readouterr().err
        assert "globals.executor" in error and "erasure[ray]" in error
        assert not (tmp_path / "out").exists()


def test_the_executor_settings_change_no_record_and_resume_across_them():
    from erasure.runner import comparable as resume_view

    local = example_plan("local")
    ray_config = apply_overrides(local.source, [
        Override("globals.executor", "ray", "test"), Override("globals.num_cpus", 0.5, "test"),
        Override("globals.num_gpus", 0.25, "test"), Override("globals.address", "auto", "test")])
    on_ray = prepare(ray_config, config_file=EXAMPLE)
    assert on_ray.settings.num_cpus == pytest.approx(0.5, abs=0)
    assert resume_view(on_ray.resolved) == resume_view(local.resolved)


def test_ctrl_c_stops_a_ray_run_and_keeps_what_finished(local_example, tmp_path):
    """The command line on the ray executor (its own local Ray instance), stopped by SIGINT once
    some records are written: exit status 130, the results marked interrupted with what is
    missing, and what finished equal to the local run's. (Resuming:
    test_an_interrupted_run_resumes_on_the_other_executor_and_back.)"""
    folder = tmp_path / "run"
    results = folder / "results.json"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), str(EXAMPLE), "--executor", "ray",
         "--seeds", "0", "1", "--output", str(folder), "--quiet", "--set", "globals.cache=false",
         "--set", "unlearners[2].parameters.evaluate_every=2"],  # as example_plan's Finetuning
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "RAY_DEDUP_LOGS": "0"})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if len(json.loads(results.read_text())["records"]) >= 3:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        assert process.poll() is None, process.communicate()[1][-2000:]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err[-2000:]
    stopped = json.loads(results.read_text())
    assert stopped["status"] == "interrupted" and stopped["interrupted_by"] == "SIGINT"
    assert 3 <= len(stopped["records"]) < 30
    assert len(stopped["records"]) + len(stopped["missing_records"]) == 30
    reference = {(r["name"], r["seed"]): r for r in comparable(local_example["records"])}
    assert all(r == reference[(r["name"], r["seed"])] for r in comparable(stopped["records"]))


def test_an_address_where_no_cluster_answers_is_a_config_error(tmp_path, monkeypatch, capsys):
    ray = pytest.importorskip("ray")

    def refuse(**kwargs):
        raise ConnectionError("Could not find any running Ray instance. Please specify the one "
                              "to connect to by setting `--address` flag")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    status = main([str(EXAMPLE), "--address", "auto", "--output", str(tmp_path / "out")])
    assert status == 2
    error = capsys.readouterr().err
    assert "globals.address: cannot join the Ray cluster at 'auto'" in error
    assert "ray start --head" in error
    assert not (tmp_path / "out").exists()  # the folder it claimed is gone again


@pytest.mark.parametrize("kind", ["GPU", "CPU"])
def test_a_task_no_node_can_hold_is_a_config_error(ray_instance, tmp_path, capsys, kind):
    has = max(int(n["Resources"].get(kind, 0)) for n in ray_instance.nodes() if n["Alive"])
    key = f"globals.num_{kind.lower()}s"
    status = main([str(EXAMPLE), "--executor", "ray", "--set", f"{key}={has + 1}",
                   "--output", str(tmp_path / "out")])
    assert status == 2
    assert (f"{key}: each task asks for {has + 1} {kind}s, but the largest node of the Ray "
            f"cluster has {has}") in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
