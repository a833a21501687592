"""The pipeline's promises: isolation (rule 2), determinism (rule 3), faults recorded (rule 5) and
data checks before any training."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from erasure import Session, prepare, run
from erasure.config import ConfigError
from tests import pipeline_fixtures as fx
from tests.helpers import digits_config, trained_session

#: The original only has to be a trained network here, not a good one.
EPOCHS = 3
#: Deterministic measures only (Runtime's seconds differ from run to run).
MEASURES = [{"class": "Accuracy"}, {"class": "UMIA"}]

SRL = {"class": "SuccessiveRandomLabels", "parameters": {"epochs": 1}}
FINETUNE = {"class": "Finetuning", "parameters": {"epochs": 2}}
NEGGRAD = {"class": "NegGrad"}
BUILTINS = [
    {"class": "Identity"},
    {"class": "GoldModel"},
    FINETUNE,
    NEGGRAD,
    {"class": "AdvancedNegGrad", "parameters": {"epochs": 1}},
    SRL,
    {"class": "Cascade", "parameters": {"unlearners": [NEGGRAD, {"class": "Finetuning",
                                                                 "parameters": {"epochs": 1}}]}},
]


def config(unlearners, seed=0, measures=MEASURES, epochs=EPOCHS, **kwargs):
    return digits_config(unlearners=unlearners, measures=measures, seed=seed, epochs=epochs, **kwargs)


def run_all(cfg):
    """Runs every unlearner of ``cfg`` in list order on the shared trained session."""
    session = trained_session(cfg)
    return session, [session.unlearn(i) for i in range(len(session.plan.unlearners))]


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(model, saved):
    state = model.state_dict()
    assert state.keys() == saved.keys()
    for key, tensor in saved.items():
        assert torch.equal(state[key], tensor), f"{key} changed"


def class0_share(data, partition):
    """Accuracy of a model whose logits are all zero: argmax is class 0 for every sample."""
    return (data.y[data[partition]] == 0).float().mean().item()


# --- isolation (rule 2) -------------------------------------------------------------------


def test_original_and_golds_bit_identical_after_every_unlearner():
    unlearners = [*BUILTINS, fx.component("ZeroWeights"), fx.component("TamperGold"),
                  fx.component("Raising"), fx.component("ReturnsStateDict")]
    session = trained_session(config(unlearners))
    original, gold = snapshot(session.original), snapshot(session.golds["retain"])
    x, y = session.data.x.clone(), session.data.y.clone()
    parts = {k: v.clone() for k, v in session.data.partitions.items()}

    records = [session.unlearn(i) for i in range(len(unlearners))]

    assert [r["status"] for r in records] == ["finished"] * 9 + ["failed"] * 2
    assert_same_weights(session.original, original)
    assert_same_weights(session.golds["retain"], gold)
    assert not any(p.requires_grad for p in session.original.parameters())
    assert torch.equal(session.data.x, x) and torch.equal(session.data.y, y)
    assert session.data.partitions.keys() == parts.keys()
    assert all(torch.equal(session.data[k], v) for k, v in parts.items())
    # the unlearners really changed their own copies: the zeroed model predicts class 0 only
    zeroed = records[7]["metrics"]
    assert zeroed["accuracy.retain.unlearned"] == pytest.approx(class0_share(session.data, "retain"))
    assert zeroed["accuracy.retain.original"] > 0.8
    # and every record reports the same numbers for the untouched original
    originals = {k: v for k, v in records[0]["metrics"].items() if k.endswith(".original")}
    for r in records[:9]:
        assert {k: r["metrics"][k] for k in originals} == originals


def test_unlearner_result_same_alone_first_or_last():
    alone = config([SRL])
    first = config([SRL, NEGGRAD, fx.component("ZeroWeights")])
    last = config([FINETUNE, fx.component("ZeroWeights"), fx.component("Raising"), NEGGRAD, SRL])
    metrics = [run_all(alone)[1][0]["metrics"], run_all(first)[1][0]["metrics"],
               run_all(last)[1][-1]["metrics"]]
    assert len(metrics[0]) == 8
    assert metrics[0] == metrics[1] == metrics[2]
    # the unlearner did something, so equal numbers are not equal by default
    assert metrics[0]["umia.forget.unlearned"] != metrics[0]["umia.forget.original"]


def test_zeroing_unlearner_affects_neither_next_unlearner_nor_original():
    session, (zeroed, after) = run_all(config([fx.component("ZeroWeights"), {"class": "Identity"}]))
    _, (alone,) = run_all(config([{"class": "Identity"}]))
    assert after["metrics"] == alone["metrics"]
    for part in ("forget", "retain", "test"):
        assert after["metrics"][f"accuracy.{part}.unlearned"] == after["metrics"][f"accuracy.{part}.original"]
        assert zeroed["metrics"][f"accuracy.{part}.unlearned"] == pytest.approx(
            class0_share(session.data, part))
    assert all(p.abs().sum() > 0 for p in session.original.parameters())


def test_gold_model_shared_between_records_is_unaffected_by_a_record():
    cfg = config([{"class": "GoldModel"}, fx.component("TamperGold"), {"class": "GoldModel"}])
    session = trained_session(cfg)
    gold = snapshot(session.golds["retain"])
    before, tampered, after = [session.unlearn(i) for i in range(3)]
    assert_same_weights(session.golds["retain"], gold)
    assert [before["name"], after["name"]] == ["GoldModel", "GoldModel#2"]
    assert before["metrics"] == after["metrics"]
    assert tampered["metrics"]["accuracy.retain.unlearned"] == pytest.approx(
        class0_share(session.data, "retain"))
    # the gold model is a model of its own, not the original
    assert before["metrics"]["umia.forget.unlearned"] != before["metrics"]["umia.forget.original"]
    assert before["metrics"]["accuracy.retain.unlearned"] > 0.8


@pytest.fixture(scope="module")
def data_writer():
    """A fresh session (never the shared cache: this unlearner damages the data)."""
    plan = prepare(config([fx.component("WritesData"), {"class": "Identity"}], epochs=1))
    session = Session(plan, seed=0)
    session.load_data()
    session.train_models()
    saved = snapshot(session.original), session.data.x.clone()
    records = [session.unlearn(0), session.unlearn(1)]
    return session, saved, records


def test_unlearner_writing_into_data_cannot_reach_the_original(data_writer):
    session, (original, _), (writer, identity) = data_writer
    assert writer["status"] == "failed"
    assert "modified the shared data" in writer["error"]
    assert_same_weights(session.original, original)
    # the next unlearner still starts from the original's weights
    assert identity["metrics"]["accuracy.test.unlearned"] == identity["metrics"]["accuracy.test.original"]


def test_unlearner_writing_into_data_cannot_reach_the_data(data_writer):
    # the write is detected, the record failed, and the data reloaded for the records after it
    session, (_, x), (_, identity) = data_writer
    assert torch.equal(session.data.x, x)
    assert identity["status"] == "finished"


# --- determinism (rule 3) -----------------------------------------------------------------


def test_two_runs_with_same_seed_give_identical_records(tmp_path):
    cfg = config([NEGGRAD, {"class": "Finetuning", "parameters": {"epochs": 1}}, SRL],
                 measures=[*MEASURES, {"class": "PartitionSizes"}])
    docs = [json.loads(run(prepare(cfg), output=tmp_path / name).read_text()) for name in "ab"]
    assert docs[0]["partitions"] == docs[1]["partitions"]
    assert [r["name"] for r in docs[0]["records"]] == ["NegGrad", "Finetuning", "SuccessiveRandomLabels"]
    for a, b in zip(docs[0]["records"], docs[1]["records"]):
        assert a["status"] == b["status"] == "finished"
        assert len(a["metrics"]) == 13
        assert a["metrics"] == b["metrics"]
    # the records differ from one another: the comparison is not between constants
    assert len({json.dumps(r["metrics"], sort_keys=True) for r in docs[0]["records"]}) == 3


def test_training_the_original_is_bit_reproducible():
    cfg = config([{"class": "Identity"}])
    fresh = Session(prepare(cfg), seed=0)
    fresh.load_data()
    fresh.train_models()
    cached = trained_session(cfg)
    assert_same_weights(fresh.original, snapshot(cached.original))
    assert all(torch.equal(fresh.data[k], cached.data[k]) for k in cached.data.partitions)


def test_different_seed_gives_different_partitions_and_numbers():
    s0, (r0,) = run_all(config([SRL], seed=0))
    s1, (r1,) = run_all(config([SRL], seed=1))
    assert s0.data.sizes() == s1.data.sizes()
    for part in ("train", "forget", "retain"):
        assert not torch.equal(s0.data[part], s1.data[part])
    assert any(not torch.equal(a, b) for a, b in zip(s0.original.state_dict().values(),
                                                     s1.original.state_dict().values()))
    assert r0["metrics"].keys() == r1["metrics"].keys()
    assert r0["metrics"] != r1["metrics"]


def test_a_session_runs_the_seed_it_is_given_not_the_configs():
    plan = prepare(config([{"class": "Identity"}], seed=0))
    given = Session(plan, seed=1).load_data()
    configured = trained_session(config([{"class": "Identity"}], seed=1)).data
    for part in ("train", "forget", "retain"):
        assert torch.equal(given[part], configured[part])
    assert not torch.equal(given["forget"], Session(plan, seed=0).load_data()["forget"])


def test_adding_an_unlearner_does_not_change_anothers_numbers():
    _, (alone,) = run_all(config([FINETUNE]))
    _, records = run_all(config([NEGGRAD, FINETUNE, SRL]))
    assert records[1]["name"] == "Finetuning"
    assert records[1]["metrics"] == alone["metrics"]


# --- faults (rule 5) ----------------------------------------------------------------------


def test_failing_unlearners_and_measures_are_recorded_and_others_complete():
    measures = [{"class": "Accuracy"}, fx.component("RaisingMeasure"), {"class": "UMIA"}]
    cfg = config([{"class": "Identity"}, fx.component("Raising"), fx.component("ReturnsStateDict"),
                  FINETUNE], measures=measures)
    session, (identity, raising, wrong, finetuning) = run_all(cfg)

    assert raising["name"] == "Raising"
    assert raising["status"] == "failed"
    assert raising["error"] == "RuntimeError: deliberate failure"
    assert raising["metrics"] == {} and raising["failed_measures"] == {}

    assert wrong["status"] == "failed"
    assert wrong["error"] == "unlearn() returned OrderedDict, not a torch.nn.Module"
    assert wrong["metrics"] == {}

    keys = {f"accuracy.{p}.{t}" for p in ("forget", "retain", "test") for t in ("original", "unlearned")}
    keys |= {"umia.forget.original", "umia.forget.unlearned"}
    for record in (identity, finetuning):
        assert record["status"] == "finished" and record["error"] is None
        assert set(record["metrics"]) == keys
        assert all(0.0 <= v <= 1.0 for v in record["metrics"].values())
        assert record["failed_measures"] == {"RaisingMeasure[1]": "ValueError: measure exploded"}
    assert identity["config"]["class"] == "erasure.unlearners.identity.Identity"


def test_measure_returning_non_numbers_is_a_failure_not_a_crash(tmp_path):
    measures = [fx.component("OddValuesMeasure"), {"class": "Accuracy", "parameters": {"partition": "test"}}]
    cfg = config([{"class": "Identity"}, FINETUNE], measures=measures, epochs=1)
    doc = json.loads(run(prepare(cfg), output=tmp_path / "out").read_text())
    assert doc["status"] == "finished"
    assert [r["status"] for r in doc["records"]] == ["finished", "finished"]
    for record in doc["records"]:
        # the measure that returned a list is failed as a whole; the other measure still reports
        assert set(record["metrics"]) == {"accuracy.test.original", "accuracy.test.unlearned"}
        assert record["failed_measures"] == {
            "OddValuesMeasure[0]": "TypeError: metric 'odd.forget.list' is list, not a number"}


def test_scalar_tensors_and_numpy_numbers_become_floats():
    from erasure.measures.evaluator import numbers

    assert numbers({"a": torch.tensor(0.5), "b": np.float32(0.25), "c": None, "d": 1}) == \
        {"a": 0.5, "b": 0.25, "c": None, "d": 1}
    for bad in ({"a": "0.75"}, {"a": torch.ones(2)}, {"a": True}, {1: 0.5}, [0.5]):
        with pytest.raises(TypeError):
            numbers(bad)


def test_failed_unlearner_that_changed_its_model_leaves_the_original_alone():
    session = trained_session(config([fx.component("Raising", message="half way")]))
    saved = snapshot(session.original)
    record = session.unlearn(0)
    assert record["error"] == "RuntimeError: half way"
    assert_same_weights(session.original, saved)


# --- data checks before training ----------------------------------------------------------


def with_second_split(cfg, splitter):
    cfg["data"]["parameters"]["partitions"][1] = splitter
    return cfg


def empty_split(empty):
    return fx.component("EmptySplit", parts_names=["forget", "retain"], ref_data="train", empty=empty)


def problems(error):
    return [(p.path, p.message) for p in error.value.problems]


def test_empty_forget_set_is_refused_before_training(tmp_path):
    cfg = with_second_split(config([{"class": "Identity"}, FINETUNE]), empty_split("first"))
    plan = prepare(cfg)
    session = Session(plan, seed=0)
    with pytest.raises(ConfigError) as error:
        session.load_data()
    assert problems(error) == [
        ("unlearners[0].parameters.ref_data_forget", "the forget set 'forget' is empty"),
        ("unlearners[1].parameters.ref_data_forget", "the forget set 'forget' is empty")]
    assert session.original is None and session.golds == {}
    assert "train_original" not in session.timings

    out = tmp_path / "out"
    with pytest.raises(ConfigError) as again:
        run(plan, output=out)
    assert problems(again) == problems(error)
    assert not out.exists()


def test_forget_set_outside_training_set_is_refused(tmp_path):
    cfg = config([{"class": "Identity"}, {"class": "Finetuning", "parameters": {"ref_data_forget": "test"}}])
    plan = prepare(cfg)  # a data-dependent problem: the names themselves are valid
    test_size = plan.data.load(0)["test"].numel()
    assert test_size > 300
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as error:
        run(plan, output=out)
    assert problems(error) == [("unlearners[1].parameters.ref_data_forget",
                                f"{test_size} samples of the forget set 'test' are not in the "
                                "training set 'train'")]
    assert not out.exists()


def test_empty_retain_set_is_refused(tmp_path):
    cfg = with_second_split(config([NEGGRAD]), empty_split("second"))
    plan = prepare(cfg)
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as error:
        run(plan, output=out)
    # the forget set is the whole training set (inside it, so no problem there); retain is empty
    assert problems(error) == [("unlearners[0].parameters.ref_data_retain",
                                "the retain set 'retain' is empty: nothing would be left to keep")]
    assert not out.exists()


def test_cascade_steps_are_checked_with_their_place_in_the_config():
    bad = {"class": "Finetuning", "parameters": {"ref_data_forget": "test"}}
    cfg = config([{"class": "Identity"}, {"class": "Cascade", "parameters": {"unlearners": [NEGGRAD, bad]}}])
    with pytest.raises(ConfigError) as error:
        Session(prepare(cfg), seed=0).load_data()
    assert [path for path, _ in problems(error)] == [
        "unlearners[1].parameters.unlearners[1].parameters.ref_data_forget"]


def test_globals_threads_sets_torch_threads_and_rejects_zero():
    cfg = config([{"class": "Identity"}], epochs=1)
    before = torch.get_num_threads()
    try:
        cfg["globals"]["threads"] = 2
        Session(prepare(cfg), seed=0)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    cfg["globals"]["threads"] = 0
    with pytest.raises(ConfigError) as e:
        prepare(cfg)
    assert [str(p) for p in e.value.problems] == ["globals.threads: threads must be at least 1, got 0"]


def test_shared_objects_are_built_once_and_a_fork_starts_its_own_store():
    session = trained_session(config([{"class": "Identity"}]))
    built = []
    first = session.shared("key", lambda: built.append(1) or torch.rand(3))
    again = session.shared("key", lambda: built.append(1) or torch.rand(3))
    assert first is again and built == [1] and session.shared_builds == ["key"]
    other = session.fork(session.plan)
    fresh = other.shared("key", lambda: torch.rand(3))
    assert torch.equal(fresh, first)  # built from the stream seeded by its key: the same values
    assert other.shared_builds == ["key"] and session.shared_builds == ["key"]
    assert other.original is session.original and other.data is session.data


def test_data_reloaded_after_a_write_keeps_the_hardware_layout():
    """The reload after a damaging unlearner lays the data out as the first load did
    (channels-last images stay channels-last)."""
    cfg = config([fx.component("WritesData"), {"class": "Identity"}], epochs=1,
                 model={"class": "SmallCNN"})
    cfg["data"]["parameters"]["DataSource"] = {"class": "TorchVisionDataSource", "parameters": {
        "dataset": "FakeData", "options": {"size": 120, "image_size": [3, 8, 8], "num_classes": 3}}}
    cfg["globals"]["channels_last"] = True
    session = Session(prepare(cfg), seed=0)
    session.load_data()
    nhwc = (192, 1, 24, 3)  # the strides of 3×8×8 images stored channels-last
    assert session.data.x.stride() == nhwc
    session.train_models()
    writer = session.unlearn(0)
    assert writer["status"] == "failed" and "modified the shared data" in writer["error"]
    assert session.data.x.stride() == nhwc
    assert session.unlearn(1)["status"] == "finished"
