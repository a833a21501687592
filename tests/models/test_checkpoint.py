"""The original from a checkpoint (``predictor.parameters.checkpoint``): a state dict written from
one run's original gives another run the same original — the same metrics — while the gold model
is still trained; both file formats load; cache keys follow the file's content, not its path;
what cannot be loaded safely, or does not fit the network, is refused with the tensor's name.

(The command line's refusals — exit 2, nothing written, nothing trained — are cases of the
bad-config corpus: tests/bad_configs/*checkpoint*.jsonc.)
"""
from __future__ import annotations

import copy
import hashlib
import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from erasure import run
from erasure.config import ConfigError
from erasure.execution import units
from erasure.experiment import Session
from erasure.models import MLP
from erasure.models.checkpoint import load_weights, read_checkpoint
from erasure.plan import prepare
from tests.helpers import digits_config

#: a tiny recipe: one epoch of a 16-unit MLP (the checks are about weights, not accuracy)
MEASURES = [{"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}},
            {"class": "Runtime"}, {"class": "RTE"}]


def config_with(checkpoint: str | None, cache: str | None, measures=MEASURES) -> dict:
    config = digits_config(epochs=1, model={"class": "MLP", "parameters": {"hidden": [16]}},
                           measures=measures)
    config["globals"].update(cache=cache is not None, cache_dir=cache)
    if checkpoint is not None:
        config["predictor"]["parameters"]["checkpoint"] = checkpoint
    return config


def session_of(config: dict, config_file=None) -> Session:
    session = Session(prepare(config, config_file=config_file), 0)
    session.load_data()
    session.train_models()
    return session


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A run that trains its original (gold model in a cache of its own), its Identity record,
    and that original saved as ``weights/original.safetensors``."""
    folder = tmp_path_factory.mktemp("checkpoint")
    session = session_of(config_with(None, str(folder / "cache")))
    (folder / "weights").mkdir()
    save_file(session.original.state_dict(), folder / "weights" / "original.safetensors")
    return folder, session, session.unlearn(0)


def original_metrics(record: dict) -> dict[str, float]:
    return {k: v for k, v in record["metrics"].items() if k.endswith(".original")}


def test_a_run_from_a_checkpoint_has_the_original_metrics_and_trains_the_gold_model(base):
    folder, trained, record = base
    config_file = folder / "experiment.jsonc"  # the path is relative to the config's folder
    config_file.write_text(json.dumps(config_with("weights/original.safetensors", None)))
    plan = prepare(json.loads(config_file.read_text()), config_file=config_file)

    document = json.loads(run(plan, output=folder / "run").read_text())

    loaded = document["records"][0]
    expected = original_metrics(record)
    assert len(expected) == 3
    assert original_metrics(loaded) == pytest.approx(expected, abs=1e-6)
    path = folder / "weights" / "original.safetensors"
    models = document["models"]["0"]
    assert models["original"]["source"] == "checkpoint"
    assert models["original"]["checkpoint"] == str(path)
    assert models["original"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert models["original"]["trained_seconds"] is None
    assert models["gold.retain"]["source"] == "trained"  # cache off: retrained by the recipe
    assert models["gold.retain"]["trained_seconds"] > 0
    # nothing trained the original: no training time for it, RTE still compares with retraining
    assert "runtime.train_original" not in loaded["metrics"]
    assert loaded["metrics"]["rte.unlearn"] > 0 and not loaded["not_applicable"]
    assert "train_original" not in document["timings"]["0"]

    # resuming after the checkpoint changed would mix two originals: refused
    state = trained.original.state_dict()
    changed = {k: v + 1 if k == "layers.3.bias" else v for k, v in state.items()}
    moved = folder / "moved"
    moved.mkdir()
    shutil.copy(path, moved / "original.safetensors")
    save_file(changed, path)
    with pytest.raises(ConfigError, match="changed since the results"):
        run(prepare(json.loads(config_file.read_text()), config_file=config_file),
            output=folder / "run", resume=True)
    shutil.copy(moved / "original.safetensors", path)


def test_cache_keys_follow_the_checkpoint_content_not_its_path(base, tmp_path):
    folder, trained, _ = base
    cache = str(folder / "cache")
    other = tmp_path / "elsewhere.safetensors"
    shutil.copy(folder / "weights" / "original.safetensors", other)
    changed = dict(trained.original.state_dict())
    changed["layers.3.bias"] = changed["layers.3.bias"] + 1
    torch.save(changed, tmp_path / "changed.pt")

    sessions = [session_of(config_with(str(p), cache), config_file) for p, config_file in (
        ("weights/original.safetensors", folder / "a.jsonc"), (other, None),
        (tmp_path / "changed.pt", None))]

    first, moved, edited = (s.models for s in sessions)
    assert moved["original"]["key"] == first["original"]["key"]
    assert edited["original"]["key"] != first["original"]["key"]
    # the gold model does not depend on the original: the recipe's, from the cache each time
    gold = trained.models["gold.retain"]["key"]
    assert all(m["gold.retain"]["key"] == gold and m["gold.retain"]["source"] == "cache"
               for m in (first, moved, edited))
    assert trained.models["original"]["source"] == "trained"
    assert first["original"]["key"] != trained.models["original"]["key"]
    assert not any(s.trainings for s in sessions)


def test_torch_save_state_dicts_load_like_safetensors(base, tmp_path, monkeypatch):
    """Plain, wrapped ({"state_dict": ...}) and DataParallel-prefixed state dicts; with no
    config file, the path is relative to the working folder."""
    _, trained, _ = base
    state = trained.original.state_dict()
    torch.save(state, tmp_path / "plain.pt")
    torch.save({"state_dict": state, "epoch": torch.tensor(3)}, tmp_path / "wrapped.pt")
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "parallel.pth")
    monkeypatch.chdir(tmp_path)
    accuracy_only = [{"class": "Accuracy"}]  # no gold model: only the original is built

    for name in ("plain.pt", "wrapped.pt", "parallel.pth"):
        session = session_of(config_with(name, None, accuracy_only))
        loaded = session.original.state_dict()
        assert loaded.keys() == state.keys()
        assert all(torch.equal(loaded[k], state[k]) for k in state), name
        assert not session.original.training
        assert not any(p.requires_grad for p in session.original.parameters())
        assert session.models["original"]["checkpoint"] == str(tmp_path / name)
        assert session.trainings == {}


def test_a_tuning_stand_in_reuses_the_checkpoint_only_on_the_same_training_data(base):
    """The stand-in's original is the checkpoint's when it trains on the same samples; with
    some set aside (validation data the checkpoint has seen) it is trained by the recipe."""
    folder, _, _ = base
    session = session_of(config_with(str(folder / "weights" / "original.safetensors"), None,
                                     [{"class": "Accuracy"}]))
    partitions = dict(session.data.partitions)

    same = session.on_partitions(partitions, ("tuning", "same"))
    same.train_world([])
    assert same.original is session.original and same.trainings == {}

    partitions["train"] = partitions["train"][10:]
    fewer = session.on_partitions(partitions, ("tuning", "fewer"))
    fewer.train_world([])
    assert fewer.trainings == {"tune_original": 1}
    assert fewer.models["tuning.fewer.original"]["source"] == "trained"
    assert not torch.equal(fewer.original.layers[1].weight, session.original.layers[1].weight)


def test_a_worker_carries_the_checkpoint_and_refuses_one_changed_since_the_driver_read_it(
        base, tmp_path):
    """The units another process runs (the ray executor's tasks, here in this process)."""
    _, trained, _ = base
    state = trained.original.state_dict()
    path = tmp_path / "original.pt"
    torch.save(state, path)
    plan = prepare(config_with(str(path), None, [{"class": "Accuracy"}]))
    job = units.Job.of(plan, tmp_path / "run")
    try:
        (ready, _), weights = units.models_unit(job, 0)
        assert ready["models"]["original"]["sha256"] == plan.checkpoint.sha256
        assert ready["models"]["original"]["source"] == "checkpoint"
        assert all(torch.equal(weights["original"][k], state[k]) for k in state)

        # edited after the driver read it: a worker that has not built the plan yet reads
        # other bytes (one that has keeps the weights it read, which match the driver's hash)
        torch.save({k: v + 1 for k, v in state.items()}, path)
        units._PLANS.clear()
        with pytest.raises(ConfigError, match="the checkpoint changed while the run started"):
            units.models_unit(units.Job.of(plan, tmp_path / "run"), 0)
        assert not units._PLANS
    finally:
        units._PLANS.clear()
        units._SESSIONS.clear()


# -- reading a file --------------------------------------------------------------------------

def test_files_that_hold_no_state_dict_are_refused_with_the_reason(tmp_path):
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    (tmp_path / "garbage.bin").write_bytes(b"not a checkpoint at all")
    torch.save({"optimizer": {"lr": 0.1}}, tmp_path / "other.pt")
    expected = {"list.pt": "holds list, not a state dict",
                "garbage.bin": "is neither a safetensors file nor a torch.save file",
                "other.pt": "holds a dict with the keys ['optimizer'], not a state dict",
                ".": "is a folder, not a checkpoint file"}
    for name, message in expected.items():
        with pytest.raises(ConfigError) as error:
            read_checkpoint(tmp_path / name)
        problem = error.value.problems[0]
        assert problem.path == "predictor.parameters.checkpoint" and message in problem.message


def test_a_checkpoint_of_another_network_names_the_first_differing_tensor(tmp_path):
    network = MLP(hidden=[16], input_shape=(64,), num_classes=10)
    state = copy.deepcopy(network.state_dict())
    before = copy.deepcopy(state)
    cases = {
        "missing": ({k: v for k, v in state.items() if k != "layers.1.bias"},
                    "'layers.1.bias' (shape (16,)) is missing from the checkpoint"),
        "extra": ({**state, "head.weight": torch.zeros(1)},
                  "'head.weight' in the checkpoint is not a tensor of the network"),
        "shape": (MLP(hidden=[8], input_shape=(64,), num_classes=10).state_dict(),
                  "'layers.1.weight' has shape (8, 64) in the checkpoint but (16, 64) in the "
                  "network (and 2 other differences)"),
    }
    for name, (weights, message) in cases.items():
        save_file(weights, tmp_path / f"{name}.safetensors")
        with pytest.raises(ConfigError) as error:
            load_weights(network, read_checkpoint(tmp_path / f"{name}.safetensors"))
        assert message in error.value.problems[0].message, name
    assert all(torch.equal(network.state_dict()[k], before[k]) for k in before)  # untouched
