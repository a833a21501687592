"""The default search spaces of the built-in unlearners, and the per-epoch reports that let a tuner
prune a trial (``UnlearningContext.report``)."""
from __future__ import annotations

import copy
import itertools
import re

import pytest
import torch

import erasure.unlearners
from erasure.config import Builder, Distribution, FloatRange, IntRange, Slot
from erasure.config.registry import names_for, resolve
from erasure.unlearners import Unlearner
from tests.unlearners import fixtures as fx

#: Every built-in unlearner a config can name, by short name.
BUILTIN = {name: cls for name in names_for(Unlearner)
           if (cls := resolve(name, Unlearner, "class")).__module__.startswith("erasure.")}
TUNED = sorted(name for name, cls in BUILTIN.items() if cls.search_space)

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def keys(path: str) -> list[str | int]:
    """``"unlearners[0].parameters.epochs"`` → ``["unlearners", 0, "parameters", "epochs"]``."""
    return [int(index) if index else name for name, index in _STEP.findall(path)]


def put(parameters: dict, path: str, value) -> None:
    """Sets ``value`` at ``path`` inside a resolved ``parameters`` object. Every step but the
    last must already be there (a default config holds every nested component); the last may be
    new, so that a misspelt name reaches the builder and is reported there."""
    *inner, last = keys(path)
    node = parameters
    for key in inner:
        assert isinstance(node, (dict, list)), f"'{path}' goes through a value, not an object"
        node = node[key]
    node[last] = value


def get(parameters: dict, path: str):
    node = parameters
    for key in keys(path):
        node = node[key]
    return node


def build(name: str, parameters: dict | None = None):
    """``(object, resolved config, problems)`` of one unlearner built as ``prepare`` builds it."""
    node = {"class": name} if parameters is None else {"class": name, "parameters": parameters}
    builder = Builder()
    obj, resolved = builder.component(node, Slot(Unlearner, lazy=False), "u")
    return obj, resolved, builder.problems


def test_the_builtin_unlearners_are_all_found():
    exported = {name for name in erasure.unlearners.__all__
                if isinstance(cls := getattr(erasure.unlearners, name), type)
                and issubclass(cls, Unlearner) and not cls.__dict__.get("abstract")}
    assert set(BUILTIN) == exported
    assert len(TUNED) == 12


def test_only_identity_gold_model_and_cascade_have_nothing_to_tune():
    assert sorted(set(BUILTIN) - set(TUNED)) == ["Cascade", "GoldModel", "Identity"]


@pytest.mark.parametrize("name", TUNED)
def test_a_space_is_small_and_every_distribution_is_well_formed(name):
    space = BUILTIN[name].search_space
    assert 1 <= len(space) <= 4
    for path, distribution in space.items():
        assert isinstance(distribution, Distribution), path
        assert distribution.problem() is None, (path, distribution.problem())


@pytest.mark.parametrize("name", TUNED)
def test_every_corner_of_the_space_builds_and_lands_on_its_parameter(name):
    # every combination of the ranges' ends (and of every choice): a tuner may draw any point,
    # so joint constraints (Scrub's msteps <= epochs) hold everywhere, not just corner by corner
    space = BUILTIN[name].search_space
    _, default, problems = build(name)
    assert problems == []
    for point in itertools.product(*(d.corners() for d in space.values())):
        parameters = copy.deepcopy(default["parameters"])
        for path, value in zip(space, point):
            put(parameters, path, value)
        obj, resolved, problems = build(name, parameters)
        assert problems == [], (dict(zip(space, point)), problems)
        for path, value in zip(space, point):
            assert get(resolved["parameters"], path) == value, path
            if "." not in path and "[" not in path:
                assert getattr(obj, path) == value, path


def test_a_path_that_names_no_parameter_is_reported():
    # what the corner test relies on: a misspelt path does not pass silently
    _, default, _ = build("NegGrad")
    for path in ("bta", "optimizer.parameters.lrr"):
        parameters = copy.deepcopy(default["parameters"])
        put(parameters, path, 0.5)
        assert build("NegGrad", parameters)[2], path


@pytest.mark.parametrize("name", TUNED)
def test_the_default_of_every_tuned_parameter_lies_in_its_range(name):
    # the tuner can find at least the defaults again
    _, default, _ = build(name)
    for path, distribution in BUILTIN[name].search_space.items():
        value = get(default["parameters"], path)
        if isinstance(distribution, (FloatRange, IntRange)):
            assert distribution.low <= value <= distribution.high, (path, value)
        else:
            assert value in distribution.corners(), (path, value)


# -- reports for pruning -------------------------------------------------------------------------

def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def run(node: dict, report=None):
    """``node`` run by hand (seed 1) on the class-forgetting digits session, with ``report`` set
    on its context; returns the unlearned model."""
    from erasure.seeding import seeded

    session = fx.session("class", [])
    unlearner = fx.build_unlearner(node)
    model = copy.deepcopy(session.original).requires_grad_(True)
    ctx = fx.context(session, 1)
    ctx.report = report
    with seeded(1):
        return unlearner.unlearn(model, ctx)


def test_neggrad_reports_its_model_after_every_epoch_and_reporting_changes_nothing():
    seen = []
    reported = run({"class": "NegGrad", "parameters": {"epochs": 3}},
                   report=lambda model: seen.append((model, fx.weights(model))))
    plain = run({"class": "NegGrad", "parameters": {"epochs": 3}})

    assert len(seen) == 3
    assert all(model is reported for model, _ in seen)
    # each report shows the model as it is then: it moved between epochs, and the last is the end
    assert all(not same(a, b) for (_, a), (_, b) in zip(seen, seen[1:]))
    assert same(seen[-1][1], fx.weights(reported))
    assert fx.same_weights(reported, plain)  # bit for bit


def test_a_report_that_raises_stops_the_unlearner():
    class Pruned(Exception):
        pass

    calls = []

    def prune(model):
        calls.append(model)
        raise Pruned

    with pytest.raises(Pruned):
        run({"class": "NegGrad", "parameters": {"epochs": 5}}, report=prune)
    assert len(calls) == 1


@pytest.mark.parametrize("node, reports", [
    ({"class": "Finetuning", "parameters": {"epochs": 2}}, 2),
    ({"class": "AdvancedNegGrad", "parameters": {"epochs": 2}}, 2),
    ({"class": "SuccessiveRandomLabels", "parameters": {"epochs": 2}}, 2),
    ({"class": "CFk", "parameters": {"epochs": 2}}, 2),
    ({"class": "EUk", "parameters": {"epochs": 2}}, 2),
    ({"class": "SalUn", "parameters": {"epochs": 2}}, 2),
    ({"class": "BadTeaching", "parameters": {"epochs": 2}}, 2),
    ({"class": "Scrub", "parameters": {"epochs": 3, "msteps": 2}}, 3),  # after each min pass
    ({"class": "UNSIR", "parameters": {"noise_steps": 2, "impair_epochs": 2, "repair_epochs": 3}},
     3),  # the repair epochs
    ({"class": "UNSIR", "parameters": {"noise_steps": 2, "impair_epochs": 2, "repair_epochs": 0}},
     2),  # no repair: the impair epochs
    ({"class": "SSD"}, 0),  # no epochs
    ({"class": "FisherForgetting"}, 0),
], ids=lambda v: v["class"] + "".join(f"-{k}={x}" for k, x in v.get("parameters", {}).items())
    if isinstance(v, dict) else None)
def test_each_unlearner_reports_the_epochs_of_its_last_phase(node, reports):
    seen = []
    unlearned = run(node, report=seen.append)
    assert len(seen) == reports
    assert all(model is unlearned for model in seen)
    assert fx.same_weights(unlearned, run(node))
