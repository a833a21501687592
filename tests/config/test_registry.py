"""Turning a config's "class" string into a class (erasure/config/registry.py)."""
from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from erasure.config import ConfigError, full_name, resolve
from erasure.data.splits import Splitter
from erasure.measures import Measure
from erasure.measures.accuracy import Accuracy
from erasure.unlearners import Unlearner
from erasure.unlearners.finetuning import Finetuning

from . import fixtures

PATH = "unlearners[0].class"


def only_problem(error: ConfigError):
    assert len(error.problems) == 1, error.problems
    return error.problems[0]


def resolve_error(name, base=Unlearner, path=PATH):
    with pytest.raises(ConfigError) as e:
        resolve(name, base, path)
    return only_problem(e.value)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """Writes ``<name>.py`` with the given source into a folder on sys.path; forgets it after."""
    written = []

    def make(name, source):
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        written.append(name)
        return name

    yield make
    for name in written:
        sys.modules.pop(name, None)


def test_short_name_resolves():
    assert resolve("Finetuning", Unlearner, PATH) is Finetuning
    assert resolve("Accuracy", Measure, "evaluator.parameters.measures[0].class") is Accuracy


def test_dotted_path_resolves_a_users_class():
    assert resolve("tests.config.fixtures.MyUnlearner", Unlearner, PATH) is fixtures.MyUnlearner
    assert resolve("tests.config.fixtures.MyMeasure", Measure, PATH) is fixtures.MyMeasure


def test_dotted_path_resolves_a_builtin_by_its_module():
    assert resolve("erasure.unlearners.finetuning.Finetuning", Unlearner, PATH) is Finetuning
    assert resolve("torch.optim.SGD", torch.optim.Optimizer, PATH) is torch.optim.SGD


def test_full_name_is_module_and_qualname():
    assert full_name(Finetuning) == "erasure.unlearners.finetuning.Finetuning"
    assert full_name(torch.optim.SGD) == "torch.optim.sgd.SGD"


def test_users_classes_are_not_registered_by_short_name():
    problem = resolve_error("MyUnlearner")
    assert problem.message == "unknown unlearner 'MyUnlearner'"


def test_unknown_short_name_suggests_and_lists_the_accepted_names():
    problem = resolve_error("Finetunin")
    assert problem.path == PATH
    assert problem.message == "unknown unlearner 'Finetunin'"
    assert "Did you mean 'Finetuning'?" in problem.hint
    assert "Accepted unlearner names: " in problem.hint
    for name in ("Cascade", "Finetuning", "Identity", "NegGrad"):
        assert name in problem.hint
    assert "Accuracy" not in problem.hint  # only names that fit the slot
    assert "dotted path" in problem.hint


def test_unknown_short_name_with_nothing_close_has_no_did_you_mean():
    problem = resolve_error("Zzzzzzzz")
    assert "Did you mean" not in problem.hint
    assert "Accepted unlearner names: " in problem.hint


def test_name_of_another_kind_in_a_slot():
    problem = resolve_error("Accuracy")
    assert problem.path == PATH
    assert problem.message == "'Accuracy' is a measure, but this slot needs an unlearner"
    assert "Accepted unlearner names: " in problem.hint


def test_optimizer_name_in_an_unlearner_slot():
    problem = resolve_error("Adam")
    assert problem.message == "'Adam' is an optimizer, but this slot needs an unlearner"


def test_unlearner_name_in_a_splitter_slot():
    problem = resolve_error("Finetuning", Splitter, "data.parameters.partitions[0].class")
    assert problem.path == "data.parameters.partitions[0].class"
    assert problem.message == "'Finetuning' is an unlearner, but this slot needs a splitter"
    assert "PercentageSplit" in problem.hint


def test_dotted_path_to_a_missing_module():
    problem = resolve_error("nosuchpackage_xyz.mymod.MyUnlearner")
    assert problem.path == PATH
    assert problem.message == ("cannot import 'nosuchpackage_xyz.mymod.MyUnlearner': "
                               "no module named 'nosuchpackage_xyz'")
    assert "globals.paths" in problem.hint
    assert "PYTHONPATH" in problem.hint


def test_dotted_path_to_a_missing_submodule_of_a_real_package():
    problem = resolve_error("erasure.nosuchmodule.Thing")
    assert problem.message == "cannot import 'erasure.nosuchmodule.Thing': no module named 'erasure.nosuchmodule'"
    assert "globals.paths" in problem.hint


def test_missing_attribute_suggests_among_the_modules_classes():
    problem = resolve_error("tests.config.fixtures.MyUnlearnr")
    assert problem.path == PATH
    assert problem.message == "module 'tests.config.fixtures' has no attribute 'MyUnlearnr'"
    assert "Did you mean 'MyUnlearner'?" in problem.hint
    assert "Accepted classes there: " in problem.hint
    assert "PickyUnlearner" in problem.hint
    assert "not_a_class" not in problem.hint  # a function is not offered as a class


def test_a_function_is_not_a_class():
    problem = resolve_error("tests.config.fixtures.not_a_class")
    assert problem.message == "'tests.config.fixtures.not_a_class' is a function, not a class"


def test_a_class_of_the_wrong_kind_by_dotted_path():
    problem = resolve_error("erasure.measures.accuracy.Accuracy")
    assert problem.path == PATH
    assert problem.message == ("'erasure.measures.accuracy.Accuracy' is a measure, but this slot "
                               "needs an unlearner (a subclass of erasure.unlearners.base.Unlearner)")


def test_users_measure_in_an_unlearner_slot():
    problem = resolve_error("tests.config.fixtures.MyMeasure")
    assert "is a measure, but this slot needs an unlearner" in problem.message


def test_a_plain_class_in_an_unlearner_slot():
    problem = resolve_error("tests.config.fixtures.PlainThing")
    assert problem.message.startswith("'tests.config.fixtures.PlainThing' is a PlainThing, "
                                      "but this slot needs an unlearner")


def test_a_module_that_raises_on_import(user_module):
    name = user_module("erasure_test_boom_mod", "x = 1\nraise RuntimeError('kaboom at import')\n")
    problem = resolve_error(f"{name}.MyUnlearner")
    assert problem.path == PATH
    assert problem.message == (f"importing module '{name}' raised RuntimeError: kaboom at import")


def test_a_module_with_a_syntax_error(user_module):
    name = user_module("erasure_test_syntax_mod", "def broken(:\n    pass\n")
    problem = resolve_error(f"{name}.MyUnlearner")
    assert f"importing module '{name}' raised SyntaxError" in problem.message


def test_a_module_whose_own_import_is_missing(user_module):
    # the user's module exists; a dependency it imports does not
    name = user_module("erasure_test_dep_mod", "import erasure_test_missing_dependency\n")
    problem = resolve_error(f"{name}.MyUnlearner")
    assert problem.message == (f"importing module '{name}' failed: "
                               "No module named 'erasure_test_missing_dependency'")
    assert "globals.paths" not in problem.hint


def test_a_users_module_on_sys_path(user_module):
    name = user_module("erasure_test_good_mod", (
        "from dataclasses import dataclass\n"
        "from erasure.unlearners import Unlearner\n\n"
        "@dataclass(kw_only=True)\n"
        "class Mine(Unlearner):\n"
        "    def unlearn(self, model, ctx):\n"
        "        return model\n"))
    cls = resolve(f"{name}.Mine", Unlearner, PATH)
    assert cls.__name__ == "Mine"
    assert issubclass(cls, Unlearner)
    assert full_name(cls) == f"{name}.Mine"


@pytest.mark.parametrize("value, shown", [(3, "3"), ("", "''"), (None, "None"), (["Adam"], "['Adam']")])
def test_class_must_be_a_non_empty_string(value, shown):
    problem = resolve_error(value)
    assert problem.message == f"'class' must be a non-empty string, not {shown}"


@pytest.mark.parametrize("name, base, expected", [
    ("Adam", torch.optim.Optimizer, torch.optim.Adam),
    ("SGD", torch.optim.Optimizer, torch.optim.SGD),
    ("CrossEntropyLoss", nn.Module, nn.CrossEntropyLoss),
    ("MSELoss", nn.Module, nn.MSELoss),
    ("StepLR", torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.StepLR),
    ("CosineAnnealingLR", torch.optim.lr_scheduler.LRScheduler,
     torch.optim.lr_scheduler.CosineAnnealingLR),
])
def test_torch_classes_by_short_name(name, base, expected):
    assert resolve(name, base, "predictor.parameters.optimizer.class") is expected


def test_scheduler_name_in_an_optimizer_slot():
    problem = resolve_error("StepLR", torch.optim.Optimizer, "p.class")
    assert problem.message == "'StepLR' is a learning-rate scheduler, but this slot needs an optimizer"
    assert "Adam" in problem.hint


def test_loss_name_in_an_optimizer_slot():
    problem = resolve_error("CrossEntropyLoss", torch.optim.Optimizer, "p.class")
    assert problem.message == "'CrossEntropyLoss' is a loss, but this slot needs an optimizer"


def test_unknown_optimizer_suggests_a_torch_optimizer():
    problem = resolve_error("Adan", torch.optim.Optimizer, "p.class")
    assert problem.message == "unknown optimizer 'Adan'"
    assert "Did you mean 'Adam'?" in problem.hint
    assert "AdamW" in problem.hint and "SGD" in problem.hint


def test_a_name_differing_only_in_case_is_the_suggestion():
    problem = resolve_error("Adamw", torch.optim.Optimizer, "p.class")
    assert problem.hint.startswith("Did you mean 'AdamW'?")


def test_suggest_takes_names_of_any_type():
    # a broken config may write a number where a partition name belongs
    from erasure.config import suggest

    assert suggest("tarin", ["train", 0, None], "partitions") == (
        "Did you mean 'train'? Accepted partitions: 0, None, train.")
