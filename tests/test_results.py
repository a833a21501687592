"""The results document (rules 5 and 6) and the writing of it: valid JSON, written atomically and
as soon as each record exists, never silently overwritten, with everything needed to re-run."""
from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import logging
import os
import platform
import re
from importlib import metadata

import pytest

from erasure import prepare, run
from erasure.config import ConfigError
from erasure.results import RESULTS_FILE, check_writable, summary_table, write_json_atomic
from erasure.results.claim import FolderBusy, claim_run_folder
from tests import pipeline_fixtures as fx
from tests.helpers import digits_config

EPOCHS = 3
NAMES = ["Identity", "PeekResults", "Raising", "ReturnsStateDict", "Finetuning"]
MEASURES = [{"class": "PartitionSizes"}, {"class": "Runtime"}, {"class": "Accuracy"},
            fx.component("NanMeasure"), fx.component("RaisingMeasure"), {"class": "UMIA"}]


def strict_loads(text: str):
    """json.loads that refuses NaN and infinities (Python's json accepts them by default)."""
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One real run: two good unlearners, a spy that reads the file mid-run, two broken ones, and
    measures of which one reports NaN and one raises."""
    out = tmp_path_factory.mktemp("results") / "experiment"
    fx.SEEN.clear()
    unlearners = [
        {"class": "Identity"},
        fx.component("PeekResults", path=str(out / RESULTS_FILE)),
        fx.component("Raising"),
        fx.component("ReturnsStateDict"),
        # epochs and optimizer left to their defaults (three batches an epoch keep it quick)
        {"class": "Finetuning", "parameters": {"batch_size": 512}},
    ]
    config = digits_config(unlearners=unlearners, measures=MEASURES, epochs=EPOCHS)
    path = run(prepare(config), output=out)
    text = path.read_text(encoding="utf-8")
    return path, text, strict_loads(text), list(fx.SEEN)


# --- the document -------------------------------------------------------------------------


def test_results_file_is_strict_json_in_the_chosen_folder(finished):
    path, text, doc, _ = finished
    assert path.name == RESULTS_FILE and path.parent.name == "experiment"
    assert "NaN" not in text and "Infinity" not in text
    assert doc["status"] == "finished"
    # no temp files left; the log of the run beside the results
    assert sorted(p.name for p in path.parent.iterdir()) == [RESULTS_FILE, "run.log"]
    log = (path.parent / "run.log").read_text()
    # trained here, or taken from the test session's model cache
    assert "train_original on 'train'" in log and "unlearner Identity" in log


def test_results_hold_seed_device_versions_and_creation_time(finished):
    _, _, doc, _ = finished
    assert doc["seeds"] == [0]
    assert {r["seed"] for r in doc["records"]} == {0}
    assert doc["device"] == "cpu"
    assert doc["versions"]["python"] == platform.python_version()
    for package in ("torch", "numpy", "scikit-learn"):
        assert doc["versions"][package] == metadata.version(package)
    created = dt.datetime.fromisoformat(doc["created"])
    assert abs(dt.datetime.now(dt.timezone.utc) - created) < dt.timedelta(hours=1)


def test_results_hold_stage_timings(finished):
    _, _, doc, _ = finished
    timings = doc["timings"]["0"]  # per seed
    assert {"load_data", "train_original"} <= timings.keys()
    assert all(isinstance(v, float) and v > 0 for v in timings.values())
    assert doc["timings"]["total"] > timings["load_data"] + timings["train_original"]
    assert "retrain" not in timings  # no unlearner asked for a gold model
    original = doc["models"]["0"]["original"]
    assert original["cached"] in (True, False) and original["seconds"] == timings["train_original"]
    identity = doc["records"][0]["metrics"]
    # measures report what training took, whether this run trained it or loaded it
    assert identity["runtime.train_original"] == original["trained_seconds"]


def test_results_hold_partition_sizes(finished):
    _, _, doc, _ = finished
    sizes = doc["partitions"]
    assert set(sizes) == {"all", "train", "test", "forget", "retain"}
    assert sizes["all"] == 1797  # scikit-learn's digits
    assert sizes["train"] + sizes["test"] == sizes["all"]
    assert sizes["forget"] + sizes["retain"] == sizes["train"]
    assert abs(sizes["forget"] - 0.1 * sizes["train"]) <= 1
    assert abs(sizes["train"] - 0.8 * sizes["all"]) <= 10
    identity = doc["records"][0]["metrics"]
    assert {k: identity[f"size.{k}"] for k in sizes} == sizes


def classes_in(node):
    if isinstance(node, dict):
        if "class" in node:
            yield node["class"]
        for value in node.values():
            yield from classes_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from classes_in(value)


def test_resolved_config_names_every_class_by_full_dotted_path(finished):
    _, _, doc, _ = finished
    config = doc["config"]
    names = list(classes_in(config))
    assert len(names) >= 20
    for name in names:
        module, _, attr = name.rpartition(".")
        assert module, f"{name} is not a dotted path"
        assert inspect.isclass(getattr(importlib.import_module(module), attr))
    assert config["data"]["class"] == "erasure.data.manager.DatasetManager"
    assert config["predictor"]["parameters"]["model"]["class"] == "erasure.models.networks.MLP"
    assert config["predictor"]["parameters"]["optimizer"]["class"] == "torch.optim.adam.Adam"
    assert [u["class"] for u in config["unlearners"]] == [
        "erasure.unlearners.identity.Identity", "tests.pipeline_fixtures.PeekResults",
        "tests.pipeline_fixtures.Raising", "tests.pipeline_fixtures.ReturnsStateDict",
        "erasure.unlearners.finetuning.Finetuning"]
    assert config["evaluator"]["parameters"]["measures"][2]["class"] == "erasure.measures.accuracy.Accuracy"


def test_resolved_config_fills_in_defaults(finished):
    _, _, doc, _ = finished
    config = doc["config"]
    assert config["globals"] == {"seed": 0, "device": "cpu", "output": None, "paths": [],
                                 "allowed_modules": None, "seeds": None, "cache": True,
                                 "cache_dir": None, "threads": None, "precision": "fp32",
                                 "channels_last": "auto", "compile": False, "tune": None,
                                 "executor": "local", "address": None, "num_cpus": 1,
                                 "num_gpus": 0, "save_models": "none"}
    finetuning = config["unlearners"][4]["parameters"]
    assert finetuning["epochs"] == 10
    assert finetuning["batch_size"] == 512
    assert finetuning["ref_data_retain"] == "retain" and finetuning["ref_data_forget"] == "forget"
    assert finetuning["optimizer"]["class"] == "torch.optim.sgd.SGD"
    assert finetuning["optimizer"]["parameters"]["lr"] == 0.01
    assert finetuning["optimizer"]["parameters"]["momentum"] == 0.9
    assert config["predictor"]["parameters"]["loss_fn"]["class"] == "torch.nn.modules.loss.CrossEntropyLoss"
    assert config["predictor"]["parameters"]["training_set"] == "train"
    accuracy = config["evaluator"]["parameters"]["measures"][2]["parameters"]
    assert accuracy == {"partition": ["forget", "retain", "test"], "target": ["original", "unlearned"]}
    # each record carries its unlearner's resolved config
    assert [r["config"] for r in doc["records"]] == config["unlearners"]


def test_resolved_config_is_enough_to_rerun(finished):
    _, _, doc, _ = finished
    again = prepare(doc["config"])
    assert again.resolved == doc["config"]
    assert again.names == NAMES
    assert again.settings.all_seeds() == doc["seeds"]


def test_one_record_per_unlearner_with_metric_keys(finished):
    _, _, doc, _ = finished
    records = doc["records"]
    assert [r["name"] for r in records] == NAMES
    assert [r["status"] for r in records] == ["finished", "finished", "failed", "failed", "finished"]
    key = re.compile(r"^(accuracy|umia|nan)\.(forget|retain|test)\.(original|unlearned)$")
    expected = {f"accuracy.{p}.{t}" for p in ("forget", "retain", "test") for t in ("original", "unlearned")}
    expected |= {"umia.forget.original", "umia.forget.unlearned", "nan.forget.unlearned",
                 "nan.forget.original", "nan.test.unlearned", "runtime.train_original",
                 "runtime.unlearn"} | {f"size.{p}" for p in doc["partitions"]}
    for record in (records[0], records[1], records[4]):
        assert set(record["metrics"]) == expected
        assert all(key.match(k) for k in record["metrics"] if not k.startswith(("size.", "runtime.")))
        assert record["error"] is None
        assert record["failed_measures"] == {"RaisingMeasure[4]": "ValueError: measure exploded"}
    identity = records[0]["metrics"]
    for part in ("forget", "retain", "test"):
        assert identity[f"accuracy.{part}.unlearned"] == identity[f"accuracy.{part}.original"]
    assert identity["accuracy.retain.original"] > 0.5


def test_failed_unlearners_are_recorded_with_their_reason(finished):
    _, _, doc, _ = finished
    raising, wrong = doc["records"][2:4]
    assert raising["error"] == "RuntimeError: deliberate failure"
    assert wrong["error"] == "unlearn() returned OrderedDict, not a torch.nn.Module"
    for record in (raising, wrong):
        assert record["status"] == "failed"
        assert record["metrics"] == {} and record["failed_measures"] == {}


def test_nan_metric_is_written_as_null(finished):
    _, text, doc, _ = finished
    metrics = doc["records"][0]["metrics"]
    assert metrics["nan.forget.unlearned"] is None
    assert metrics["nan.forget.original"] is None
    assert metrics["nan.test.unlearned"] == 0.25
    assert '"nan.forget.unlearned": null' in text


def test_records_are_on_disk_as_soon_as_they_exist(finished):
    _, _, doc, seen = finished
    assert len(seen) == 1  # PeekResults ran once, second in the list
    during = seen[0]
    assert during["status"] == "running"
    assert [r["name"] for r in during["records"]] == ["Identity"]
    assert during["records"][0]["status"] == "finished"
    assert during["records"][0]["metrics"] == doc["records"][0]["metrics"]
    assert "total" not in during["timings"]


def test_summary_table_lists_each_record(finished):
    _, _, doc, _ = finished
    table, _, failures = summary_table(doc).partition("\n\n")
    lines = table.splitlines()
    assert len(lines) == 2 + len(NAMES)
    # each failed record's reason is listed under the table
    failed = [r for r in doc["records"] if r["status"] == "failed"]
    assert failed and failures.splitlines() == [f"failed: {r['name']}: {r['error']}" for r in failed]
    assert lines[0].split() == ["unlearner", "status", "accuracy.forget.unlearned",
                                "accuracy.retain.unlearned", "accuracy.test.unlearned",
                                "umia.forget.unlearned", "runtime.unlearn"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    for line, record in zip(lines[2:], doc["records"]):
        cells = line.split()
        assert cells[:2] == [record["name"], record["status"]]
        if record["status"] == "failed":
            assert cells[2:] == ["-"] * 5
        else:
            m = record["metrics"]
            assert cells[2] == f"{m['accuracy.forget.unlearned']:.4f}"
            assert cells[5] == f"{m['umia.forget.unlearned']:.4f}"


def test_summary_table_shows_missing_numbers_as_dashes():
    doc = {"records": [
        {"name": "A", "status": "finished", "metrics": {"accuracy.test.unlearned": 0.5,
                                                        "runtime.unlearn": 1.23456}},
        {"name": "Longer name", "status": "finished", "metrics": {"accuracy.test.unlearned": None}},
        {"name": "B", "status": "failed", "metrics": {}, "error": "RuntimeError: boom"},
    ]}
    lines = summary_table(doc).splitlines()
    assert [line.split() for line in lines] == [
        ["unlearner", "status", "accuracy.test.unlearned", "runtime.unlearn"],
        ["-" * len("Longer name"), "-" * len("finished"), "-" * len("accuracy.test.unlearned"),
         "-" * len("runtime.unlearn")],
        ["A", "finished", "0.5000", "1.2346"],
        ["Longer", "name", "finished", "-", "-"],
        ["B", "failed", "-", "-"],
        [],
        ["failed:", "B:", "RuntimeError:", "boom"],
    ]


def test_summary_of_an_interrupted_run_names_the_missing_records():
    doc = {"status": "interrupted", "interrupted_by": "SIGTERM", "missing_records": ["C", "D"],
           "records": [{"name": "A", "status": "finished", "metrics": {"runtime.unlearn": 1.0}}]}
    assert summary_table(doc).splitlines()[-1] == "interrupted by SIGTERM: missing records: C, D"


# --- writing atomically -------------------------------------------------------------------


def test_write_json_atomic_writes_strict_json_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "deep" / "er" / "out.json"
    document = {"a": 1, "b": [1.5, float("nan")], "c": {"d": float("-inf"), "e": "x"}, "f": (2, 3)}
    write_json_atomic(path, document)
    assert strict_loads(path.read_text()) == {"a": 1, "b": [1.5, None], "c": {"d": None, "e": "x"},
                                              "f": [2, 3]}
    assert document["b"][1] != document["b"][1]  # the caller's document is not modified (NaN)
    assert os.listdir(path.parent) == ["out.json"]


def test_write_json_atomic_replaces_by_rename(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"version": 1})
    before = path.stat().st_ino
    write_json_atomic(path, {"version": 2})
    assert strict_loads(path.read_text()) == {"version": 2}
    assert path.stat().st_ino != before  # a new file renamed over the old, not rewritten in place
    assert os.listdir(tmp_path) == ["out.json"]


def _boom(*args, **kwargs):
    raise OSError("disk on fire")


@pytest.mark.parametrize("target", ["json.dumps", "os.replace", "os.fsync"])
def test_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path, monkeypatch, target):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"version": 1})
    old = path.read_bytes()
    module, attr = target.split(".")
    monkeypatch.setattr(importlib.import_module(module), attr, _boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_json_atomic(path, {"version": 2})
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["out.json"]


def test_unserialisable_document_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"version": 1})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"version": object()})
    assert strict_loads(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["out.json"]


def test_interrupt_during_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.json"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, {"version": 1})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


# --- never overwriting, checking the folder -----------------------------------------------


def test_claim_run_folder_never_reuses_a_folder_with_results(tmp_path):
    def claim(**kwargs):
        folder, held = claim_run_folder(tmp_path / "exp", **kwargs)
        held.release()
        return folder

    assert claim() == tmp_path / "exp"  # does not exist yet
    assert not (tmp_path / "exp").exists()  # released unused: what the claim created is gone
    (tmp_path / "exp").mkdir()
    assert claim() == tmp_path / "exp"  # exists, but holds no results
    (tmp_path / "exp" / RESULTS_FILE).write_text("{}")
    assert claim() == tmp_path / "exp-2"
    (tmp_path / "exp-2").mkdir()
    (tmp_path / "exp-2" / RESULTS_FILE).write_text("{}")
    assert claim() == tmp_path / "exp-3"
    assert claim(overwrite=True) == tmp_path / "exp"
    assert not (tmp_path / "exp-3").exists()
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == [RESULTS_FILE]  # no lock left


def test_a_claimed_folder_is_skipped_or_refused_while_its_run_lives(tmp_path):
    first, held = claim_run_folder(tmp_path / "exp")
    try:
        assert first == tmp_path / "exp"
        second, other = claim_run_folder(tmp_path / "exp")  # no results yet, but claimed
        other.release()
        assert second == tmp_path / "exp-2"
        for flag in ("overwrite", "resume"):
            with pytest.raises(FolderBusy) as e:
                claim_run_folder(tmp_path / "exp", **{flag: True})
            assert str(e.value) == f"another run (process {os.getpid()}) is writing to {first}"
    finally:
        held.release()
    again, held = claim_run_folder(tmp_path / "exp", resume=True)  # free once released
    held.release()
    assert again == first


def test_run_into_a_used_folder_goes_beside_it_unless_overwrite(tmp_path):
    plan = prepare(digits_config(epochs=1))
    folder = tmp_path / "exp"
    first = run(plan, output=folder)
    old = first.read_bytes()
    second = run(plan, output=folder)
    assert first == folder / RESULTS_FILE
    assert second == tmp_path / "exp-2" / RESULTS_FILE
    assert first.read_bytes() == old
    third = run(plan, output=folder, overwrite=True)
    assert third == first
    assert strict_loads(third.read_text())["status"] == "finished"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp", "exp-2"]
    # same config, same seed: the same numbers in every copy
    docs = [strict_loads(p.read_text()) for p in (first, second)]
    metrics = [[r["metrics"] for r in d["records"]] for d in docs]
    assert metrics[0] == metrics[1]


def test_overwrite_starts_fresh_studies_and_resume_keeps_them(tmp_path, caplog):
    """A tuned run written over an old one tunes again: the old run's tuning.db is not its
    study (it would hold every trial already, and the new run would run none)."""
    pytest.importorskip("optuna")
    config = digits_config(epochs=1, unlearners=[
        {"class": "Finetuning", "parameters": {"epochs": 1},
         "tune": {"trials": 2, "space": {"optimizer.parameters.lr": {"low": 0.001,
                                                                       "high": 0.1}}}}])
    plan = prepare(config)
    folder = tmp_path / "exp"
    first = strict_loads(run(plan, output=folder).read_text())["records"][0]["tuning"]

    def trials_run(**how) -> tuple[dict, list[str]]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="erasure"):
            document = strict_loads(run(plan, output=folder, **how).read_text())
        trials = [r.getMessage() for r in caplog.records
                  if r.getMessage().startswith("unlearner Finetuning trial")]
        return document["records"][0]["tuning"], trials

    block, trials = trials_run(overwrite=True)
    assert trials == ["unlearner Finetuning trial 0", "unlearner Finetuning trial 1"]
    assert block["trials"] == 2 and [t[0] for t in block["history"]] == [0, 1]
    assert block["history"] == first["history"]  # the same seeded draws, run again
    # --resume continues the study in the folder: its trials are done, none runs again
    doc = strict_loads((folder / RESULTS_FILE).read_text())
    doc.update(status="interrupted", records=[])  # killed before its record was written
    write_json_atomic(folder / RESULTS_FILE, doc)
    resumed, trials = trials_run(resume=True)
    assert trials == [] and resumed["history"] == block["history"]


def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "new" / "deeper") is None
    assert not (tmp_path / "new").exists()  # checking creates nothing
    file = tmp_path / "file.txt"
    file.write_text("x")
    assert check_writable(file / "sub") == f"{file} is a file, not a folder"
    assert check_writable(file) == f"{file} is a file, not a folder"


def test_check_writable_rejects_read_only_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root)")
        assert check_writable(locked / "out") == f"{locked} is not writable"
    finally:
        locked.chmod(0o755)


def test_run_refuses_an_output_under_a_file_before_any_work(tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    plan = prepare(digits_config(epochs=1))
    with pytest.raises(ConfigError) as error:
        run(plan, output=file / "out")
    [problem] = error.value.problems
    assert problem.path == "globals.output"
    assert problem.message == f"cannot write results: {file} is a file, not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
