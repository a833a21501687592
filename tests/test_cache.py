"""The model cache: a re-run with only an unlearner or a measure changed trains nothing and gives
the same numbers; anything that changes training misses; a damaged entry is retrained."""
from __future__ import annotations

import json
import logging

import pytest
import torch

from erasure import prepare, run
from erasure.cache import ENVIRONMENT_VARIABLE, ModelCache, cache_folder
from erasure.models import Predictor
from tests.helpers import digits_config

MEASURES = [{"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}},
            {"class": "UMIA"}]


@pytest.fixture()
def trainings(monkeypatch):
    """Counts every call of the trainer (original and gold models)."""
    calls = []
    real = Predictor.train

    def counting(self, model, data, partition, generator, label="training"):
        calls.append(label)
        return real(self, model, data, partition, generator, label)

    monkeypatch.setattr(Predictor, "train", counting)
    return calls


def experiment(tmp_path, unlearners, cache=True, epochs=10, **globals_):
    config = digits_config(unlearners=unlearners, measures=MEASURES, epochs=epochs)
    config["globals"].update(cache=cache, cache_dir=str(tmp_path / "cache"), **globals_)
    return config


def results(config, folder):
    return json.loads(run(prepare(config), output=folder).read_text())


def metrics(doc):
    return {r["name"]: r["metrics"] for r in doc["records"]}


def test_changing_only_an_unlearner_trains_nothing_and_matches_a_fresh_run(tmp_path, trainings):
    first = results(experiment(tmp_path, [{"class": "GoldModel"}, {"class": "NegGrad"}]),
                    tmp_path / "first")
    assert trainings == ["train_original", "retrain"]
    assert first["models"]["0"]["original"]["cached"] is False

    changed = [{"class": "GoldModel"}, {"class": "Finetuning", "parameters": {"epochs": 2}}]
    trainings.clear()
    second = results(experiment(tmp_path, changed), tmp_path / "second")
    assert trainings == []  # nothing trained
    models = second["models"]["0"]
    assert models["original"]["cached"] is True and models["gold.retain"]["cached"] is True
    # this run's seconds are the loading; the training time is kept as trained_seconds, and
    # the runtime measures report it (RTE does not depend on the cache)
    trained = first["timings"]["0"]["train_original"]
    assert models["original"]["trained_seconds"] == trained
    assert models["original"]["seconds"] == second["timings"]["0"]["train_original"]
    assert 0 < second["timings"]["0"]["train_original"] < second["timings"]["total"]
    assert first["models"]["0"]["original"]["trained_seconds"] == trained
    assert {r["metrics"].get("runtime.train_original") for r in second["records"]} <= {trained, None}

    fresh = results(experiment(tmp_path, changed, cache=False), tmp_path / "fresh")
    assert trainings == ["train_original", "retrain"]
    assert fresh["models"]["0"]["original"]["cached"] is False
    assert metrics(second) == metrics(fresh)


@pytest.mark.parametrize("change", [
    lambda c: c["predictor"]["parameters"].update(epochs=11),
    lambda c: c["globals"].update(seed=1),
    lambda c: c["data"]["parameters"]["partitions"][1]["parameters"].update(percentage=0.2),
    lambda c: c["predictor"]["parameters"]["optimizer"]["parameters"].update(lr=0.002),
])
def test_anything_that_changes_training_misses(tmp_path, trainings, change):
    config = experiment(tmp_path, [{"class": "Identity"}])
    results(config, tmp_path / "a")
    trainings.clear()
    change(config)
    doc = results(config, tmp_path / "b")
    assert trainings == ["train_original"]
    assert doc["models"][str(doc["seeds"][0])]["original"]["cached"] is False


def test_output_folder_and_threads_do_not_change_the_key(tmp_path, trainings):
    results(experiment(tmp_path, [{"class": "Identity"}]), tmp_path / "a")
    trainings.clear()
    results(experiment(tmp_path, [{"class": "Identity"}], threads=1, output="elsewhere"), tmp_path / "b")
    assert trainings == []


def test_a_corrupted_entry_is_reported_and_retrained(tmp_path, trainings, caplog):
    config = experiment(tmp_path, [{"class": "Identity"}])
    first = results(config, tmp_path / "a")
    key = first["models"]["0"]["original"]["key"]
    weights = tmp_path / "cache" / key[:2] / f"{key}.pt"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte
    weights.write_bytes(bytes(blob))

    trainings.clear()
    with caplog.at_level(logging.WARNING, logger="erasure.cache"):
        second = results(config, tmp_path / "b")
    assert trainings == ["train_original"]
    assert f"cached model {key[:12]}" in caplog.text and "checksum mismatch" in caplog.text
    assert second["models"]["0"]["original"]["cached"] is False
    assert metrics(second) == metrics(first)
    # the entry was rewritten and is good again
    trainings.clear()
    assert results(config, tmp_path / "c")["models"]["0"]["original"]["cached"] is True
    assert trainings == []


def test_an_entry_that_does_not_fit_the_network_is_retrained(tmp_path):
    cache = ModelCache(tmp_path)
    small = torch.nn.Linear(3, 2)
    cache.store("ab" * 32, small, {"seconds": 1.0})
    assert cache.load("ab" * 32, torch.nn.Linear(4, 2)) is None
    assert cache.corrupted == ["ab" * 32]
    assert not list(tmp_path.rglob("*.pt"))


def test_weights_are_plain_tensors_loaded_without_unpickling_objects(tmp_path):
    cache = ModelCache(tmp_path)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    cache.store("cd" * 32, model, {"seconds": 2.5})
    path = tmp_path / "cd" / f"{'cd' * 32}.pt"
    state = torch.load(path, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["seconds"] == 2.5 and len(meta["sha256"]) == 64
    again = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    assert cache.load("cd" * 32, again)["seconds"] == 2.5
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_cache_folder_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "env"))
    assert cache_folder("cli", "config") == cache_folder("cli")
    assert str(cache_folder(None, "config")) == "config"
    assert cache_folder() == tmp_path / "env"
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    assert str(cache_folder()).endswith(".cache/erasure/models")


def test_cache_off_writes_nothing(tmp_path, trainings):
    results(experiment(tmp_path, [{"class": "Identity"}], cache=False), tmp_path / "a")
    assert not (tmp_path / "cache").exists()


def test_editing_a_data_file_misses_the_cache(tmp_path, trainings):
    import os

    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    csv = tmp_path / "wine.csv"
    wine.to_csv(csv, index=False)
    config = experiment(tmp_path, [{"class": "Identity"}], epochs=3)
    config["data"]["parameters"]["DataSource"] = {
        "class": "TableDataSource", "parameters": {"path": str(csv), "label_column": "target"}}
    config["data"]["parameters"]["standardize"] = "train"
    config["data"]["parameters"]["partitions"][1]["class"] = "PercentageSplit"
    config["data"]["parameters"]["partitions"][1]["parameters"] = {
        "parts_names": ["forget", "retain"], "percentage": 0.1, "ref_data": "train"}
    results(config, tmp_path / "a")
    results(config, tmp_path / "b")
    assert trainings == ["train_original"]  # unchanged file: from the cache
    wine.iloc[:, 0] += 0.5
    wine.to_csv(csv, index=False)
    os.utime(csv, ns=(1, 1))  # a new modification time even on a coarse clock
    doc = results(config, tmp_path / "c")
    assert trainings == ["train_original", "train_original"]
    assert doc["models"]["0"]["original"]["cached"] is False


def test_editing_the_framework_s_training_code_or_torch_misses(tmp_path, trainings, monkeypatch):
    """The key holds a fingerprint of the framework's training code and the torch version: a
    model the old code (or another torch) trained is not reused."""
    import erasure.cache as cache

    config = experiment(tmp_path, [{"class": "Identity"}])
    results(config, tmp_path / "a")
    trainings.clear()
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "edited")
    results(config, tmp_path / "b")
    assert trainings == ["train_original"]
    trainings.clear()
    monkeypatch.setattr(torch, "__version__", "0.0.1")
    results(config, tmp_path / "c")
    assert trainings == ["train_original"]


def test_the_code_fingerprint_covers_training_code_and_not_measures(tmp_path):
    import shutil

    from erasure.cache import PACKAGE, code_fingerprint

    copy = tmp_path / "erasure"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    first = code_fingerprint(copy)
    assert first == code_fingerprint.__wrapped__(PACKAGE) and len(first) == 64
    measure = copy / "measures" / "accuracy.py"  # a measure: models stay valid
    measure.write_text(measure.read_text() + "\n# edited\n")
    unlearner = copy / "unlearners" / "neggrad.py"
    unlearner.write_text(unlearner.read_text() + "\n# edited\n")
    assert code_fingerprint.__wrapped__(copy) == first
    for training in ("models/networks.py", "data/splits.py", "seeding.py", "experiment.py"):
        path = copy / training
        original = path.read_text()
        path.write_text(original + "\n# edited\n")
        assert code_fingerprint.__wrapped__(copy) != first, training
        path.write_text(original)
    assert code_fingerprint.__wrapped__(copy) == first


def test_two_trainers_of_one_model_train_it_once(tmp_path, trainings):
    """Runs or Ray tasks sharing a cache: whoever trains a model holds its entry's lock, the
    other waits, then loads what was stored instead of training it again."""
    import threading

    from erasure.experiment import Session

    plan = prepare(experiment(tmp_path, [{"class": "Identity"}]))
    sessions = [Session(plan, 0) for _ in range(2)]
    for session in sessions:
        session.load_data()
    start = threading.Barrier(2)

    def train(session):
        start.wait()
        session.train_models()

    threads = [threading.Thread(target=train, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert trainings == ["train_original"]  # once, not twice
    assert sorted(s.models["original"]["cached"] for s in sessions) == [False, True]
    for a, b in zip(sessions[0].original.state_dict().values(),
                    sessions[1].original.state_dict().values()):
        assert torch.equal(a, b)


def test_the_executor_settings_do_not_change_the_key(tmp_path):
    from erasure.experiment import Session

    local = Session(prepare(experiment(tmp_path, [{"class": "Identity"}])), 0)
    ray = Session(prepare(experiment(tmp_path, [{"class": "Identity"}], executor="ray",
                                     address="auto", num_cpus=2, num_gpus=0.5)), 0)
    assert local._cache_key("train", ("original",)) == ray._cache_key("train", ("original",))
