"""Overrides (``--set``, the flags) and what they reach: lists of components addressed by name,
components the config does not write (a default optimizer) changed field by field, sweeps over
such a default, and the devices a config may name."""
from __future__ import annotations

import re

import json5
import pytest
import torch

from erasure.cli import main, parse_args
from erasure.config import ConfigError, copy_config, sweeps
from erasure.config.overrides import apply_overrides
from erasure.plan import device_problem, prepare, resolve_device
from tests.helpers import digits_config

UNLEARNERS = [{"class": "Identity"}, {"class": "GoldModel"},
              {"class": "Finetuning", "parameters": {"epochs": 3}},
              {"class": "NegGrad", "parameters": {"epochs": 2}}]


def config(unlearners: list[dict] | None = None) -> dict:
    return digits_config(unlearners=copy_config(unlearners or UNLEARNERS), epochs=1)


def resolved(config: dict, *sets: str) -> dict:
    """The resolved config that ``--set`` ``sets`` give ``config``."""
    return prepare(apply_overrides(config, sets)).resolved


def refused(config: dict, *sets: str) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        apply_overrides(config, sets)
    return e.value


def optimizer(unlearner: dict) -> tuple[str, dict]:
    found = unlearner["parameters"]["optimizer"]
    return found["class"], found["parameters"]


# -- by name -------------------------------------------------------------------------------------

def test_set_by_record_name_is_set_by_index():
    by_name = resolved(config(), "unlearners.Finetuning.parameters.epochs=7",
                       "evaluator.parameters.measures.Accuracy.parameters.partition=test")
    by_index = resolved(config(), "unlearners[2].parameters.epochs=7",
                        "evaluator.parameters.measures.0.parameters.partition=test")
    assert by_name == by_index
    assert by_name["unlearners"][2]["parameters"]["epochs"] == 7
    assert by_name["unlearners"][3]["parameters"]["epochs"] == 2  # NegGrad untouched
    assert by_name["evaluator"]["parameters"]["measures"][0]["parameters"]["partition"] == "test"


def test_a_name_given_in_the_config_is_the_record_name_and_the_address():
    c = config([{"class": "Finetuning", "name": "short"}, {"class": "Finetuning"}])
    out = resolved(c, "unlearners.short.parameters.epochs=1", "unlearners.Finetuning.parameters.epochs=4")
    assert [u["parameters"]["epochs"] for u in out["unlearners"]] == [1, 4]
    assert prepare(c).names == ["short", "Finetuning"]


def test_a_nested_list_is_addressed_by_name_too():
    c = config([{"class": "Cascade", "parameters": {"unlearners": [
        {"class": "NegGrad", "parameters": {"epochs": 1}}, {"class": "Finetuning"}]}}])
    out = resolved(c, "unlearners.Cascade.parameters.unlearners.Finetuning.parameters.epochs=2")
    steps = out["unlearners"][0]["parameters"]["unlearners"]
    assert [s["parameters"]["epochs"] for s in steps] == [1, 2]


def test_an_unknown_name_lists_the_names():
    error = refused(config(), "unlearners.Finetunig.parameters.epochs=2")
    [problem] = error.problems
    assert problem.path == "--set unlearners.Finetunig.parameters.epochs=2"
    assert problem.message == "unlearners has no entry named 'Finetunig'"
    assert problem.hint == ("Did you mean 'Finetuning'? Accepted names: Finetuning, GoldModel, "
                            "Identity, NegGrad. Or an index, 0 to 3.")


def test_an_ambiguous_name_asks_for_an_index_or_names():
    error = refused(config([{"class": "Finetuning"}, {"class": "Identity"},
                            {"class": "erasure.unlearners.Finetuning"}]),
                    "unlearners.Finetuning.parameters.epochs=2")
    [problem] = error.problems
    assert problem.message == ("unlearners has 2 entries named 'Finetuning' "
                               "(unlearners[0], unlearners[2])")
    assert problem.hint.startswith("Address one by its index, or give them distinct names")


def test_an_index_past_the_end_is_still_refused_as_before():
    error = refused(config(), "unlearners[9].parameters.epochs=2")
    assert error.problems[0].message == "unlearners is a list of 4: '9' is not an index in it"


def test_by_name_on_the_command_line_exits_2_with_the_names(tmp_path, capsys):
    path = tmp_path / "exp.json"
    path.write_text(json5.dumps(config()))
    assert main([str(path), "--validate", "--set", "unlearners.Scrub.parameters.epochs=1"]) == 2
    err = capsys.readouterr().err
    assert "--set unlearners.Scrub.parameters.epochs=1: unlearners has no entry named 'Scrub'" in err
    assert "Accepted names: Finetuning, GoldModel, Identity, NegGrad." in err


# -- components the config does not write --------------------------------------------------------

def test_a_path_into_a_default_optimizer_changes_that_default():
    for path in ("unlearners.Finetuning", "unlearners[2]"):
        out = resolved(config(), f"{path}.parameters.optimizer.parameters.lr=0.1")
        cls, params = optimizer(out["unlearners"][2])
        assert cls == "torch.optim.sgd.SGD"  # Finetuning's default: SGD(lr=0.01, momentum=0.9)
        assert (params["lr"], params["momentum"]) == (0.1, 0.9)
        assert optimizer(out["unlearners"][3])[1]["lr"] == 0.01  # NegGrad keeps its default


def test_a_component_without_class_in_a_config_is_its_default_changed():
    c = config([{"class": "Finetuning", "parameters": {"optimizer": {"parameters": {"momentum": 0}}}}])
    before = copy_config(c)
    plan = prepare(c)
    assert c == before  # the builder merges into a copy
    cls, params = optimizer(plan.resolved["unlearners"][0])
    assert (cls, params["lr"], params["momentum"]) == ("torch.optim.sgd.SGD", 0.01, 0)
    assert plan.unlearners[0].optimizer.kwargs["momentum"] == 0
    # and the predictor's network: its default MLP with other widths
    c["predictor"]["parameters"]["model"] = {"parameters": {"hidden": [8]}}
    model = prepare(c).resolved["predictor"]["parameters"]["model"]
    assert (model["class"], model["parameters"]["hidden"]) == ("erasure.models.networks.MLP", [8])


def test_a_component_without_class_where_the_default_is_none_is_an_error():
    c = config()
    c["predictor"]["parameters"]["scheduler"] = {"parameters": {"step_size": 2}}
    with pytest.raises(ConfigError) as e:
        prepare(c)
    [problem] = e.value.problems
    assert problem.path == "predictor.parameters.scheduler"
    assert problem.message.endswith("got an object without 'class'")
    assert "Only a parameter whose default is a component may leave it out" in problem.hint


def test_the_sweep_example_of_the_sweeps_module_runs():
    """The example in erasure/config/sweeps.py's docstring, read from it: a sweep into the
    default optimizer of Finetuning."""
    example = re.search(r"::\n\n(.*?)\n\nexpands", sweeps.__doc__, re.S).group(1)
    plan = prepare(config([json5.loads(example)]))
    assert plan.names == ["Finetuning[epochs=1,lr=0.01]", "Finetuning[epochs=1,lr=0.1]",
                          "Finetuning[epochs=5,lr=0.01]", "Finetuning[epochs=5,lr=0.1]"]
    points = [(u["parameters"]["epochs"], *optimizer(u)) for u in plan.resolved["unlearners"]]
    assert [(e, cls, p["lr"], p["momentum"]) for e, cls, p in points] == [
        (e, "torch.optim.sgd.SGD", lr, 0.9) for e in (1, 5) for lr in (0.01, 0.1)]


def test_a_sweep_reaches_a_list_of_components_by_name():
    c = config([{"class": "Cascade", "parameters": {"unlearners": [{"class": "Finetuning"}]},
                 "sweep": {"unlearners.Finetuning.parameters.optimizer.parameters.lr": [0.5, 1]}}])
    plan = prepare(c)
    lrs = [optimizer(u["parameters"]["unlearners"][0])[1]["lr"] for u in plan.resolved["unlearners"]]
    assert lrs == [0.5, 1] and plan.names == ["Cascade[lr=0.5]", "Cascade[lr=1]"]


# -- seeds ---------------------------------------------------------------------------------------

def test_seed_with_seeds_exits_2_with_a_clear_message(capsys):
    with pytest.raises(SystemExit) as e:
        main(["exp.jsonc", "--seed", "3", "--seeds", "1", "2"])
    assert e.value.code == 2
    assert "argument --seeds: not allowed with argument --seed" in capsys.readouterr().err


def test_seed_replaces_the_seeds_of_the_config():
    from erasure.cli import flag_overrides

    c = config()
    c["globals"]["seeds"] = [1, 2]
    args = parse_args(["exp.jsonc", "--seed", "3"])
    assert prepare(apply_overrides(c, flag_overrides(args, c))).settings.all_seeds() == [3]


# -- devices -------------------------------------------------------------------------------------

@pytest.fixture
def gpus(monkeypatch):
    """Pretends this machine has ``n`` CUDA GPUs (and MPS when ``mps``)."""
    def have(n: int, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    return have


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps"])
def test_every_device_form_is_accepted_where_the_machine_has_it(gpus, name):
    gpus(2, mps=True)
    assert device_problem(name) is None
    assert parse_args(["exp.jsonc", "--device", name]).device == name
    c = config()
    c["globals"]["device"] = name
    assert prepare(c).settings.device == name


def test_a_device_is_what_torch_names():
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("mps") == torch.device("mps")


@pytest.mark.parametrize("n, name, message, hint", [
    (0, "cuda:1", "device 'cuda:1' was asked for, but this machine has no CUDA GPU",
     "Use 'cpu', or 'auto' to take a GPU when there is one. Available here: cpu."),
    (2, "cuda:2", "device 'cuda:2' was asked for, but this machine has 2 CUDA GPUs "
                  "(cuda:0 to cuda:1)", "Available here: cpu, cuda, cuda:0, cuda:1."),
    (1, "cuda:1", "device 'cuda:1' was asked for, but this machine has 1 CUDA GPU (cuda:0)",
     "Available here: cpu, cuda, cuda:0."),
    (1, "mps", "device 'mps' was asked for, but this machine has no Apple MPS GPU",
     "Use 'cpu', or 'auto' to take a GPU when there is one. Available here: cpu, cuda, cuda:0."),
    (0, "cuda:x", "'cuda:x' is not a device",
     "Did you mean 'cuda'? Accepted devices: auto, cpu, cuda, mps. Or cuda:N, the GPU of index "
     "N (cuda:0, cuda:1…)."),
])
def test_a_device_this_machine_lacks_is_a_config_error_naming_what_it_has(gpus, n, name, message,
                                                                          hint):
    gpus(n)
    c = config()
    c["globals"]["device"] = name
    with pytest.raises(ConfigError) as e:
        prepare(c)
    [problem] = e.value.problems
    assert (problem.path, problem.message, problem.hint) == ("globals.device", message, hint)
