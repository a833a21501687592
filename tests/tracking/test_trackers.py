"""Trackers (erasure/tracking/): what MLflow and TensorBoard hold after ``--track``, read back
with each tool's own reader (MLflow's client on a SQLite store in a temporary folder,
TensorBoard's event accumulator).

One tiny digits run, made by the command line with ``--track mlflow``, is shared by the module,
as is its MLflow store (creating one costs seconds)."""
from __future__ import annotations

import copy
import json
import math
import sys
from pathlib import Path

import pytest

from erasure.cli import EXIT_CONFIG, main
from erasure.tracking import TrackingError, flatten, parse, track, tracked_records
from erasure.tracking.mlflow_tracker import safe_key
from tests.helpers import digits_config

pytest.importorskip("mlflow")
pytest.importorskip("tensorboard")

REL = 1e-6  # TensorBoard keeps scalars as float32


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, mlflow_uri):
    """A finished run of Identity and Finetuning logged by ``main(... --track mlflow)``:
    (run folder, its results document, an MlflowClient on the store)."""
    from mlflow import MlflowClient

    folder = tmp_path_factory.mktemp("tracked")
    config = digits_config(epochs=3, model={"class": "MLP", "parameters": {"hidden": [32]}},
                           unlearners=[{"class": "Identity"},
                                       {"class": "Finetuning", "parameters": {"epochs": 1}}])
    (folder / "tiny.json").write_text(json.dumps(config), encoding="utf-8")
    uri = mlflow_uri
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # MLflow's artifacts go to ./mlruns
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        status = main([str(folder / "tiny.json"), "--output", "run", "--quiet",
                       "--track", "mlflow"])
        assert status == 0
        run_dir = folder / "run"
        document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
        yield run_dir, document, MlflowClient(tracking_uri=uri)


def runs_of(client, experiment: str) -> tuple[object, dict]:
    """The parent run of an experiment and its nested runs by name."""
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    children = {r.info.run_name: r for r in runs if r not in parents}
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
               for r in children.values())
    return parents[0], children


def test_mlflow_holds_one_run_per_record_with_every_metric_its_params_and_the_files(tracked):
    run_dir, document, client = tracked
    parent, children = runs_of(client, "tiny")  # the config file's name
    assert parent.info.run_name == "run" and parent.info.status == "FINISHED"
    assert parent.data.params["data.name"] == "digits"
    assert parent.data.tags["erasure.run_dir"] == str(run_dir.resolve())
    files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"results.json", "summary.md", "summary.csv", "plots"} <= files
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert plots == {f"plots/{p.name}" for p in (run_dir / "plots").glob("*.png")} != set()
    assert sorted(children) == ["Finetuning", "Identity"]
    for record in document["records"]:
        run = children[record["name"]]
        assert run.info.status == "FINISHED" and run.data.tags["erasure.status"] == "finished"
        assert run.data.tags["erasure.unlearner"] == record["config"]["class"]
        assert run.data.tags["erasure.seed"] == "0" and run.data.params["seed"] == "0"
        assert len(record["metrics"]) == 6
        assert run.data.metrics.keys() == record["metrics"].keys()
        for key, value in record["metrics"].items():
            assert run.data.metrics[key] == pytest.approx(value, abs=1e-9)
    params = children["Finetuning"].data.params
    assert params["class"] == "erasure.unlearners.finetuning.Finetuning"
    assert params["parameters.epochs"] == "1" and params["parameters.batch_size"] == "null"
    assert params["parameters.optimizer.parameters.lr"] == "0.01"
    assert params["predictor.model"] == "erasure.models.networks.MLP"


def with_curves_and_seeds(document: dict) -> dict:
    """The run's document made by hand into an interrupted two-seed run with a swept record
    holding a curve (with a NaN point), a NaN metric and a failed record."""
    doc = copy.deepcopy(document)
    doc.pop("seed", None)
    doc["seeds"], doc["status"] = [0, 1], "interrupted"
    finetuning = next(r for r in doc["records"] if r["name"] == "Finetuning")
    finetuning.update(name="Finetuning[lr=0.1]", sweep={"optimizer.parameters.lr": 0.1},
                      curve={"unit": "epoch", "every": 2, "epochs": [0, 2, 4], "metrics": {
                          "accuracy.forget.unlearned": [0.9, 0.5, None],
                          "accuracy.retain.unlearned": [0.95, 0.9, 0.92]}})
    finetuning["metrics"]["umia.forget.unlearned"] = float("nan")
    failed = {**copy.deepcopy(finetuning), "seed": 1, "status": "failed", "metrics": {},
              "error": "RuntimeError: diverged", "curve": None}
    doc["records"] = [*doc["records"], failed]
    return doc


def test_mlflow_logs_curves_as_steps_names_runs_by_seed_and_marks_failures(tracked):
    run_dir, document, client = tracked
    doc = with_curves_and_seeds(document)
    (line,) = track(["mlflow"], doc, run_dir, experiment="curves")
    assert "3 records" in line and "'curves'" in line
    parent, children = runs_of(client, "curves")
    assert parent.info.status == "KILLED" and parent.data.params["seeds"] == "0,1"
    assert sorted(children) == ["Finetuning[lr=0.1] (seed 0)", "Finetuning[lr=0.1] (seed 1)",
                                "Identity (seed 0)"]
    swept = children["Finetuning[lr=0.1] (seed 0)"]
    assert "umia.forget.unlearned" not in swept.data.metrics  # NaN: not a number to log
    assert swept.data.params["sweep.optimizer.parameters.lr"] == "0.1"
    history = client.get_metric_history(swept.info.run_id, "curve.accuracy.retain.unlearned")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == \
        [(0, pytest.approx(0.95)), (2, pytest.approx(0.9)), (4, pytest.approx(0.92))]
    history = client.get_metric_history(swept.info.run_id, "curve.accuracy.forget.unlearned")
    assert sorted(m.step for m in history) == [0, 2]  # the null point is left out
    failed = children["Finetuning[lr=0.1] (seed 1)"]
    assert failed.info.status == "FAILED" and failed.data.metrics == {}
    assert failed.data.tags["erasure.error"] == "RuntimeError: diverged"


def read_events(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def test_report_track_tensorboard_writes_every_metric_the_params_and_the_plots(tracked, capsys):
    from tensorboard.plugins.hparams import plugin_data_pb2

    run_dir, document, _ = tracked
    assert main(["report", str(run_dir), "--no-plots", "--track", "tensorboard"]) == 0
    assert f"written into {run_dir / 'tensorboard'}" in capsys.readouterr().out
    for record in document["records"]:
        events = read_events(run_dir / "tensorboard" / record["name"])
        assert set(events.Tags()["scalars"]) == {f"metrics/{k}" for k in record["metrics"]}
        for key, value in record["metrics"].items():
            (point,) = events.Scalars(f"metrics/{key}")
            assert point.step == 0 and point.value == pytest.approx(value, rel=REL)
        start = plugin_data_pb2.HParamsPluginData.FromString(
            events.PluginTagToContent("hparams")["_hparams_/session_start_info"])
        assert start.session_start_info.hparams["seed"].number_value == 0
        assert (start.session_start_info.hparams["class"].string_value
                == record["config"]["class"])
    run_level = read_events(run_dir / "tensorboard" / "_run")
    assert set(run_level.Tags()["images"]) == {f"plots/{p.stem}"
                                               for p in (run_dir / "plots").glob("*.png")}
    # a second report replaces the event files: no point logged twice
    assert main(["report", str(run_dir), "--no-plots", "--track", "tensorboard"]) == 0
    assert len(list((run_dir / "tensorboard" / "Identity").iterdir())) == 1


def test_tensorboard_logs_curves_as_steps_one_folder_per_record_and_seed(tracked, tmp_path):
    run_dir, document, _ = tracked
    track(["tensorboard"], with_curves_and_seeds(document), run_dir, folder=tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/*")
                  if p.is_dir()) == ["Finetuning[lr=0.1]/seed_0", "Finetuning[lr=0.1]/seed_1",
                                     "Identity/seed_0"]
    events = read_events(tmp_path / "Finetuning[lr=0.1]" / "seed_0")
    assert [(p.step, p.value) for p in events.Scalars("curve/accuracy.retain.unlearned")] == \
        [(0, pytest.approx(0.95, rel=REL)), (2, pytest.approx(0.9, rel=REL)),
         (4, pytest.approx(0.92, rel=REL))]
    assert [p.step for p in events.Scalars("curve/accuracy.forget.unlearned")] == [0, 2]
    assert "metrics/umia.forget.unlearned" not in events.Tags()["scalars"]
    assert read_events(tmp_path / "Finetuning[lr=0.1]" / "seed_1").Tags()["scalars"] == []


def test_unknown_or_missing_tracker_exits_2_before_any_work(tmp_path, capsys, monkeypatch):
    config = tmp_path / "c.json"
    config.write_text(json.dumps(digits_config()), encoding="utf-8")
    assert main([str(config), "--output", str(tmp_path / "out"), "--track", "mlfow"]) == 2
    assert "unknown tracker 'mlfow'. Did you mean 'mlflow'?" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    assert main([str(config), "--output", str(tmp_path / "out"),
                 "--track", "tensorboard,mlflow"]) == EXIT_CONFIG
    assert "pip install 'erasure[mlflow]'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "out"), "--track", "mlflow"]) == EXIT_CONFIG
    assert not (tmp_path / "out").exists()


def test_a_failing_tracker_keeps_the_results_and_says_how_to_retry(tracked, tmp_path, capsys,
                                                                    monkeypatch):
    run_dir, _, _ = tracked
    before = (run_dir / "results.json").read_bytes()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://store")
    assert main(["report", str(run_dir), "--no-plots", "--track", "mlflow,tensorboard",
                 "--track-dir", str(tmp_path / "tb")]) == 1
    captured = capsys.readouterr()
    assert "error: logging to mlflow failed" in captured.err
    assert f"report {run_dir} --no-plots --track mlflow'" in captured.err
    assert f"written into {tmp_path / 'tb'}" in captured.out  # the other tracker still logs
    assert (tmp_path / "tb" / "Identity").is_dir()
    assert (run_dir / "results.json").read_bytes() == before


def test_names_keys_and_the_flat_view():
    assert parse(["tensorboard", "mlflow, tensorboard", ""]) == ["tensorboard", "mlflow"]
    with pytest.raises(TrackingError, match="Known: mlflow, tensorboard"):
        parse(["wandb"])
    assert safe_key("Finetuning[lr=0.1]:x/y") == "Finetuning_lr_0.1__x_y"
    assert safe_key("..up") == "_..up" and safe_key("size.all") == "size.all"
    assert flatten({"a": {"b": [1, {"c": None}], "d": []}, "e": {}}) == {
        "a.b.0": 1, "a.b.1.c": None, "a.d": [], "e": {}}
    doc = {"seed": 3, "status": "finished", "config": {}, "records": [
        {"name": "X", "status": "finished", "config": {"class": "m.X", "parameters": {"k": 2}},
         "metrics": {"a.b.c": 0.5, "n": None, "inf": math.inf, "flag": True}}]}
    (record,) = tracked_records(doc)
    assert (record.label, record.seed, record.metrics) == ("X", 3, {"a.b.c": 0.5})
    assert record.params == {"seed": 3, "class": "m.X", "parameters.k": 2}
