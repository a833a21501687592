"""Every shipped config validates and runs end to end; the example shows everything built in."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from erasure import prepare, run
from erasure.config import load_config
from erasure.config.registry import full_name, names_for, resolve
from erasure.measures.base import Measure
from erasure.results import markdown_table
from erasure.unlearners import Unlearner

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SHIPPED = sorted(CONFIGS.glob("*.jsonc"))
EXAMPLE = CONFIGS / "example.jsonc"


def test_configs_are_found():
    names = [p.name for p in SHIPPED]
    assert "example.jsonc" in names and "proof_of_concept.jsonc" in names
    assert not any(p.parent.name == "snippets" for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_config_validates(path):
    config = load_config(path)
    plan = prepare(config, config_file=path)
    assert plan.config_file == path.resolve()
    assert len(plan.unlearners) == len(config["unlearners"]) == len(plan.names)
    assert len(set(plan.names)) == len(plan.names)
    assert plan.evaluator.measures


#: configs run end to end by a test of their own (which checks more of them)
RUN_ELSEWHERE = {"text.jsonc": "tests/data/test_text_example.py"}


@pytest.mark.parametrize("path", [p for p in SHIPPED if p.name not in RUN_ELSEWHERE],
                         ids=lambda p: p.name)
def test_config_runs_end_to_end(path, tmp_path):
    config = load_config(path)
    config["predictor"]["parameters"]["epochs"] = 5
    plan = prepare(config, config_file=path)
    results = run(plan, output=tmp_path / path.stem)
    doc = json.loads(results.read_text(encoding="utf-8"))
    assert results == tmp_path / path.stem / "results.json"
    assert doc["status"] == "finished"
    assert doc["config_file"] == str(path.resolve())
    assert doc["config"]["predictor"]["parameters"]["epochs"] == 5
    assert [r["name"] for r in doc["records"]] == plan.names
    for record in doc["records"]:
        assert record["status"] == "finished", (record["name"], record["error"])
        assert record["failed_measures"] == {}, record["name"]
        metrics = record["metrics"]
        assert metrics, record["name"]
        # accuracies are fractions, and the original's are the same in every record
        accuracies = {k: v for k, v in metrics.items() if k.startswith("accuracy.")}
        assert accuracies and all(0.0 <= v <= 1.0 for v in accuracies.values())
    first = doc["records"][0]["metrics"]
    for record in doc["records"][1:]:
        assert {k: v for k, v in record["metrics"].items() if k.endswith(".original")} == \
               {k: v for k, v in first.items() if k.endswith(".original")}
    # five epochs train a real classifier, not a constant
    assert first["accuracy.test.original"] > 0.8
    for record in doc["records"]:
        if "tuning" in record:
            assert_tuned(record)
    if path.name == "tuning.jsonc":
        tuned = {r["name"]: r["tuning"]["protocol"] for r in doc["records"] if "tuning" in r}
        assert tuned == {"NegGrad": "held_out", "Finetuning": "held_out", "SSD": "oracle"}
        assert all(r["tuning"]["trials"] == 12 for r in doc["records"] if "tuning" in r)
        space = {r["name"]: r["tuning"]["space"] for r in doc["records"] if "tuning" in r}
        # Finetuning's own space in the config, the others' the method's default
        assert space["Finetuning"]["epochs"] == {"type": "int", "low": 1, "high": 8, "log": False}
        assert space["NegGrad"]["epochs"]["high"] == 30
        # the summary lists each tuned record's knobs, in record order
        summary = markdown_table(doc).splitlines()
        knobs = [line for line in summary if line.startswith("- ") and " protocol, " in line]
        assert [line.split(" (seed 0): ")[0] for line in knobs] == ["- NegGrad", "- Finetuning",
                                                                   "- SSD"]
        assert knobs[2].startswith("- SSD (seed 0): oracle protocol, avg_gap = ")


def assert_tuned(record: dict) -> None:
    """A tuned record's block: the budget spent, the trials accounted for, the knobs chosen
    inside the space, the best value among the trials', the test data never in the stand-in."""
    block = record["tuning"]
    assert block["protocol"] in ("held_out", "oracle") and block["direction"] == "minimize"
    budget = block["budget"]["trials"]
    assert block["trials"] == len(block["history"]) == budget, record["name"]
    assert block["complete"] + block["pruned"] + block["failed"] == block["trials"]
    states = [state for _, _, state in block["history"]]
    assert states.count("complete") == block["complete"] and states.count("pruned") == \
        block["pruned"]
    assert block["seconds"] > 0
    assert set(block["params"]) == set(block["space"])
    for key, value in block["params"].items():
        distribution = block["space"][key]
        assert distribution["low"] <= value <= distribution["high"], (record["name"], key)
        if distribution["type"] == "int":
            assert isinstance(value, int)
    values = [v for _, v, state in block["history"] if state == "complete"]
    assert block["value"] == min(values)
    assert block["history"][block["best_trial"]][1] == block["value"]
    assert record["config"]["parameters"]  # the chosen knobs are in the record's config
    if block["protocol"] == "held_out":
        assert block["stand_in"]["forget"]["drawn"] != "the evaluated forget set 'forget'"


def builtin_classes(base):
    return {full_name(resolve(name, base, "")) for name in names_for(base)}


def test_example_uses_every_builtin_unlearner_and_measure():
    plan = prepare(load_config(EXAMPLE), config_file=EXAMPLE)
    unlearners = {u["class"] for u in plan.resolved["unlearners"]}
    measures = {m["class"] for m in plan.resolved["evaluator"]["parameters"]["measures"]}
    listed = {"Identity", "GoldModel", "Finetuning", "NegGrad", "AdvancedNegGrad",
              "SuccessiveRandomLabels", "Cascade"}
    assert listed <= set(names_for(Unlearner))
    assert {"PartitionSizes", "Runtime", "Accuracy", "UMIA"} <= set(names_for(Measure))
    missing = builtin_classes(Unlearner) - unlearners
    assert not missing, f"example.jsonc lacks built-in unlearners {sorted(missing)}"
    missing = builtin_classes(Measure) - measures
    assert not missing, f"example.jsonc lacks built-in measures {sorted(missing)}"


def test_example_forgets_a_random_tenth_of_the_training_set():
    plan = prepare(load_config(EXAMPLE), config_file=EXAMPLE)
    forget_names = {u.ref_data_forget for u in plan.unlearners}
    assert forget_names == {"forget"}
    splitters = plan.resolved["data"]["parameters"]["partitions"]
    [writer] = [s for s in splitters if "forget" in s["parameters"]["parts_names"]]
    assert writer["class"] == "erasure.data.splits.PercentageSplit"
    assert writer["parameters"]["parts_names"][0] == "forget"
    assert writer["parameters"]["ref_data"] == plan.predictor.training_set == "train"
    assert writer["parameters"]["percentage"] == 0.1
    assert writer["parameters"]["shuffle"] is True
    # on the data: a tenth of train, drawn from across the dataset and every class
    data = plan.data.load(plan.settings.seed)
    forget, train = data["forget"], data["train"]
    assert abs(len(forget) - 0.1 * len(train)) <= 1
    assert set(data.y[forget].tolist()) == set(range(10))
    assert forget.max() - forget.min() > 0.8 * len(data.y)
    assert len(forget) < len(train) and bool(set(forget.tolist()) <= set(train.tolist()))


DATA_CONFIGS = sorted((CONFIGS / "data").glob("*.jsonc"))
TESTS = Path(__file__).resolve().parent


def test_every_data_family_has_a_config():
    sources = {load_config(p)["data"]["parameters"]["DataSource"]["class"] for p in DATA_CONFIGS}
    assert {"TorchVisionDataSource", "HuggingFaceDataSource", "UCIDataSource", "PyGDataSource",
            "TableDataSource"} <= sources


@pytest.mark.parametrize("path", DATA_CONFIGS, ids=lambda p: p.name)
def test_data_config_validates_and_is_run_by_a_test(path):
    """Data configs need their dataset (a download, a cache): each validates here, and a test
    under tests/data/ runs it end to end on data it writes offline."""
    plan = prepare(load_config(path), config_file=path)
    assert plan.unlearners and plan.evaluator.measures
    runners = [t for t in (TESTS / "data").glob("test_*.py") if path.name in t.read_text()]
    assert runners, f"no test under tests/data/ names {path.name}"
