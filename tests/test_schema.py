"""``python main.py schema``: the JSON Schema of a config (erasure/schema.py) is a valid draft
2020-12 schema, accepts every config the project ships, and refuses what the builder refuses
that a file alone shows: a misspelled parameter, a value of the wrong type or out of bounds, an
unknown class."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from erasure.cli import main
from erasure.config.load import read_file
from erasure.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent
#: every whole config the project ships (snippets are parts of configs, not configs)
CONFIGS = sorted([*ROOT.glob("configs/*.jsonc"), *ROOT.glob("configs/data/*.jsonc"),
                  *ROOT.glob("guide/examples/*.jsonc")])


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, config) -> list[tuple[str, str]]:
    return [(".".join(map(str, e.absolute_path)), e.message) for e in validator.iter_errors(config)]


def test_every_config_of_the_project_is_valid(validator):
    assert len(CONFIGS) >= 10
    for path in CONFIGS:  # read as the framework reads JSONC (its includes left as they are)
        assert errors(validator, read_file(path)) == [], path


@pytest.fixture
def example():
    return read_file(ROOT / "configs" / "example.jsonc")


def finetuning(config) -> dict:
    entry, = [u for u in config["unlearners"] if u["class"] == "Finetuning"]
    return entry


def test_a_misspelled_parameter_is_refused(validator, example):
    finetuning(example)["parameters"]["epochz"] = finetuning(example)["parameters"].pop("epochs")
    (where, message), = errors(validator, example)
    assert where.endswith(".parameters") and "'epochz' was unexpected" in message


def test_a_value_of_the_wrong_type_or_out_of_bounds_is_refused(validator, example):
    finetuning(example)["parameters"]["epochs"] = "five"
    example["data"]["parameters"]["partitions"][0]["parameters"]["percentage"] = 1.5
    example["globals"]["device"] = "gpu"
    found = errors(validator, example)
    assert {w.rsplit(".", 1)[-1] for w, _ in found} == {"epochs", "percentage", "device"}, found
    assert any("not of type 'integer'" in m for _, m in found)


def test_nested_components_and_unknown_classes(validator, example):
    parameters = finetuning(example)["parameters"]
    parameters["optimizer"] = {"class": "torch.optim.SGD", "parameters": {"lr": 0.1, "lrr": 1}}
    (where, message), = errors(validator, example)
    assert where.endswith("optimizer.parameters") and "'lrr'" in message
    # a component given without "class" where the default is one: the default's parameters
    parameters["optimizer"] = {"parameters": {"lr": 0.1}}
    assert errors(validator, example) == []
    parameters["optimizer"] = {"parameters": {"lrr": 0.1}}
    assert errors(validator, example)
    # the scheduler has no component default: it needs its class
    example["predictor"] = {"class": "Predictor",
                            "parameters": {"scheduler": {"parameters": {"step_size": 2}}}}
    assert errors(validator, {**example, "unlearners": [{"class": "Identity"}]})
    # your own class, by dotted path: any parameters; an unknown short name: refused
    parameters["optimizer"] = {"class": "mylab.MyOptimizer", "parameters": {"anything": 1}}
    example["predictor"] = {"include": "snippets/mlp_predictor.jsonc"}
    assert errors(validator, example) == []
    finetuning(example)["class"] = "Finetunning"
    assert errors(validator, example)


def test_a_config_including_another_may_give_parts_of_its_sections(validator):
    """Its objects are merged over the included file's (a part of a component is fine), its
    lists replace the included ones (checked in full)."""
    config = {"include": "_base/digits.jsonc", "globals": {"seed": 3},
              "predictor": {"parameters": {"epochs": 2}},
              "unlearners": [{"class": "Finetuning", "parameters": {"epochs": 1}}]}
    assert errors(validator, config) == []
    config["unlearners"][0]["parameters"]["epochz"] = 1
    config["globals"]["seeed"] = 1
    config["evaluator"] = {"class": "Evaluator", "parameters": {"measure": []}}
    assert {w for w, _ in errors(validator, config)} == {"unlearners.0.parameters", "globals",
                                                         "evaluator.parameters"}


def test_the_schema_command_writes_the_schema_and_a_config_may_name_it(tmp_path, capsys):
    out = tmp_path / "erasure.schema.json"
    assert main(["schema", "--output", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "Scrub" in schema["$defs"]["Unlearner.class"]["anyOf"][0]["enum"]
    config = read_file(ROOT / "configs" / "example.jsonc")
    config = {"$schema": "erasure.schema.json", **copy.deepcopy(config)}
    config["predictor"] = read_file(ROOT / "configs" / "snippets" / "mlp_predictor.jsonc")
    config["evaluator"] = {"class": "Evaluator",
                           "parameters": {"measures": [{"class": "Accuracy"}]}}
    path = tmp_path / "exp.jsonc"
    path.write_text(json.dumps(config))
    capsys.readouterr()
    assert main([str(path), "--validate"]) == 0  # "$schema" is accepted and ignored
    assert "valid" in capsys.readouterr().out
    assert errors(jsonschema.Draft202012Validator(schema), config) == []


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_every_device_form_is_valid(validator, example, device):
    example["globals"]["device"] = device
    assert errors(validator, example) == []


def test_a_default_component_changed_without_class_is_valid(validator, example):
    """``"optimizer": {"parameters": {...}}`` is Finetuning's default optimizer, changed."""
    finetuning(example)["parameters"]["optimizer"] = {"parameters": {"lr": 0.1}}
    assert errors(validator, example) == []
