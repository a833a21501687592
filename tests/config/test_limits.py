"""Limits that keep a config honest: epochs and steps no experiment reaches, layers of width 0,
sweeps too large to expand — each refused at validation with the parameter's path."""
from __future__ import annotations

import dataclasses

import pytest

from erasure.config import ConfigError
from erasure.config.checks import MAX_EPOCHS, MAX_STEPS, ParameterValueError
from erasure.config.registry import _by_name, names_for
from erasure.config.sweeps import MAX_POINTS, expand
from erasure.measures import Measure
from erasure.models import Predictor
from erasure.models.graph import GCN
from erasure.models.networks import MLP, SmallCNN
from erasure.models.resnet import ResNet18
from erasure.plan import prepare
from erasure.unlearners import Unlearner
from tests.helpers import digits_config


def problems(config):
    with pytest.raises(ConfigError) as e:
        prepare(config)
    return {p.path: p.message for p in e.value.problems}


def with_unlearner(node):
    return digits_config(unlearners=[node])


def with_measure(node):
    return digits_config(measures=[node])


# -- epochs and steps ------------------------------------------------------------------------

#: (config with the knob set to VALUE, its path, epochs or steps)
KNOBS = [
    (lambda v: digits_config(epochs=v), "predictor.parameters.epochs", "epochs"),
    (lambda v: with_unlearner({"class": "Finetuning", "parameters": {"epochs": v}}),
     "unlearners[0].parameters.epochs", "epochs"),
    (lambda v: with_unlearner({"class": "Scrub", "parameters": {"epochs": v}}),
     "unlearners[0].parameters.epochs", "epochs"),
    (lambda v: with_unlearner({"class": "UNSIR", "parameters": {"impair_epochs": v}}),
     "unlearners[0].parameters.impair_epochs", "epochs"),
    (lambda v: with_unlearner({"class": "UNSIR", "parameters": {"repair_epochs": v}}),
     "unlearners[0].parameters.repair_epochs", "epochs"),
    (lambda v: with_unlearner({"class": "UNSIR", "parameters": {"noise_steps": v}}),
     "unlearners[0].parameters.noise_steps", "steps"),
    (lambda v: with_measure({"class": "LiRA", "parameters": {"shadow_epochs": v}}),
     "evaluator.parameters.measures[0].parameters.shadow_epochs", "epochs"),
    (lambda v: with_measure({"class": "RelearnTime", "parameters": {"max_steps": v}}),
     "evaluator.parameters.measures[0].parameters.max_steps", "steps"),
]


@pytest.mark.parametrize("make, path, kind", KNOBS, ids=[k[1].rsplit(".", 1)[-1] + "-" + str(i)
                                                          for i, k in enumerate(KNOBS)])
def test_epochs_and_steps_beyond_any_experiment_are_refused_at_their_path(make, path, kind):
    bound = MAX_EPOCHS if kind == "epochs" else MAX_STEPS
    name = path.rsplit(".", 1)[-1]
    found = problems(make(10**12))
    assert list(found) == [path]
    assert found[path].endswith(f"{name} must be at most {bound:,} (no real experiment runs more; "
                                "the bound catches typos), got 1,000,000,000,000")
    found = problems(make(bound + 1))
    assert list(found) == [path]
    prepare(make(bound))  # the bound itself is allowed


def test_every_epochs_or_steps_knob_of_the_builtins_is_bounded():
    """Every constructor parameter named like epochs or steps, in the predictor, the built-in
    unlearners and measures, refuses 10**12."""
    names_for(object)  # loads the built-in registry
    checked = []
    for cls in {c for classes in _by_name.values() for c in classes}:
        if not (issubclass(cls, (Unlearner, Measure)) or cls is Predictor):
            continue
        if not dataclasses.is_dataclass(cls):
            continue
        for field in dataclasses.fields(cls):
            if not field.init or not ("epoch" in field.name or "steps" in field.name):
                continue
            if field.name == "msteps":  # Scrub: at most epochs, checked against them
                continue
            kwargs = {"unlearners": []} if cls.__name__ == "Cascade" else {}
            with pytest.raises(ParameterValueError) as e:
                cls(**kwargs, **{field.name: 10**12})
            assert e.value.parameter == field.name
            checked.append(f"{cls.__name__}.{field.name}")
    assert {"Predictor.epochs", "Finetuning.epochs", "UNSIR.noise_steps", "RelearnTime.max_steps",
            "LiRA.shadow_epochs"} <= set(checked)


# -- layer widths ----------------------------------------------------------------------------

@pytest.mark.parametrize("model, parameter, message", [
    ({"class": "MLP", "parameters": {"hidden": [0]}}, "hidden",
     "MLP: every width in hidden must be at least 1 (a layer of width 0 passes nothing on), got [0]"),
    ({"class": "MLP", "parameters": {"hidden": [32, -1]}}, "hidden", "got [32, -1]"),
    ({"class": "SmallCNN", "parameters": {"channels": [8, 0]}}, "channels",
     "SmallCNN: every width in channels must be at least 1"),
    ({"class": "SmallCNN", "parameters": {"hidden": 0}}, "hidden",
     "SmallCNN: hidden must be at least 1 (a layer of width 0 passes nothing on), got 0"),
    ({"class": "GCN", "parameters": {"hidden": [0]}}, "hidden", "GCN: every width in hidden"),
    ({"class": "ResNet18", "parameters": {"width": 0}}, "width", "ResNet18: width must be at least 1"),
    ({"class": "ResNet18", "parameters": {"blocks": [2, 2, 0, 2]}}, "blocks",
     "ResNet18: blocks must give four stages of at least one block, got [2, 2, 0, 2]"),
])
def test_layers_of_width_zero_are_refused_at_validation(model, parameter, message):
    found = problems(digits_config(model=model, image=model["class"] != "MLP"))
    path = f"predictor.parameters.model.parameters.{parameter}"
    assert list(found) == [path]
    assert message in found[path]


@pytest.mark.parametrize("build", [
    lambda: MLP(input_shape=(4,), num_classes=2, hidden=[0]),
    lambda: SmallCNN(input_shape=(1, 8, 8), num_classes=2, channels=[0, 4]),
    lambda: SmallCNN(input_shape=(1, 8, 8), num_classes=2, hidden=0),
    lambda: ResNet18(input_shape=(3, 8, 8), num_classes=2, width=0),
    lambda: GCN(hidden=[4, 0]),
])
def test_networks_built_in_code_refuse_width_zero_too(build):
    with pytest.raises(ParameterValueError) as e:
        build()
    assert "must be at least 1" in str(e.value)


def test_width_one_is_a_network():
    net = MLP(input_shape=(4,), num_classes=3, hidden=[1, 1])
    assert [m.out_features for m in net.modules() if hasattr(m, "out_features")] == [1, 1, 3]


# -- sweep sizes -----------------------------------------------------------------------------

def test_a_sweep_larger_than_the_bound_is_refused_before_it_is_expanded():
    values = list(range(1000))
    # 10**12 points: expanding them first would never end
    nodes = [{"class": "Identity"},
             {"class": "Finetuning", "sweep": {"epochs": values, "batch_size": values,
                                              "optimizer.parameters.lr": values,
                                              "optimizer.parameters.momentum": values}}]
    with pytest.raises(ConfigError) as e:
        expand(nodes)
    [problem] = e.value.problems
    assert problem.path == "unlearners[1].sweep"
    assert problem.message == (
        "this sweep has 1,000,000,000,000 points (1,000 x 1,000 x 1,000 x 1,000), more than the "
        "10,000 one config may run; split it into several configs, or sweep fewer values")


def test_sweeps_together_are_bounded_too():
    half = {"class": "Finetuning", "sweep": {"epochs": list(range(1, 101)),
                                             "batch_size": list(range(1, 61))}}  # 6,000 points
    assert len(expand([half])[0]) == 6000
    with pytest.raises(ConfigError) as e:
        expand([half, half])
    [problem] = e.value.problems
    assert problem.path == "unlearners"
    assert problem.message == ("12,000 unlearners with the sweeps expanded, more than the 10,000 "
                               "one config may run; split the config")
    with pytest.raises(ConfigError) as e:  # plain unlearners count too
        expand([half] + [{"class": "Identity"}] * (MAX_POINTS - 6000 + 1))
    assert [p.path for p in e.value.problems] == ["unlearners"]
    assert len(expand([half] + [{"class": "Identity"}] * (MAX_POINTS - 6000))[0]) == MAX_POINTS


def test_a_sweep_at_the_bound_is_expanded():
    nodes, paths, suffixes, points = expand([{"class": "Finetuning", "sweep": {
        "epochs": list(range(1, 101)), "batch_size": list(range(1, 101))}}])
    assert len(nodes) == MAX_POINTS == 10_000
    assert nodes[-1]["parameters"] == {"epochs": 100, "batch_size": 100}
    assert suffixes[-1] == "[epochs=100,batch_size=100]"


def test_a_1000_by_1000_sweep_fails_validation_with_its_path():
    config = digits_config(unlearners=[{"class": "Finetuning", "sweep": {
        "epochs": list(range(1, 1001)), "batch_size": list(range(1, 1001))}}])
    found = problems(config)
    assert list(found) == ["unlearners[0].sweep"]
    assert found["unlearners[0].sweep"].startswith("this sweep has 1,000,000 points (1,000 x 1,000)")
