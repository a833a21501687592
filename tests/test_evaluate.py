"""Keeping a run's models (globals.save_models) and measuring them again later (erasure.evaluate,
``python main.py evaluate RUN_DIR``), on digits."""
from __future__ import annotations

import json
import logging
import shutil

import pytest

from erasure import cli, saving
from erasure.evaluate import evaluate
from erasure.experiment import Session
from erasure.models import MLP
from erasure.plan import prepare
from erasure.results.claim import FolderClaim
from erasure.runner import run
from erasure.unlearners.finetuning import Finetuning
from tests.helpers import accuracy, digits_config

MEASURES = [{"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}},
            {"class": "AvgGap"},  # a seeded SVC attack and the gold model
            {"class": "Runtime"}, {"class": "Memory"}]
UNLEARNERS = [{"class": "Finetuning", "sweep": {"epochs": [1]}}, {"class": "Identity"}]


def _config(save_models: str, **globals_) -> dict:
    config = digits_config(unlearners=UNLEARNERS, measures=MEASURES, epochs=5)
    config["globals"].update(save_models=save_models, **globals_)
    return config


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A run that kept every model; tests work on copies of its folder."""
    folder = tmp_path_factory.mktemp("saved") / "run"
    results = run(prepare(_config("all")), output=folder)
    return folder, json.loads(results.read_text(encoding="utf-8"))


@pytest.fixture
def run_dir(saved_run, tmp_path):
    return shutil.copytree(saved_run[0], tmp_path / "run")


def _no_training_or_unlearning(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("evaluate trained or unlearned")

    monkeypatch.setattr(Session, "_train", refuse)
    monkeypatch.setattr(Finetuning, "unlearn", refuse)


def test_every_model_is_saved_with_its_json_and_loads_into_a_fresh_network(saved_run):
    folder, document = saved_run
    seed_folder = folder / "models" / "seed-0"
    names = [r["name"] for r in document["records"]]
    assert names == ["Finetuning[epochs=1]", "Identity"]
    saved = [r["saved_model"] for r in document["records"]]
    assert saved == [f"models/seed-0/{saving.file_stem(n)}.safetensors" for n in names]
    assert sorted(p.name for p in seed_folder.iterdir()) == sorted(
        [f"{s}{x}" for s in ("original", "gold.retain", *map(saving.file_stem, names))
         for x in (".safetensors", ".json")])
    plan = prepare(_config("all"))
    data = Session(plan, 0).load_data()
    for record in document["records"]:
        weights, meta = saving.load(folder / record["saved_model"])
        assert meta["record"] == record["name"] and meta["seed"] == 0
        assert meta["model"] == "unlearned" and meta["unlearner"] == record["config"]
        assert meta["config"] == document["config"] and meta["metrics"] == record["metrics"]
        assert meta["timings"]["unlearn"] == record["metrics"]["runtime.unlearn"]
        fresh = MLP(input_shape=(64,), num_classes=10, hidden=[128])
        fresh.load_state_dict(weights, strict=True)
        for part in ("forget", "test"):
            assert accuracy(fresh, data, part) == pytest.approx(
                record["metrics"][f"accuracy.{part}.unlearned"], abs=1e-6)
    original = json.loads((seed_folder / "original.json").read_text())
    assert original["model"] == "original" and original["partition"] == "train"
    assert original["key"] == document["models"]["0"]["original"]["key"]
    assert json.loads((seed_folder / "gold.retain.json").read_text())["partition"] == "retain"


def test_evaluate_with_the_runs_measures_reproduces_every_number(saved_run, run_dir, monkeypatch,
                                                                  caplog):
    """Same process, same thread count: bit for bit, the seeded AvgGap attack, runtime and
    memory (their inputs saved beside each model) included."""
    _no_training_or_unlearning(monkeypatch)
    with caplog.at_level(logging.INFO, logger="erasure"):
        evaluate(run_dir, plots=False)
    document = json.loads((run_dir / "results.json").read_text())
    for before, after in zip(saved_run[1]["records"], document["records"], strict=True):
        assert after["metrics"] == before["metrics"]
        assert after["failed_measures"] == before["failed_measures"] == {}
        assert after["not_applicable"] == before["not_applicable"]
    assert "was" not in caplog.text  # no number disagreed
    assert "from the saved model" in caplog.text
    assert document["evaluations"][0]["records"] == ["Finetuning[epochs=1]", "Identity"]
    assert (run_dir / "summary.csv").is_file()


def test_evaluate_a_new_measure_adds_its_keys_and_keeps_every_old_number(run_dir, monkeypatch,
                                                                         caplog, capsys):
    _no_training_or_unlearning(monkeypatch)
    results = run_dir / "results.json"
    document = json.loads(results.read_text())
    document["records"][0]["metrics"]["accuracy.forget.unlearned"] = 0.125  # not what it measures
    results.write_text(json.dumps(document))
    old = {r["name"]: r["metrics"] for r in document["records"]}
    measures = run_dir.parent / "measures.jsonc"
    measures.write_text('{"measures": [{"class": "Accuracy", "parameters": {"partition": '
                        '"forget"}}, {"class": "UMIA"}]}  // new: UMIA')
    with caplog.at_level(logging.WARNING, logger="erasure"):
        assert cli.main(["evaluate", str(run_dir), "--config", str(measures), "--quiet",
                         "--no-plots"]) == 0
    after = json.loads(results.read_text())
    for record in after["records"]:
        added = set(record["metrics"]) - set(old[record["name"]])
        assert added == {"umia.forget.original", "umia.forget.unlearned"}
        assert 0 <= record["metrics"]["umia.forget.unlearned"] <= 1
        kept = {k: record["metrics"][k] for k in old[record["name"]]}
        assert json.dumps(kept) == json.dumps(old[record["name"]])
    assert after["records"][0]["metrics"]["accuracy.forget.unlearned"] == 0.125
    assert "accuracy.forget.unlearned was 0.125 in the run" in caplog.text
    assert "the run's value is kept" in caplog.text
    assert after["evaluations"][0]["evaluator"]["parameters"]["measures"][1]["class"].endswith("UMIA")
    assert "results:" in capsys.readouterr().out


def test_unlearned_only_retrains_the_original_when_no_cache_holds_it_and_resume_keeps_the_files(
        tmp_path, caplog):
    config = _config("unlearned", cache=False)
    folder = tmp_path / "run"
    document = json.loads(run(prepare(config), output=folder).read_text())
    files = sorted(p.name for p in (folder / "models" / "seed-0").iterdir())
    assert files == sorted(f"{saving.file_stem(r['name'])}{x}" for r in document["records"]
                           for x in (".safetensors", ".json"))
    # a resumed run may change save_models (it changes no number); finished records keep theirs
    config["globals"]["save_models"] = "none"
    run(prepare(config), output=folder, resume=True)
    assert json.loads((folder / "results.json").read_text())["records"] == document["records"]
    assert sorted(p.name for p in (folder / "models" / "seed-0").iterdir()) == files
    with caplog.at_level(logging.INFO, logger="erasure"):
        evaluate(folder, plots=False)
    assert "trained again (not saved, not in the model cache): train_original, retrain" \
        in caplog.text
    after = json.loads((folder / "results.json").read_text())
    assert [r["metrics"] for r in after["records"]] == [r["metrics"] for r in document["records"]]


def _refuses(argv, capsys, *expected):
    assert cli.main(["evaluate", *map(str, argv)]) == 2
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, err
    assert "Traceback" not in err


def test_what_evaluate_refuses_exits_2_before_any_work(run_dir, tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("work started")

    monkeypatch.setattr(Session, "load_data", refuse)
    results = run_dir / "results.json"
    _refuses([tmp_path / "absent"], capsys, "absent/results.json: no such folder")
    (tmp_path / "empty").mkdir()
    _refuses([tmp_path / "empty"], capsys, "no results.json in")
    _refuses([run_dir, "--seed", "7"], capsys, "--seed: the run has no seed 7")
    bad = tmp_path / "bad.jsonc"
    bad.write_text('{"measures": [{"class": "Acuracy"}]}')
    _refuses([run_dir, "--config", bad], capsys, f"{bad}: measures[0].class",
             "Did you mean 'Accuracy'?")
    bad.write_text('{"measure": []}')
    _refuses([run_dir, "--config", bad], capsys, 'holds one key, "measures"')
    claim = FolderClaim(run_dir)
    assert claim.acquire()
    try:
        _refuses([run_dir], capsys, "another run (process")
    finally:
        claim.release()
    saved = json.loads(results.read_text())["records"][1]["saved_model"]
    (run_dir / saved).unlink()
    _refuses([run_dir], capsys, "1 saved model(s) missing", saved)
    document = json.loads(results.read_text())
    document["config"]["globals"]["save_models"] = "none"
    for record in document["records"]:
        del record["saved_model"]
    results.write_text(json.dumps(document))
    _refuses([run_dir], capsys, "did not keep its models (globals.save_models was 'none')")
    assert json.loads(results.read_text()) == document  # nothing written
