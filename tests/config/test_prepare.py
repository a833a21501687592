"""Validating a whole config before any work (erasure.plan.prepare; ARCHITECTURE.md, rule 1)."""
from __future__ import annotations

import copy
import json
import sys
import uuid

import pytest
import torch

from erasure.config import ConfigError
from erasure.data.sources.sklearn import SklearnDataSource
from erasure.models import Predictor
from erasure.plan import SECTIONS, Globals, prepare
from erasure.unlearners.finetuning import Finetuning
from tests.helpers import digits_config


def problems(config, **kwargs):
    with pytest.raises(ConfigError) as e:
        prepare(config, **kwargs)
    return e.value.problems


def by_path(found):
    return {p.path: p for p in found}


@pytest.fixture
def no_work(monkeypatch):
    """Makes loading data or training fail loudly: prepare must do neither."""
    def forbidden(*args, **kwargs):
        raise AssertionError("prepare() did work before validating")
    monkeypatch.setattr(SklearnDataSource, "load", forbidden)
    monkeypatch.setattr(Predictor, "train", forbidden)


# -- a valid config --------------------------------------------------------------------------

def test_a_valid_config_gives_a_plan_without_loading_anything(no_work):
    config = digits_config(unlearners=[{"class": "Identity"},
                                       {"class": "Finetuning", "parameters": {"epochs": 2}},
                                       {"class": "Finetuning", "name": "ft-slow"},
                                       {"class": "Finetuning"}])
    plan = prepare(config)
    assert isinstance(plan.settings, Globals)
    assert (plan.settings.seed, plan.settings.device, plan.settings.output) == (0, "cpu", None)
    assert list(plan.settings.paths) == []
    assert plan.names == ["Identity", "Finetuning", "ft-slow", "Finetuning#2"]
    assert [type(u).__name__ for u in plan.unlearners] == ["Identity", "Finetuning", "Finetuning",
                                                           "Finetuning"]
    assert plan.unlearners[1].epochs == 2
    assert plan.predictor.epochs == 30
    assert [type(m).__name__ for m in plan.evaluator.measures] == ["Accuracy"]
    assert plan.gold_partitions == []
    assert plan.config_file is None
    assert set(plan.resolved) == set(SECTIONS)
    json.dumps(plan.resolved)  # the resolved config is plain JSON


def test_gold_partitions_come_from_the_unlearners():
    plan = prepare(digits_config(unlearners=[
        {"class": "GoldModel"},
        {"class": "Cascade", "parameters": {"unlearners": [
            {"class": "GoldModel", "parameters": {"ref_data_retain": "train"}}]}}]))
    assert plan.gold_partitions == ["retain", "train"]


def test_resolved_config_shows_every_default():
    plan = prepare(digits_config(unlearners=[{"class": "Finetuning"}]))
    assert plan.resolved["globals"] == {"seed": 0, "device": "cpu", "output": None, "paths": [],
                                       "threads": None, "allowed_modules": None,
                                       "seeds": None, "cache": True, "cache_dir": None,
                                       "precision": "fp32", "channels_last": "auto",
                                       "compile": False, "tune": None,
                                       "executor": "local", "address": None, "num_cpus": 1,
                                       "num_gpus": 0, "save_models": "none"}
    unlearner = plan.resolved["unlearners"][0]
    assert unlearner["class"] == "erasure.unlearners.finetuning.Finetuning"
    assert unlearner["parameters"]["epochs"] == 10
    assert unlearner["parameters"]["optimizer"]["class"] == "torch.optim.sgd.SGD"
    assert unlearner["parameters"]["optimizer"]["parameters"]["lr"] == 0.01
    assert plan.unlearners[0].config is unlearner
    data = plan.resolved["data"]["parameters"]
    assert data["batch_size"] == 256
    assert data["DataSource"]["class"] == "erasure.data.sources.sklearn.SklearnDataSource"
    assert data["partitions"][1]["parameters"]["shuffle"] is True


def test_globals_may_be_left_out():
    config = digits_config()
    del config["globals"]
    plan = prepare(config)
    assert plan.settings.seed == 0
    assert plan.settings.device == "auto"


def test_the_input_dict_is_not_mutated():
    config = digits_config(unlearners=[{"class": "Cascade", "parameters": {"unlearners": [
        {"class": "Finetuning", "parameters": {"epochs": 1}}]}}])
    before = copy.deepcopy(config)
    plan = prepare(config)
    assert config == before
    plan.resolved["globals"]["seed"] = 123
    plan.resolved["unlearners"][0]["parameters"]["unlearners"][0]["parameters"]["epochs"] = 50
    assert config == before


def test_the_input_dict_is_not_mutated_by_a_failing_prepare():
    config = digits_config(unlearners=[{"class": "Finetuning", "parameters": {"epoch": 1}}])
    config["globals"]["sede"] = 1
    config["extra"] = {"a": [1]}
    before = copy.deepcopy(config)
    problems(config)
    assert config == before


def test_cuda_on_a_machine_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = digits_config()
    config["globals"]["device"] = "cuda"
    found = problems(config)
    assert len(found) == 1
    assert found[0].path == "globals.device"
    assert found[0].message == "device 'cuda' was asked for, but this machine has no CUDA GPU"
    assert "'cpu'" in found[0].hint and "'auto'" in found[0].hint


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_is_refused_on_this_cpu_machine():
    config = digits_config()
    config["globals"]["device"] = "cuda"
    assert [p.path for p in problems(config)] == ["globals.device"]


def test_unknown_device_name():
    config = digits_config()
    config["globals"]["device"] = "gpu"
    found = problems(config)
    assert [p.path for p in found] == ["globals.device"]
    assert found[0].message == "'gpu' is not a device"
    assert found[0].hint == ("Did you mean 'cuda'? Accepted devices: auto, cpu, cuda, mps. "
                             "Or cuda:N, the GPU of index N (cuda:0, cuda:1…).")


# -- sections --------------------------------------------------------------------------------

def test_unknown_section_suggests_the_close_one():
    config = digits_config()
    config["evaluatr"] = config.pop("evaluator")
    found = by_path(problems(config))
    assert found["evaluatr"].message == "unknown section 'evaluatr'"
    assert found["evaluatr"].hint == ("Did you mean 'evaluator'? Accepted sections: data, "
                                      "evaluator, globals, predictor, unlearners.")
    assert found["evaluator"].message == "missing section 'evaluator'"


@pytest.mark.parametrize("section", ["data", "predictor", "unlearners", "evaluator"])
def test_missing_section(section):
    config = digits_config()
    del config[section]
    found = problems(config)
    assert [(p.path, p.message) for p in found] == [(section, f"missing section '{section}'")]


def test_config_must_be_an_object():
    found = problems([digits_config()])
    assert [p.message for p in found] == ["a config is an object, not list"]


def test_globals_must_be_an_object():
    config = digits_config()
    config["globals"] = [1]
    found = problems(config)
    assert [(p.path, p.message) for p in found] == [("globals", "'globals' must be an object, not list")]


def test_unknown_globals_key():
    config = digits_config()
    config["globals"]["sede"] = 3
    found = problems(config)
    assert [p.path for p in found] == ["globals.sede"]
    assert found[0].message == "Invalid parameter 'sede' for Globals."
    assert "Did you mean 'seed'?" in found[0].hint


@pytest.mark.parametrize("value, message", [
    ([], "'unlearners' must be a non-empty list of components"),
    ({"class": "Identity"}, "'unlearners' must be a non-empty list of components"),
])
def test_unlearners_must_be_a_non_empty_list(value, message):
    config = digits_config()
    config["unlearners"] = value
    found = problems(config)
    assert [(p.path, p.message) for p in found] == [("unlearners", message)]


# -- partitions ------------------------------------------------------------------------------

def test_unknown_partition_suggests_the_close_one():
    config = digits_config(unlearners=[{"class": "Identity", "parameters": {"ref_data_forget": "forgte"}}])
    found = problems(config)
    assert len(found) == 1
    assert found[0].path == "unlearners[0].parameters.ref_data_forget"
    assert found[0].message == "unknown partition 'forgte'"
    assert found[0].hint == "Did you mean 'forget'? Accepted partitions: all, forget, retain, test, train."


def test_unknown_partition_in_a_measure_list():
    config = digits_config(measures=[{"class": "Accuracy", "parameters": {"partition": ["forget", "tset"]}}])
    found = problems(config)
    assert [(p.path, p.message) for p in found] == [
        ("evaluator.parameters.measures[0].parameters.partition", "unknown partition 'tset'")]
    assert "Did you mean 'test'?" in found[0].hint


def test_unknown_partition_of_the_predictor_and_in_a_cascade():
    config = digits_config(unlearners=[{"class": "Cascade", "parameters": {"unlearners": [
        {"class": "Identity", "parameters": {"ref_data_retain": "retian"}}]}}])
    config["predictor"]["parameters"]["training_set"] = "trian"
    found = by_path(problems(config))
    assert set(found) == {"predictor.parameters.training_set",
                          "unlearners[0].parameters.unlearners[0].parameters.ref_data_retain"}
    assert "Did you mean 'train'?" in found["predictor.parameters.training_set"].hint


def test_a_splitter_reading_a_partition_not_yet_written():
    config = digits_config()
    config["data"]["parameters"]["partitions"].reverse()  # forget/retain from train, before train
    found = problems(config)
    assert len(found) == 1
    assert found[0].path == "data.parameters.partitions[0].parameters.ref_data"
    assert found[0].message == "partition 'train' is not written before this splitter"
    assert found[0].hint == "Written so far: all."


def test_a_splitter_reading_a_partition_never_written():
    config = digits_config()
    config["data"]["parameters"]["partitions"][1]["parameters"]["ref_data"] = "trian"
    found = problems(config)
    assert [p.path for p in found] == ["data.parameters.partitions[1].parameters.ref_data"]
    assert found[0].message == "partition 'trian' is not written before this splitter"
    assert found[0].hint == "Written so far: all, test, train."


def test_duplicate_partition_name():
    config = digits_config()
    config["data"]["parameters"]["partitions"].append(
        {"class": "PercentageSplit", "parameters": {"parts_names": ["forget", "extra"],
                                                    "percentage": 0.5, "ref_data": "test"}})
    found = problems(config)
    assert [(p.path, p.message) for p in found] == [
        ("data.parameters.partitions[2].parameters.parts_names",
         "partition 'forget' is already written earlier")]


def test_partition_names_are_checked_even_when_the_data_section_is_invalid():
    config = digits_config(unlearners=[{"class": "Identity", "parameters": {"ref_data_forget": "forgte"}}])
    config["data"]["parameters"]["DataSource"]["parameters"]["name"] = "digts"
    found = by_path(problems(config))
    assert set(found) == {"data.parameters.DataSource.parameters.name",
                          "unlearners[0].parameters.ref_data_forget"}
    assert "Did you mean 'digits'?" in found["data.parameters.DataSource.parameters.name"].hint
    assert "Did you mean 'forget'?" in found["unlearners[0].parameters.ref_data_forget"].hint


# -- every problem at once -------------------------------------------------------------------

def test_all_problems_are_reported_together(no_work):
    config = digits_config(
        unlearners=[{"class": "Finetuning", "parameters": {"epoch": 3}},
                    {"class": "Finetunin"},
                    {"class": "Identity", "parameters": {"ref_data_forget": "forgte"}}],
        measures=[{"class": "Accuracy", "parameters": {"target": "unlearnd"}}])
    config["globals"]["seed"] = "zero"
    config["predictor"]["parameters"]["epochs"] = -5
    config["data"]["parameters"]["partitions"][1]["parameters"]["percentage"] = 1.5
    config["evaluatr"] = {}
    found = problems(config)
    assert [p.path for p in found] == [
        "evaluatr",
        "globals.seed",
        "data.parameters.partitions[1].parameters.percentage",
        "predictor.parameters.epochs",
        "unlearners[0].parameters.epoch",
        "unlearners[1].class",
        "evaluator.parameters.measures[0].parameters.target",
        "unlearners[2].parameters.ref_data_forget",
    ]
    messages = [p.message for p in found]
    assert messages[0] == "unknown section 'evaluatr'"
    assert messages[1] == "expected an integer, got string 'zero'"
    assert messages[2] == "PercentageSplit: percentage must lie in (0, 1), got 1.5"
    assert messages[3] == "Predictor: epochs must be at least 1, got -5"
    assert messages[4] == "Invalid parameter 'epoch' for Finetuning."
    assert messages[5] == "unknown unlearner 'Finetunin'"
    assert messages[7] == "unknown partition 'forgte'"


def test_the_error_text_lists_every_problem_with_its_path():
    config = digits_config(unlearners=[{"class": "Finetuning", "parameters": {"epoch": 3}},
                                       {"class": "Accuracy"}])
    with pytest.raises(ConfigError) as e:
        prepare(config)
    text = str(e.value)
    assert text.splitlines()[0] == "2 problems in the config:"
    assert "  - unlearners[0].parameters.epoch: Invalid parameter 'epoch' for Finetuning." in text
    assert "    Did you mean 'epochs'?" in text
    assert "  - unlearners[1].class: 'Accuracy' is a measure, but this slot needs an unlearner" in text


# -- user modules ----------------------------------------------------------------------------

UNLEARNER_MODULE = """
from dataclasses import dataclass
from erasure.unlearners import Unlearner


class Shrink(Unlearner):
    factor: float = 0.5

    def unlearn(self, model, ctx):
        return model
"""


@pytest.fixture
def module_name():
    name = f"erasure_user_mod_{uuid.uuid4().hex[:8]}"
    yield name
    sys.modules.pop(name, None)


def test_globals_paths_make_a_users_module_importable(tmp_path, module_name):
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / "lib" / f"{module_name}.py").write_text(UNLEARNER_MODULE)
    config = digits_config(unlearners=[{"class": f"{module_name}.Shrink", "parameters": {"factor": 2}}])
    config["globals"]["paths"] = ["lib"]
    config_file = project / "exp.jsonc"
    config_file.write_text(json.dumps(config))
    plan = prepare(config, config_file=config_file)
    assert type(plan.unlearners[0]).__name__ == "Shrink"
    assert plan.unlearners[0].factor == 2.0
    assert plan.names == ["Shrink"]
    assert plan.resolved["unlearners"][0]["class"] == f"{module_name}.Shrink"
    assert plan.config_file == config_file.resolve()


def test_without_globals_paths_the_module_is_not_found(tmp_path, module_name):
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / "lib" / f"{module_name}.py").write_text(UNLEARNER_MODULE)
    config = digits_config(unlearners=[{"class": f"{module_name}.Shrink"}])
    found = problems(config, config_file=project / "exp.jsonc")
    assert [p.path for p in found] == ["unlearners[0].class"]
    assert f"no module named '{module_name}'" in found[0].message
    assert "globals.paths" in found[0].hint


def test_the_config_files_folder_is_importable(tmp_path, module_name):
    (tmp_path / f"{module_name}.py").write_text(UNLEARNER_MODULE)
    config = digits_config(unlearners=[{"class": f"{module_name}.Shrink"}])
    plan = prepare(config, config_file=tmp_path / "exp.jsonc")
    assert plan.unlearners[0].factor == 0.5


def test_a_users_class_by_dotted_path_in_the_test_package():
    config = digits_config(
        unlearners=[{"class": "tests.config.fixtures.MyUnlearner", "parameters": {"mode": "hard"}}],
        measures=[{"class": "tests.config.fixtures.MyMeasure", "parameters": {"partition": "test"}}])
    plan = prepare(config)
    assert plan.unlearners[0].mode == "hard"
    assert plan.evaluator.measures[0].partition == "test"
    assert plan.names == ["MyUnlearner"]


def test_a_users_measure_with_an_unknown_partition():
    config = digits_config(measures=[{"class": "tests.config.fixtures.MyMeasure",
                                      "parameters": {"partition": "retian"}}])
    found = problems(config)
    assert [p.path for p in found] == ["evaluator.parameters.measures[0].parameters.partition"]
    assert "Did you mean 'retain'?" in found[0].hint


def test_finetuning_is_the_class_built():
    plan = prepare(digits_config(unlearners=[{"class": "erasure.unlearners.finetuning.Finetuning"}]))
    assert isinstance(plan.unlearners[0], Finetuning)
    assert plan.names == ["Finetuning"]
