"""The original ERASURE's configs through the compatibility layer (erasure/config/original.py).

Its two example configs (tests/data/erasure_original/, CC0) validate unchanged, and the example
runs with its MNIST replaced by IDX files the test writes.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from erasure import prepare, run
from erasure.config import ConfigError, load_config
from erasure.config.original import DROPPED_COMPONENTS, TABLE, is_original, translate_original
from erasure.config.overrides import apply_overrides
from tests.data.test_vision_source import digits_28, write_idx

ORIGINAL = Path(__file__).resolve().parents[1] / "data" / "erasure_original"
CONFIGS = ORIGINAL / "configs"
EXAMPLES = [CONFIGS / "example.jsonc", CONFIGS / "proof_of_concept.jsonc"]


def steps(config: dict) -> list[tuple[str, dict]]:
    return [(u["class"], u.get("parameters", {})) for u in config["unlearners"]]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_original_configs_validate_unchanged(path, caplog):
    before = path.read_bytes()
    with caplog.at_level(logging.INFO, logger="erasure.config.original"):
        config = load_config(path)
    plan = prepare(config, config_file=path)
    assert path.read_bytes() == before
    assert any("original ERASURE config: translated" in r.message for r in caplog.records)
    assert not is_original(config)  # what the validator and results.json see is ours
    assert len(plan.names) == 14
    assert [name for name, _ in steps(config)] == [
        "GoldModel", "AdvancedNegGrad", "BadTeaching", "Finetuning", "CFk", "FisherForgetting",
        "EUk", "Identity", "NegGrad", "Scrub", "SSD", "Cascade", "SuccessiveRandomLabels", "SalUn"]
    by_name = dict(steps(config))
    assert by_name["BadTeaching"]["temperature"] == 1.0
    assert by_name["CFk"]["last_trainable_layers"] == 3
    assert by_name["EUk"]["last_trainable_layers"] == 3
    assert by_name["Scrub"]["temperature"] == 4.0
    assert by_name["SSD"]["selection_weighting"] == 20
    assert by_name["SSD"]["dampening_constant"] == 0.1
    assert by_name["Finetuning"]["ref_data_retain"] == "retain"
    assert by_name["NegGrad"]["ref_data_forget"] == "forget"
    assert by_name["SalUn"]["mask_fraction"] == 0.5
    unsir, finetuning = by_name["Cascade"]["unlearners"]
    assert (unsir["class"], finetuning["class"]) == ("UNSIR", "Finetuning")
    assert unsir["parameters"]["noise_lr"] == 0.01 and unsir["parameters"]["impair_epochs"] == 1
    assert config["globals"]["cache"] is True
    assert config["predictor"]["class"] == "Predictor"
    assert config["predictor"]["parameters"]["batch_size"] == 64
    assert config["predictor"]["parameters"]["model"]["class"] == "ResNet18"


def test_example_translation_of_data_and_measures():
    config = load_config(CONFIGS / "example.jsonc")
    assert config["data"]["parameters"]["DataSource"] == {
        "class": "TorchVisionDataSource", "parameters": {"dataset": "MNIST"}}
    chain = [(s["class"], s["parameters"]) for s in config["data"]["parameters"]["partitions"]]
    assert chain[0] == ("PercentageSplit", {"parts_names": ["all_shuffled", "unused_1"],
                                            "percentage": 0.2, "shuffle": True})
    # an in-order cut of the shuffled partition is drawn at random, as the original's was
    assert chain[1][1]["shuffle"] is True and chain[1][1]["ref_data"] == "all_shuffled"
    measures = [(m["class"], m.get("parameters", {}))
                for m in config["evaluator"]["parameters"]["measures"]]
    assert [c for c, _ in measures] == ["Runtime"] + ["Accuracy"] * 6 + ["SklearnMetric"] * 4 + [
        "AUS", "RelearnTime", "AIN", "UMIA"]  # SaveValues dropped: results.json replaces it
    assert measures[7][1] == {"partition": "test", "target": "unlearned", "metric": "f1_score",
                              "kwargs": {"average": "macro"}, "key": "f1_macro"}
    assert measures[11][1] == {"forget": "forget", "test": "test"}
    assert measures[13][1] == {"partition": "forget", "alpha": 0.001}


def test_dropped_parameters_are_listed_once_at_their_original_paths(caplog):
    with caplog.at_level(logging.INFO, logger="erasure.config.original"):
        load_config(CONFIGS / "example.jsonc")
    (line,) = [r.message for r in caplog.records if r.message.startswith("dropped from")]
    for path in ("unlearners[10].parameters.ref_data_train",
                 "unlearners[13].parameters.sub_unlearner[0].parameters.save_dir",
                 "unlearners[13].parameters.sub_unlearner[1].parameters.model_mask_path",
                 "evaluator.parameters.measures[13].parameters.gold_model",
                 "evaluator.parameters.measures[15] (SaveValues"):
        assert path in line


def test_proof_of_concept_chain():
    config = load_config(CONFIGS / "proof_of_concept.jsonc")
    chain = [(s["class"], s["parameters"]) for s in config["data"]["parameters"]["partitions"]]
    assert chain[0] == ("ConcatSplit", {"parts_names": ["all_shuffled"], "ref_data": ["all"]})
    assert chain[1][0] == "GroupSplit" and chain[1][1]["group"] == "z"
    assert chain[1][1]["values"][:2] == [2820, 3227]
    assert chain[3] == ("ConcatSplit", {"parts_names": ["train"], "ref_data": ["retain", "forget"]})


def class_paths(node) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(class_paths, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["class"]} if isinstance(node.get("class"), str) else set()
    return found.union(*map(class_paths, node.values()))


def test_table_covers_every_class_path_of_both_configs():
    from erasure.config.load import read_file

    paths = set()
    for file in [*EXAMPLES, *CONFIGS.glob("snippets/*.json")]:
        paths |= {p for p in class_paths(read_file(file)) if p.startswith("erasure.")}
    # SaliencyMapGeneration is translated with its Cascade into SalUn; the UMIA attack's own
    # dataset (TorchFileDataSource) is dropped with its parameter; reshape_y_z with CelebA's
    missing = paths - set(TABLE) - set(DROPPED_COMPONENTS)
    assert missing == {"erasure.unlearners.SaliencyMapGeneration.SaliencyMapGeneration",
                       "erasure.data.data_sources.TorchFileDataSource.TorchFileDataSource",
                       "erasure.data.preprocessing.reshape_y_z.reshape_y_z_legacy"}


def test_unmappable_class_names_its_path_and_nearest_equivalent(tmp_path):
    config = json.loads(re.sub(r"//[^\n]*", "", (CONFIGS / "example.jsonc").read_text()))
    config["unlearners"][2]["class"] = "erasure.unlearners.BadTeachingPlus.BadTeachingPlus"
    config["unlearners"][4] = {"class": "erasure.unlearners.SaliencyMapGeneration."
                                        "SaliencyMapGeneration", "parameters": {}}
    with pytest.raises(ConfigError) as e:
        translate_original(config, CONFIGS / "example.jsonc")
    found = {p.path: p for p in e.value.problems}
    assert set(found) == {"unlearners[2].class", "unlearners[4].class"}
    assert "Nearest equivalent: BadTeaching" in found["unlearners[2].class"].hint
    assert "Nearest equivalent: SalUn" in found["unlearners[4].class"].hint
    assert "no counterpart in erasure" in found["unlearners[2].class"].message


def test_compose_resolves_from_the_working_folder_first(tmp_path, monkeypatch):
    (tmp_path / "configs" / "snippets").mkdir(parents=True)
    (tmp_path / "configs" / "snippets" / "u_id.json").write_text(
        '{"class": "erasure.unlearners.NegGrad.NegGrad", "parameters": {"ref_data": "forget"}}')
    monkeypatch.chdir(tmp_path)
    config = load_config(CONFIGS / "example.jsonc")
    assert [name for name, _ in steps(config)][7] == "NegGrad"


def test_ours_is_not_translated():
    ours = {"unlearners": [{"class": "Scrub", "parameters": {"T": 4}}]}
    assert translate_original(ours, Path("x.jsonc")) is ours


# -- a run on local files --------------------------------------------------------------------------

def write_mnist(root: Path, n_train: int, n_test: int) -> Path:
    images, labels = digits_28()
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, part in (("train", slice(0, n_train)), ("t10k", slice(n_train, n_train + n_test))):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images[part])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[part])
    return root


def test_example_runs_on_local_mnist_files(tmp_path):
    path = CONFIGS / "example.jsonc"
    config = load_config(path)
    # a few of its unlearners, kept in its order: GoldModel, BadTeaching, CF-k, Scrub, the
    # UNSIR → Finetuning cascade, SalUn
    config["unlearners"] = [config["unlearners"][i] for i in (0, 2, 4, 9, 11, 13)]
    root = write_mnist(tmp_path / "torchvision", 400, 100)
    config = apply_overrides(config, [
        f"data.parameters.DataSource.parameters.root={root}",
        "data.parameters.partitions[0].parameters.percentage=0.8",  # 400 of the 500 samples
        "predictor.parameters.epochs=1",
        # the example's ResNet-18, narrow and shallow enough for a test
        'predictor.parameters.model.parameters={"width": 4, "blocks": [1, 1, 1, 1]}',
        "unlearners.Cascade.parameters.unlearners[0].parameters.noise_samples=16",
        "unlearners.Cascade.parameters.unlearners[0].parameters.noise_steps=2",
        "unlearners.Cascade.parameters.unlearners[0].parameters.noise_copies=2",
        "globals.cache=false", "globals.device=cpu", "globals.threads=1",
    ])
    config["evaluator"]["parameters"]["measures"][12]["parameters"]["max_steps"] = 5
    config["evaluator"]["parameters"]["measures"][13]["parameters"]["max_steps"] = 5
    results = run(prepare(config, config_file=path), output=tmp_path / "out")
    doc = json.loads(results.read_text(encoding="utf-8"))
    assert doc["status"] == "finished"
    assert not is_original(doc["config"])  # its resolved config, ours, is not translated again
    assert doc["partitions"]["all"] == 500 and doc["partitions"]["all_shuffled"] == 400
    assert doc["config"]["data"]["parameters"]["DataSource"]["class"] == \
        "erasure.data.sources.vision.TorchVisionDataSource"
    assert [r["name"] for r in doc["records"]] == [
        "GoldModel", "BadTeaching", "CFk", "Scrub", "Cascade", "SalUn"]
    for record in doc["records"]:
        assert record["status"] == "finished", (record["name"], record["error"])
        assert record["failed_measures"] == {}, record["name"]
        metrics = record["metrics"]
        for key in ("accuracy.test.unlearned", "accuracy.forget.original",
                    "f1_macro.test.unlearned", "aus.forget.unlearned", "umia.forget.unlearned",
                    "relearn_steps.forget.unlearned",
                    "runtime.unlearn"):
            assert key in metrics, (record["name"], key)
        assert 0.0 <= metrics["accuracy.test.unlearned"] <= 1.0


@pytest.mark.parametrize("name, nearest", [
    ("erasure.evaluations.measures.Acuracy", "Accuracy"),
    ("erasure.data.datasets.DataSplitter.DataSplitterStratified", "StratifiedSplit"),
    ("erasure.unlearners.SCRUBv2.SCRUBv2", "Scrub"),
])
def test_the_nearest_equivalent_is_of_the_same_kind(name, nearest):
    config = {"evaluator": {"class": "erasure.evaluations.manager.Evaluator",
                            "parameters": {"measures": [{"class": name}]}}}
    with pytest.raises(ConfigError) as e:
        translate_original(config, Path("x.jsonc"))
    (problem,) = e.value.problems
    assert problem.path == "evaluator.parameters.measures[0].class"
    assert f"Nearest equivalent: {nearest}." in problem.hint


def test_command_line_validates_an_original_config(capsys):
    from erasure.cli import main

    assert main([str(CONFIGS / "example.jsonc"), "--validate",
                 "--set", "unlearners.CFk.parameters.epochs=2"]) == 0
    assert "valid (14 unlearners, 15 measures)" in capsys.readouterr().out


def test_translation_leaves_its_input_unchanged():
    from erasure.config.load import read_file

    raw = read_file(CONFIGS / "proof_of_concept.jsonc")
    before = json.dumps(raw, sort_keys=True)
    translated = translate_original(raw, CONFIGS / "proof_of_concept.jsonc")
    assert json.dumps(raw, sort_keys=True) == before
    assert translated["unlearners"][0]["class"] == "GoldModel"
