"""Building (= validating) config nodes into objects (erasure/config/build.py)."""
from __future__ import annotations

import copy

import pytest
import torch

from erasure.config import INVALID, Builder, ConfigError, Factory, Slot
from erasure.data import DatasetManager
from erasure.data.sources.base import DataSource
from erasure.data.splits import Splitter
from erasure.measures import Evaluator, Measure
from erasure.models import Predictor
from erasure.unlearners import Unlearner
from erasure.unlearners.cascade import Cascade
from erasure.unlearners.finetuning import Finetuning

from . import fixtures

UNLEARNER = Slot(Unlearner, lazy=False)
FIXTURES = "tests.config.fixtures"


def build(node, slot=UNLEARNER, path="unlearners[0]"):
    builder = Builder()
    obj, resolved = builder.component(node, slot, path)
    return builder, obj, resolved


def problems_of(node, slot=UNLEARNER, path="unlearners[0]"):
    builder, obj, _ = build(node, slot, path)
    assert obj is INVALID
    assert builder.problems, "an invalid node must record a problem"
    return builder.problems


def one_problem(node, slot=UNLEARNER, path="unlearners[0]"):
    problems = problems_of(node, slot, path)
    assert len(problems) == 1, problems
    return problems[0]


def digits_data(partitions):
    return {"class": "DatasetManager", "parameters": {
        "DataSource": {"class": "SklearnDataSource", "parameters": {"name": "digits"}},
        "partitions": partitions}}


# -- valid nodes -----------------------------------------------------------------------------

def test_builds_an_unlearner_with_its_parameters():
    builder, obj, resolved = build({"class": "Finetuning", "parameters": {"epochs": 3}})
    assert builder.problems == []
    assert isinstance(obj, Finetuning)
    assert obj.epochs == 3
    assert obj.config == resolved
    assert resolved["class"] == "erasure.unlearners.finetuning.Finetuning"
    assert resolved["parameters"]["epochs"] == 3


def test_parameters_may_be_left_out():
    builder, obj, resolved = build({"class": "Identity"})
    assert builder.problems == []
    assert resolved == {"class": "erasure.unlearners.identity.Identity",
                        "parameters": {"ref_data_retain": "retain", "ref_data_forget": "forget"}}


def test_defaults_are_filled_in_with_full_class_paths():
    builder, obj, resolved = build({"class": "Finetuning"})
    assert builder.problems == []
    params = resolved["parameters"]
    assert params["epochs"] == 10
    assert params["batch_size"] is None
    assert params["ref_data_retain"] == "retain"
    assert params["ref_data_forget"] == "forget"
    optimizer = params["optimizer"]
    assert optimizer["class"] == "torch.optim.sgd.SGD"
    assert optimizer["parameters"]["lr"] == 0.01
    assert optimizer["parameters"]["momentum"] == 0.9
    assert optimizer["parameters"]["nesterov"] is False  # torch's own default, shown too
    # the default optimizer is a factory that builds what the resolved config says
    assert isinstance(obj.optimizer, Factory)
    sgd = obj.optimizer([torch.nn.Parameter(torch.zeros(2))])
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.param_groups[0]["lr"] == 0.01
    assert sgd.param_groups[0]["momentum"] == 0.9


def test_predictor_defaults_are_resolved():
    builder, obj, resolved = build({"class": "Predictor"}, Slot(Predictor, lazy=False), "predictor")
    assert builder.problems == []
    params = resolved["parameters"]
    assert params["model"]["class"] == "erasure.models.networks.MLP"
    assert params["optimizer"]["class"] == "torch.optim.adam.Adam"
    assert params["optimizer"]["parameters"]["lr"] == 0.001
    assert params["loss_fn"]["class"] == "torch.nn.modules.loss.CrossEntropyLoss"
    assert params["scheduler"] is None
    assert (params["epochs"], params["batch_size"], params["training_set"]) == (20, 64, "train")


def test_short_names_become_full_paths_in_nested_components():
    builder, obj, resolved = build(
        {"class": "Finetuning", "parameters": {"optimizer": {"class": "Adam", "parameters": {"lr": 0.5}}}})
    assert builder.problems == []
    assert resolved["parameters"]["optimizer"]["class"] == "torch.optim.adam.Adam"
    assert resolved["parameters"]["optimizer"]["parameters"]["lr"] == 0.5
    adam = obj.optimizer([torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(adam, torch.optim.Adam)
    assert adam.param_groups[0]["lr"] == 0.5


def test_a_lazy_slot_gives_a_factory_with_the_runtime_arguments_left_out():
    slot = Slot(torch.optim.Optimizer, runtime=("params",))
    builder, factory, resolved = build({"class": "SGD", "parameters": {"lr": 0.2}}, slot, "x")
    assert builder.problems == []
    assert isinstance(factory, Factory)
    assert factory.cls is torch.optim.SGD
    assert factory.kwargs == {"lr": 0.2}
    assert "params" not in resolved["parameters"]
    assert factory.config == resolved


def test_a_users_class_by_dotted_path():
    builder, obj, resolved = build({"class": f"{FIXTURES}.MyUnlearner",
                                    "parameters": {"mode": "hard"}, "name": "mine"})
    assert builder.problems == []
    assert isinstance(obj, fixtures.MyUnlearner)
    assert obj.mode == "hard"
    assert obj.strength == 0.5
    assert resolved["class"] == f"{FIXTURES}.MyUnlearner"
    assert resolved["name"] == "mine"
    assert resolved["parameters"]["strength"] == 0.5


def test_an_int_is_accepted_for_a_float():
    builder, obj, resolved = build({"class": f"{FIXTURES}.MyUnlearner", "parameters": {"strength": 2}})
    assert builder.problems == []
    assert obj.strength == 2.0
    assert type(obj.strength) is float


def test_a_fixed_length_list_of_the_right_length_is_accepted():
    builder, obj, resolved = build({"class": "Finetuning", "parameters": {
        "optimizer": {"class": "Adam", "parameters": {"betas": [0.8, 0.9]}}}})
    assert builder.problems == []
    assert obj.optimizer.kwargs["betas"] == (0.8, 0.9)
    assert resolved["parameters"]["optimizer"]["parameters"]["betas"] == [0.8, 0.9]


def test_null_is_accepted_for_an_optional_parameter():
    builder, obj, _ = build({"class": "Finetuning", "parameters": {"batch_size": None}})
    assert builder.problems == []
    assert obj.batch_size is None


def test_nested_components_are_built():
    builder, obj, resolved = build({"class": "Cascade", "parameters": {"unlearners": [
        {"class": "Identity"}, {"class": "Finetuning", "parameters": {"epochs": 2}}]}})
    assert builder.problems == []
    assert isinstance(obj, Cascade)
    assert [type(u).__name__ for u in obj.unlearners] == ["Identity", "Finetuning"]
    assert obj.unlearners[1].epochs == 2
    assert [u["class"] for u in resolved["parameters"]["unlearners"]] == [
        "erasure.unlearners.identity.Identity", "erasure.unlearners.finetuning.Finetuning"]


def test_partition_references_are_collected():
    builder = Builder()
    builder.component({"class": "Cascade", "parameters": {"unlearners": [
        {"class": "Identity", "parameters": {"ref_data_forget": "f1", "ref_data_retain": "r1"}},
        {"class": "Finetuning"}]}}, UNLEARNER, "unlearners[0]")
    builder.component({"class": "Evaluator", "parameters": {"measures": [
        {"class": "Accuracy", "parameters": {"partition": ["forget", "test"]}},
        {"class": f"{FIXTURES}.MyMeasure", "parameters": {"partition": "retain"}}]}},
        Slot(Evaluator, lazy=False), "evaluator")
    assert builder.problems == []
    inner = "unlearners[0].parameters.unlearners"
    measures = "evaluator.parameters.measures"
    assert sorted(builder.partition_refs) == sorted([
        ("unlearners[0].parameters.ref_data_forget", "forget"),  # the cascade's own defaults
        ("unlearners[0].parameters.ref_data_retain", "retain"),
        (f"{inner}[0].parameters.ref_data_forget", "f1"),
        (f"{inner}[0].parameters.ref_data_retain", "r1"),
        (f"{inner}[1].parameters.ref_data_forget", "forget"),
        (f"{inner}[1].parameters.ref_data_retain", "retain"),
        (f"{measures}[0].parameters.partition", "forget"),
        (f"{measures}[0].parameters.partition", "test"),
        (f"{measures}[1].parameters.partition", "retain"),
    ])


def test_partition_references_of_the_splitter_chain_are_collected():
    builder = Builder()
    builder.component(digits_data([
        {"class": "PercentageSplit", "parameters": {"parts_names": ["train", "test"], "percentage": 0.8}},
        {"class": "PercentageSplit", "parameters": {"parts_names": ["forget", "retain"],
                                                    "percentage": 0.1, "ref_data": "train"}}]),
        Slot(DatasetManager, lazy=False), "data")
    assert builder.problems == []
    assert builder.partition_refs == [
        ("data.parameters.partitions[0].parameters.ref_data", "all"),
        ("data.parameters.partitions[1].parameters.ref_data", "train"),
    ]


# -- errors ----------------------------------------------------------------------------------

def test_unknown_parameter_suggests_the_close_one():
    problem = one_problem({"class": "Finetuning", "parameters": {"epoch": 3}})
    assert problem.path == "unlearners[0].parameters.epoch"
    assert problem.message == "Invalid parameter 'epoch' for Finetuning."
    assert "Did you mean 'epochs'?" in problem.hint
    assert ("Accepted parameters: batch_size, curve_measures, epochs, evaluate_every, optimizer, "
            "ref_data_forget, ref_data_retain." in problem.hint)


def test_missing_required_parameter():
    problem = one_problem({"class": "Cascade"})
    assert problem.path == "unlearners[0].parameters.unlearners"
    assert problem.message == "missing required parameter 'unlearners' of Cascade"


def test_missing_required_parameter_of_a_splitter():
    problem = one_problem({"class": "PercentageSplit", "parameters": {"parts_names": ["a", "b"]}},
                          Slot(Splitter, lazy=False), "data.parameters.partitions[0]")
    assert problem.path == "data.parameters.partitions[0].parameters.percentage"
    assert problem.message == "missing required parameter 'percentage' of PercentageSplit"


@pytest.mark.parametrize("value, shown", [("3", "string '3'"), (True, "boolean True"),
                                          (2.5, "number 2.5"), (None, "null None")])
def test_wrong_type_for_an_int(value, shown):
    problem = one_problem({"class": "Finetuning", "parameters": {"epochs": value}})
    assert problem.path == "unlearners[0].parameters.epochs"
    assert problem.message == f"expected an integer, got {shown}"


def test_bool_is_not_a_float():
    problem = one_problem({"class": f"{FIXTURES}.MyUnlearner", "parameters": {"strength": False}})
    assert problem.path == "unlearners[0].parameters.strength"
    assert problem.message == "expected a number, got boolean False"


def test_wrong_type_for_an_optional_int():
    problem = one_problem({"class": "Finetuning", "parameters": {"batch_size": "x"}})
    assert problem.path == "unlearners[0].parameters.batch_size"
    assert problem.message == "expected an integer or null, got string 'x'"


def test_wrong_type_for_a_torch_optimizer_parameter():
    # torch annotates lr as float | Tensor: a string is still wrong
    problem = one_problem({"class": "Finetuning", "parameters": {
        "optimizer": {"class": "Adam", "parameters": {"lr": "fast"}}}})
    assert problem.path == "unlearners[0].parameters.optimizer.parameters.lr"
    assert problem.message == "expected a number or Tensor, got string 'fast'"


def test_fixed_length_list_of_the_wrong_length():
    problem = one_problem({"class": "Finetuning", "parameters": {
        "optimizer": {"class": "Adam", "parameters": {"betas": [0.9]}}}})
    assert problem.path == "unlearners[0].parameters.optimizer.parameters.betas"
    assert problem.message == "expected a list of 2 items, got list [0.9]"


def test_literal_value_not_accepted_suggests_the_close_one():
    problem = one_problem({"class": f"{FIXTURES}.MyUnlearner", "parameters": {"mode": "sotf"}})
    assert problem.path == "unlearners[0].parameters.mode"
    assert problem.message == "string 'sotf' is not one of the accepted values"
    assert problem.hint == "Did you mean 'soft'? Accepted values: hard, soft."


def test_literal_of_a_builtin_data_source():
    problem = one_problem({"class": "SklearnDataSource", "parameters": {"name": "digts"}},
                          Slot(DataSource, lazy=False), "data.parameters.DataSource")
    assert problem.path == "data.parameters.DataSource.parameters.name"
    assert "Did you mean 'digits'?" in problem.hint
    assert "Accepted values: breast_cancer, digits, iris, wine." in problem.hint


def test_literal_inside_a_union_still_suggests():
    problem = one_problem({"class": "Accuracy", "parameters": {"target": "unlearnd"}},
                          Slot(Measure, lazy=False), "evaluator.parameters.measures[0]")
    assert problem.path == "evaluator.parameters.measures[0].parameters.target"
    assert problem.message.startswith("expected one of 'original', 'unlearned' or a list")
    assert "Did you mean 'unlearned'?" in problem.hint


@pytest.mark.parametrize("value, shown", [({"class": "Identity"}, "object {'class': 'Identity'}"),
                                          ("Identity", "string 'Identity'")])
def test_list_expected(value, shown):
    problem = one_problem({"class": "Cascade", "parameters": {"unlearners": value}})
    assert problem.path == "unlearners[0].parameters.unlearners"
    assert problem.message == f"expected a list, got {shown}"


def test_nested_component_error_has_the_full_path():
    problem = one_problem({"class": "Cascade", "parameters": {"unlearners": [
        {"class": "Identity"}, {"class": "Finetuning", "parameters": {"epochs": "ten"}}]}})
    assert problem.path == "unlearners[0].parameters.unlearners[1].parameters.epochs"
    assert problem.message == "expected an integer, got string 'ten'"


def test_nested_optimizer_parameter_error_has_the_full_path():
    problem = one_problem({"class": "Finetuning", "parameters": {
        "optimizer": {"class": "Adam", "parameters": {"lrr": 0.1}}}})
    assert problem.path == "unlearners[0].parameters.optimizer.parameters.lrr"
    assert problem.message == "Invalid parameter 'lrr' for Adam."
    assert "Did you mean 'lr'?" in problem.hint


def test_nested_unknown_class_has_the_full_path():
    problem = one_problem({"class": "Cascade", "parameters": {"unlearners": [{"class": "Finetunin"}]}})
    assert problem.path == "unlearners[0].parameters.unlearners[0].class"
    assert problem.message == "unknown unlearner 'Finetunin'"


def test_runtime_supplied_parameter_is_rejected():
    problem = one_problem({"class": "Finetuning", "parameters": {
        "optimizer": {"class": "SGD", "parameters": {"params": [], "lr": 0.1}}}})
    assert problem.path == "unlearners[0].parameters.optimizer.parameters.params"
    assert problem.message == "'params' of SGD is supplied by the framework; remove it from the config"


def test_constructor_rejecting_negative_epochs():
    problem = one_problem({"class": "Finetuning", "parameters": {"epochs": -1}})
    assert problem.path == "unlearners[0].parameters.epochs"  # the check names its parameter
    assert problem.message == "Finetuning: epochs must be at least 1, got -1"


def test_constructor_rejecting_a_percentage():
    problem = one_problem({"class": "PercentageSplit",
                           "parameters": {"parts_names": ["a", "b"], "percentage": 1.5}},
                          Slot(Splitter, lazy=False), "data.parameters.partitions[1]")
    assert problem.path == "data.parameters.partitions[1].parameters.percentage"
    assert problem.message == "PercentageSplit: percentage must lie in (0, 1), got 1.5"


@pytest.mark.parametrize("optimizer, where, message", [
    ({"class": "Adam", "parameters": {"lr": -0.1}}, "", "Adam: Invalid learning rate: -0.1"),
    # the message names the parameter 'momentum' (a word of it): reported there
    ({"class": "SGD", "parameters": {"momentum": -1}}, ".parameters.momentum",
     "SGD: Invalid momentum value: -1"),
    ({"class": "Adam", "parameters": {"betas": [0.9, 1.5]}}, "", "Adam: Invalid beta parameter"),
])
def test_optimizer_hyper_parameters_are_checked_before_any_training(optimizer, where, message):
    """An optimizer is built by the pipeline (it needs the model's parameters), but torch's own
    checks of its hyper-parameters run at validation, on a stand-in parameter."""
    problem = one_problem({"class": "Finetuning", "parameters": {"optimizer": optimizer}})
    assert problem.path == "unlearners[0].parameters.optimizer" + where
    assert problem.message.startswith(message)


def test_an_optimizer_for_matrices_only_is_not_rejected_by_its_stand_in():
    builder, obj, _ = build({"class": "Finetuning", "parameters": {"optimizer": {"class": "Muon"}}})
    assert builder.problems == [] and isinstance(obj.optimizer, Factory)


def test_users_constructor_rejecting_a_value_inside_a_cascade():
    problem = one_problem({"class": "Cascade", "parameters": {"unlearners": [
        {"class": f"{FIXTURES}.PickyUnlearner", "parameters": {"level": 9}}]}})
    # a plain ValueError whose message names one parameter is reported at that parameter
    assert problem.path == "unlearners[0].parameters.unlearners[0].parameters.level"
    assert problem.message == "PickyUnlearner: level must be at most 3, got 9"


def test_unknown_key_in_a_component():
    problem = one_problem({"class": "Identity", "parmeters": {}})
    assert problem.path == "unlearners[0].parmeters"
    assert problem.message == "unknown key 'parmeters' in a component"
    assert problem.hint == "Did you mean 'parameters'? Accepted keys: class, name, parameters."


@pytest.mark.parametrize("value, kind", [([1], "list"), ("epochs=3", "str"), (None, "NoneType")])
def test_parameters_must_be_an_object(value, kind):
    problem = one_problem({"class": "Identity", "parameters": value})
    assert problem.path == "unlearners[0].parameters"
    assert problem.message == f"'parameters' must be an object, not {kind}"


@pytest.mark.parametrize("value, shown", [(5, "5"), (None, "None"), ("", "''")])
def test_class_must_be_a_string(value, shown):
    problem = one_problem({"class": value})
    assert problem.path == "unlearners[0].class"
    assert problem.message == f"'class' must be a non-empty string, not {shown}"


def test_name_must_be_a_string():
    problem = one_problem({"class": "Identity", "name": 3})
    assert problem.path == "unlearners[0].name"
    assert problem.message == "'name' must be a string"


@pytest.mark.parametrize("node, got", [({"parameters": {"epochs": 3}}, "an object without 'class'"),
                                       ("Finetuning", "str"), ([{"class": "Identity"}], "list")])
def test_a_component_must_be_an_object_with_class(node, got):
    problem = one_problem(node)
    assert problem.path == "unlearners[0]"
    assert problem.message == ('expected an unlearner component {"class": ..., "parameters": {...}}, '
                               f"got {got}")


def test_every_problem_of_a_node_is_collected():
    problems = problems_of({"class": "Cascade", "parmeters": {}, "parameters": {"unlearners": [
        {"class": "Finetuning", "parameters": {"epoch": 2, "batch_size": "big"}},
        {"class": "Accuracy"}]}})
    assert [p.path for p in problems] == [
        "unlearners[0].parmeters",
        "unlearners[0].parameters.unlearners[0].parameters.epoch",
        "unlearners[0].parameters.unlearners[0].parameters.batch_size",
        "unlearners[0].parameters.unlearners[1].class",
    ]


def test_raise_if_problems():
    builder = Builder()
    builder.raise_if_problems()  # nothing found: no error
    builder.component({"class": "Finetuning", "parameters": {"epoch": 3}}, UNLEARNER, "u")
    with pytest.raises(ConfigError) as e:
        builder.raise_if_problems()
    assert [p.path for p in e.value.problems] == ["u.parameters.epoch"]
    assert str(e.value).startswith("1 problem in the config:\n  - u.parameters.epoch: Invalid parameter")


# -- the builder never mutates its input -----------------------------------------------------

NODES = {
    "valid finetuning": {"class": "Finetuning", "parameters": {
        "epochs": 2, "optimizer": {"class": "Adam", "parameters": {"lr": 0.1, "betas": [0.8, 0.9]}}}},
    "valid cascade": {"class": "Cascade", "name": "c", "parameters": {"unlearners": [
        {"class": "Identity"}, {"class": f"{FIXTURES}.MyUnlearner", "parameters": {"strength": 1}}]}},
    "unknown parameter": {"class": "Finetuning", "parameters": {"epoch": 3}},
    "missing required": {"class": "Cascade", "parameters": {}},
    "wrong type": {"class": "Finetuning", "parameters": {"epochs": "3", "batch_size": True}},
    "literal": {"class": f"{FIXTURES}.MyUnlearner", "parameters": {"mode": "sotf"}},
    "list expected": {"class": "Cascade", "parameters": {"unlearners": {"class": "Identity"}}},
    "nested": {"class": "Cascade", "parameters": {"unlearners": [
        {"class": "Identity"}, {"class": "Finetuning", "parameters": {"epochs": "x"}}]}},
    "runtime param": {"class": "Finetuning", "parameters": {
        "optimizer": {"class": "SGD", "parameters": {"params": [1, 2], "lr": 0.1}}}},
    "constructor rejects": {"class": "Finetuning", "parameters": {"epochs": -1}},
    "unknown key": {"class": "Identity", "parmeters": {"a": [1]}},
    "parameters not an object": {"class": "Identity", "parameters": [{"a": 1}]},
    "class not a string": {"class": ["Identity"], "parameters": {"x": {"y": 1}}},
    "wrong kind": {"class": "Accuracy", "parameters": {"partition": ["forget"]}},
    "short tuple": {"class": "Finetuning", "parameters": {
        "optimizer": {"class": "Adam", "parameters": {"betas": [0.9]}}}},
}


@pytest.mark.parametrize("name", list(NODES))
def test_the_builder_never_mutates_its_input(name):
    node = copy.deepcopy(NODES[name])
    before = copy.deepcopy(node)
    builder, obj, resolved = build(node)
    assert node == before
    assert (obj is INVALID) == (not name.startswith("valid"))
    # the resolved config shares nothing mutable with the input
    if isinstance(resolved, dict) and resolved is not node:
        resolved.setdefault("parameters", {})["added"] = 1
        assert node == before


# -- lists of plain values (a list of ids is checked in one pass, with the same answers) -------

def test_a_list_of_plain_values_reports_each_bad_item_at_its_index():
    builder = Builder()
    built, _ = builder.value([1, True, 3, "4", 5.0], list[int], "data.ids")
    assert built == [1, INVALID, 3, INVALID, INVALID]
    assert [(p.path, p.message) for p in builder.problems] == [
        ("data.ids[1]", "expected an integer, got boolean True"),
        ("data.ids[3]", "expected an integer, got string '4'"),
        ("data.ids[4]", "expected an integer, got number 5.0")]


def test_ints_in_a_list_of_floats_become_floats_and_are_shown_as_given():
    builder = Builder()
    built, shown = builder.value([1, 2.5, 3], list[float], "p")
    assert builder.problems == []
    assert built == [1.0, 2.5, 3.0] and [type(v) for v in built] == [float, float, float]
    assert shown == [1, 2.5, 3] and type(shown[0]) is int


def test_a_long_list_of_ids_is_built_as_a_copy_of_the_same_values():
    ids = list(range(100_000))
    node = {"class": "IdsSplit", "parameters": {"parts_names": ["forget", "retain"], "ids": ids}}
    builder, splitter, resolved = build(node, Slot(Splitter, lazy=False), "data.parameters.partitions[0]")
    assert builder.problems == []
    assert splitter.ids == ids and splitter.ids is not ids
    assert resolved["parameters"]["ids"] == ids and resolved["parameters"]["ids"] is not ids
    builder = Builder()
    assert builder.value((1, 2), tuple[int, ...], "p") == ((1, 2), [1, 2])
    assert builder.value([None, "a", {}], list, "p") == ([None, "a", {}], [None, "a", {}])


# -- checks of components built later (networks) --------------------------------------------

def test_a_networks_check_parameters_runs_at_validation_at_the_parameters_path():
    slot = Slot(torch.nn.Module, derived=("input_shape", "num_classes"))
    problem = one_problem({"class": "MLP", "parameters": {"hidden": [16, 0]}}, slot,
                          "predictor.parameters.model")
    assert problem.path == "predictor.parameters.model.parameters.hidden"
    assert problem.message == ("MLP: every width in hidden must be at least 1 (a layer of width 0 "
                               "passes nothing on), got [16, 0]")
    builder, factory, _ = build({"class": "MLP", "parameters": {"hidden": [16]}}, slot)
    assert builder.problems == [] and isinstance(factory, Factory)
