"""Writing a component (erasure/config/component.py, checks.py): a class with fields and one
method, no decorator; constraints declared on the fields; abstract bases and ambiguous names
refused (registry.py)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Annotated, Optional

import pytest

from erasure.config import (INVALID, Builder, Component, ConfigError, Epochs, Fraction,
                            LayerWidths, Probability, Range, Slot, register, resolve)
from erasure.config import registry
from erasure.config.checks import MAX_EPOCHS, ParameterValueError, violations
from erasure.unlearners import TrainingUnlearner, Unlearner
from erasure.unlearners.finetuning import Finetuning
from erasure.unlearners.neggrad import NegGrad

from . import fixtures

UNLEARNER = Slot(Unlearner, lazy=False)
FIXTURES = "tests.config.fixtures"


def build(node, slot=UNLEARNER, path="unlearners[0]"):
    builder = Builder()
    obj, _ = builder.component(node, slot, path)
    return builder.problems, obj


def messages(node, slot=UNLEARNER):
    problems, obj = build(node, slot)
    assert obj is INVALID
    return {p.path: p.message for p in problems}


# -- a class with fields, no decorator ----------------------------------------------------------

class Plain(Unlearner):
    items: list[int] = field(default_factory=list)
    scale: float = 1.0

    def unlearn(self, model, ctx):
        return model


@dataclass(kw_only=True)
class Decorated(Unlearner):
    items: list[int] = field(default_factory=list)
    scale: float = 1.0
    hidden: int = field(default=3, repr=False, metadata={"unit": "neurons"})

    def unlearn(self, model, ctx):
        return model


@dataclass  # not kw_only: the class is keyword-only all the same
class PlainDataclass(Unlearner):
    items: list[int] = field(default_factory=list)
    scale: float = 1.0

    def unlearn(self, model, ctx):
        return model


class ChildOfDecorated(Decorated):
    extra: list[str] = field(default_factory=lambda: ["x"])


@dataclass(kw_only=True)
class GrandchildDecorated(ChildOfDecorated):
    scale: float = 2.0


class GrandchildPlain(ChildOfDecorated):
    scale: float = 2.0


def field_table(cls):
    return [(f.name, f.default, f.default_factory, f.kw_only, f.init, f.repr, dict(f.metadata))
            for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("cls", [Plain, Decorated, PlainDataclass])
def test_a_subclass_is_a_keyword_only_dataclass_with_or_without_the_decorator(cls):
    a, b = cls(), cls()
    assert a.items == [] and a.items is not b.items  # default_factory: a fresh list each
    assert a.scale == 1.0
    assert cls(items=[1], scale=2.0).items == [1]
    with pytest.raises(TypeError):
        cls([1])  # keyword-only
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[:2] == ["ref_data_retain", "ref_data_forget"]
    assert set(names) >= {"items", "scale"}


def test_the_decorator_applied_twice_keeps_the_first_fields():
    """dataclass deletes a default_factory field's class attribute; a second pass would record
    the field as required and drop field() options — the first pass's record stands."""
    items = {f.name: f for f in dataclasses.fields(Decorated)}["items"]
    assert items.default_factory is list
    hidden = {f.name: f for f in dataclasses.fields(Decorated)}["hidden"]
    assert hidden.repr is False and hidden.metadata == {"unit": "neurons"}
    assert "hidden" not in repr(Decorated())
    assert all(f.kw_only for f in dataclasses.fields(PlainDataclass))
    assert field_table(Plain)[:4] == field_table(PlainDataclass)[:4]


@pytest.mark.parametrize("cls", [GrandchildDecorated, GrandchildPlain])
def test_two_levels_of_inheritance_keep_every_default(cls):
    obj = cls()
    assert (obj.items, obj.extra, obj.scale, obj.hidden) == ([], ["x"], 2.0, 3)
    assert obj.extra is not cls().extra
    assert field_table(GrandchildDecorated) == field_table(GrandchildPlain)


def test_a_plain_dataclass_with_a_required_field_after_a_default_is_pythons_error():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @dataclass
        class Broken(Unlearner):
            a: int = 1
            b: int

    class Fine(Unlearner):  # keyword-only fields may come in any order
        a: int = 1
        b: int

    assert Fine(b=2).a == 1


def test_builtins_decorated_the_old_way_still_build_from_a_config():
    problems, obj = build({"class": "Finetuning", "parameters": {"epochs": 3}})
    assert problems == [] and obj.epochs == 3 and obj.batch_size is None


def test_an_undecorated_users_class_builds_from_a_config():
    problems, obj = build({"class": f"{FIXTURES}.Undecorated",
                           "parameters": {"weights": [0.5, 1], "alpha": 2}})
    assert problems == []
    assert (obj.weights, obj.alpha, obj.epochs, obj.tags) == ([0.5, 1.0], 2.0, 2, [])
    assert "tags" not in obj.config["parameters"]  # a default_factory's value is the object's


# -- constraints declared on fields -------------------------------------------------------------

def test_constraints_are_checked_when_built_in_python():
    with pytest.raises(ValueError) as e:
        NegGrad(epochs=0)
    assert isinstance(e.value, ParameterValueError) and e.value.parameter == "epochs"
    assert str(e.value) == "epochs must be at least 1, got 0"
    with pytest.raises(ParameterValueError, match="batch_size must be at least 1, got 0"):
        Finetuning(batch_size=0)
    assert Finetuning(batch_size=None).batch_size is None  # None means "not set"


def test_a_redeclared_field_keeps_the_constraint_of_its_base():
    # Finetuning says `epochs: int = 10`; TrainingUnlearner's bound still holds
    with pytest.raises(ParameterValueError, match=f"at most {MAX_EPOCHS:,}"):
        Finetuning(epochs=MAX_EPOCHS + 1)
    assert Finetuning(epochs=MAX_EPOCHS).epochs == MAX_EPOCHS


class Checked(TrainingUnlearner):
    sigma: Annotated[float, Range(ge=0)] = 1.0
    seen: list = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        # runs after the constraints: the values it sees are valid
        self.seen.append((self.epochs, self.sigma))

    def unlearn(self, model, ctx):
        return model


class CheckedChild(Checked):
    def __post_init__(self) -> None:  # does not call super(): the constraints are still checked
        self.seen.append("child")


@pytest.mark.parametrize("cls", [Checked, CheckedChild])
@pytest.mark.parametrize("kwargs, parameter", [({"epochs": 0}, "epochs"),
                                               ({"sigma": -1.0}, "sigma"),
                                               ({"batch_size": 0}, "batch_size")])
def test_a_subclass_post_init_gets_the_constraints_before_its_own_checks(cls, kwargs, parameter):
    with pytest.raises(ParameterValueError) as e:
        cls(**kwargs)
    assert e.value.parameter == parameter


def test_the_constraints_are_checked_once_and_the_post_init_bodies_run():
    assert Checked(epochs=2).seen == [(2, 1.0)]
    assert CheckedChild().seen == ["child"]


def test_the_builder_reports_every_breach_at_its_path():
    found = messages({"class": f"{FIXTURES}.Undecorated",
                      "parameters": {"weights": [1, -1, -2], "alpha": 0, "epochs": 10**9}})
    where = "unlearners[0].parameters"
    assert found == {
        f"{where}.weights[1]": "Undecorated: weights[1] must be at least 0, got -1.0",
        f"{where}.weights[2]": "Undecorated: weights[2] must be at least 0, got -2.0",
        f"{where}.alpha": "Undecorated: alpha must be greater than 0, got 0.0",
        f"{where}.epochs": ("Undecorated: epochs must be at most 100,000 (no real experiment runs "
                            "more; the bound catches typos), got 1,000,000,000"),
    }


def test_optional_constrained_values_accept_null_and_check_the_rest():
    problems, _ = build({"class": "Finetuning", "parameters": {"batch_size": None}})
    assert problems == []
    found = messages({"class": "Finetuning", "parameters": {"batch_size": 0}})
    assert found == {"unlearners[0].parameters.batch_size":
                     "Finetuning: batch_size must be at least 1, got 0"}


def test_a_wrong_type_is_reported_once_not_as_a_breach_too():
    found = messages({"class": f"{FIXTURES}.Undecorated", "parameters": {"alpha": "big"}})
    assert found == {"unlearners[0].parameters.alpha": "expected a number, got string 'big'"}


@pytest.mark.parametrize("annotation, value, message", [
    (Fraction, 1.5, "x must lie in (0, 1), got 1.5"),
    (Fraction, 0.0, "x must lie in (0, 1), got 0.0"),
    (Probability, -0.1, "x must lie in [0, 1], got -0.1"),
    (Annotated[float, Range(ge=0)], math.nan, "x must be at least 0, got nan"),
    (Annotated[int, Range(ge=1, le=5)], 9, "x must lie in [1, 5], got 9"),
    (Annotated[float, Range(lt=2)], 2.0, "x must be less than 2, got 2.0"),
    (Epochs, 0, "x must be at least 1, got 0"),
    (LayerWidths, [4, 0], "every width in x must be at least 1 (a layer of width 0 passes "
                          "nothing on), got [4, 0]"),
    (Optional[list[Annotated[int, Range(ge=1)]]], [1, 0], "x[1] must be at least 1, got 0"),
    (tuple[Annotated[int, Range(ge=1)], Annotated[int, Range(le=0)]], (1, 1),
     "x[1] must be at most 0, got 1"),
])
def test_constraint_messages(annotation, value, message):
    assert [m for _, m in violations(annotation, value, "x")] == [message]


@pytest.mark.parametrize("annotation, value", [
    (Fraction, 0.5), (Probability, 1.0), (Probability, 0), (Epochs, MAX_EPOCHS),
    (Optional[Epochs], None), (LayerWidths, [1, 2]), (Annotated[int, Range(ge=1)] | str, "a"),
    (list[int], [-1, -2]),
])
def test_values_within_their_constraints_pass(annotation, value):
    assert list(violations(annotation, value, "x")) == []


# -- a ValueError is reported at the parameter it names ----------------------------------------

def test_a_value_error_naming_one_parameter_is_reported_there():
    found = messages({"class": f"{FIXTURES}.PickyUnlearner", "parameters": {"level": 9}})
    assert found == {"unlearners[0].parameters.level": "PickyUnlearner: level must be at most 3, "
                                                       "got 9"}


@pytest.mark.parametrize("parameters, message", [
    ({"low": 5, "high": 1}, "low must not exceed high"),  # names two parameters
    ({"k": 2}, "the number of neighbours must be odd"),  # names none
])
def test_a_value_error_naming_two_parameters_or_none_is_reported_at_the_component(parameters,
                                                                                  message):
    found = messages({"class": f"{FIXTURES}.TwoNames", "parameters": parameters})
    assert list(found) == ["unlearners[0]"]
    assert message in found["unlearners[0]"]


class DefaultBreaks(Unlearner):
    level: int = 7  # its own default breaks its check

    def __post_init__(self) -> None:
        if self.level > 3:
            raise ValueError(f"level must be at most 3, got {self.level}")

    def unlearn(self, model, ctx):
        return model


def test_a_named_parameter_the_config_does_not_give_stays_at_the_component():
    found = messages({"class": f"{__name__}.DefaultBreaks", "parameters": {}})
    assert found == {"unlearners[0]": "DefaultBreaks: level must be at most 3, got 7"}


# -- abstract bases -----------------------------------------------------------------------------

def all_abstract_bases():
    registry.names_for(object)  # imports the built-ins
    out, todo = [], [Component]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__dict__.get("abstract") and cls.__module__.startswith("erasure."):
            out.append(cls)
    return sorted(out, key=registry.full_name)


def root_of(cls):
    """The base of the slot a config would name ``cls`` in."""
    return [b for b in cls.__mro__ if b.__bases__ == (Component,)][0]


def test_the_abstract_bases_of_erasure_are_known():
    names = {c.__name__ for c in all_abstract_bases()}
    assert names >= {"Unlearner", "TrainingUnlearner", "Measure", "MembershipMeasure",
                     "DataSource", "Splitter"}


@pytest.mark.parametrize("cls", all_abstract_bases(), ids=lambda c: c.__name__)
def test_an_abstract_base_is_refused_by_short_and_by_dotted_name_and_never_offered(cls):
    slot = root_of(cls)
    for name in (cls.__name__, registry.full_name(cls)):
        with pytest.raises(ConfigError) as e:
            resolve(name, slot, "x.class")
        [problem] = e.value.problems
        assert problem.path == "x.class"
        assert problem.message.startswith(f"'{name}' is an abstract base "
                                          f"({registry.full_name(cls)}); subclass it")
        assert cls.__name__ not in problem.hint.split("names: ")[-1].rstrip(".").split(", ")
    assert cls.__name__ not in registry.names_for(slot)


def test_a_public_abstract_base_by_its_package_path():
    with pytest.raises(ConfigError) as e:
        resolve("erasure.unlearners.TrainingUnlearner", Unlearner, "unlearners[0].class")
    [problem] = e.value.problems
    assert problem.message == ("'erasure.unlearners.TrainingUnlearner' is an abstract base "
                               "(erasure.unlearners.base.TrainingUnlearner); subclass it, or name "
                               "one of its subclasses")
    assert "Finetuning" in problem.hint and "Identity" not in problem.hint


def test_a_users_abstract_base_is_refused():
    with pytest.raises(ConfigError, match="is an abstract base"):
        resolve(f"{FIXTURES}.MyBase", Unlearner, "unlearners[0].class")


@pytest.mark.parametrize("name, base", [("Optimizer", "torch.optim.Optimizer"),
                                        ("torch.optim.Optimizer", "torch.optim.Optimizer"),
                                        ("torch.nn.Module", "torch.nn.Module"),
                                        ("torch.optim.lr_scheduler.LRScheduler",
                                         "torch.optim.lr_scheduler.LRScheduler")])
def test_pytorchs_bases_are_abstract_too(name, base):
    import importlib

    module, _, attr = base.rpartition(".")
    cls = getattr(importlib.import_module(module), attr)
    with pytest.raises(ConfigError, match="is an abstract base"):
        resolve(name, cls, "p.class")
    assert name.rpartition(".")[2] not in registry.names_for(cls)


# -- ambiguous short names ----------------------------------------------------------------------

def test_no_builtin_short_name_is_ambiguous():
    registry.names_for(object)
    shared = {n: c for n, c in registry._by_name.items() if len(c) > 1}
    assert shared == {}


def test_a_short_name_two_registered_classes_share_is_an_error(monkeypatch):
    monkeypatch.setitem(registry._by_name, "Finetuning", list(registry._by_name["Finetuning"]))
    register(fixtures.MyUnlearner, "Finetuning")
    with pytest.raises(ConfigError) as e:
        resolve("Finetuning", Unlearner, "unlearners[0].class")
    [problem] = e.value.problems
    assert problem.message == ("'Finetuning' is ambiguous: it names 2 classes "
                               "(erasure.unlearners.finetuning.Finetuning, "
                               "tests.config.fixtures.MyUnlearner)")
    assert "dotted path" in problem.hint
    # a slot only one of them fits is not ambiguous
    monkeypatch.setitem(registry._by_name, "Accuracy", list(registry._by_name["Accuracy"]))
    register(fixtures.MyUnlearner, "Accuracy")
    from erasure.measures import Measure
    from erasure.measures.accuracy import Accuracy
    assert resolve("Accuracy", Measure, "m.class") is Accuracy


def test_registering_a_reloaded_class_replaces_the_old_one(monkeypatch):
    monkeypatch.setitem(registry._by_name, "Finetuning", list(registry._by_name["Finetuning"]))
    again = type("Finetuning", (TrainingUnlearner,), {"__module__": "erasure.unlearners.finetuning",
                                                     "__qualname__": "Finetuning",
                                                     "unlearn": lambda self, m, c: m})
    assert registry._by_name["Finetuning"] == [again]  # registered on creation, in place
    assert resolve("Finetuning", Unlearner, "u.class") is again


@pytest.mark.parametrize("value, message", [(True, "epochs must be a number, got True"),
                                            ("3", "epochs must be a number, got '3'"),
                                            (0, "epochs must be at least 1, got 0")])
def test_a_bound_in_python_rejects_what_is_not_a_number(value, message):
    from erasure.unlearners import NegGrad

    with pytest.raises(ValueError, match=message):
        NegGrad(epochs=value)


def test_constraints_hold_when_a_mixin_brings_the_post_init():
    from erasure.config import Component, Epochs

    class Checked:
        def __post_init__(self):
            self.checked = True

    class WithMixin(Checked, Component):
        epochs: Epochs = 3

    assert WithMixin().checked and WithMixin(epochs=2).epochs == 2
    with pytest.raises(ValueError, match="epochs must be at least 1, got 0"):
        WithMixin(epochs=0)


def test_a_frozen_component_is_refused_where_it_is_defined():
    from erasure.config import Component

    with pytest.raises(TypeError, match="Frozen: a component cannot be frozen"):
        @dataclass(frozen=True)
        class Frozen(Component):
            level: int = 1
