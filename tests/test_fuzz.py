"""Fuzzing the config path: whatever a config file holds, loading and validating it either
succeeds or raises :class:`erasure.config.ConfigError` — never any other exception.

Valid configs (configs/example.jsonc and a small digits config) are mutated by dropping keys,
swapping value types, random strings and numbers, random nesting, other class names and lists
wrapped around values; each mutated config goes through ``prepare`` as the command line's
loaded config does. ``load_config`` gets random text, damaged copies of the example's text
(with its includes) and random bytes. Fixed example budgets with ``derandomize=True``: the
same examples on every run, a few seconds in all.
"""
from __future__ import annotations

import copy
import json
import math
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erasure.config import ConfigError, load_config
from erasure.config.registry import _by_name, names_for
from erasure.plan import prepare
from tests.helpers import digits_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = load_config(ROOT / "configs" / "example.jsonc")
DIGITS = digits_config(epochs=1, model={"class": "MLP", "parameters": {"hidden": [16]}},
                       unlearners=[{"class": "Finetuning", "parameters": {"epochs": 1}},
                                   {"class": "Cascade", "parameters": {"unlearners": [
                                       {"class": "NegGrad"}, {"class": "Identity"}]}}],
                       measures=[{"class": "Accuracy"}, {"class": "UMIA"}])
BASES = {"example": EXAMPLE, "digits": DIGITS}

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

names_for(object)  # loads the built-in registry, so that _by_name holds every short name
#: class names to put where a class (or anything else) belongs: every registered short name,
#: dotted paths of every kind (a class, a function, a module, a missing module or attribute)
CLASS_NAMES = sorted(_by_name) + [
    "erasure.unlearners.finetuning.Finetuning", "erasure.unlearners.finetuning.FineTuning",
    "erasure.unlearners.finetuning", "torch.nn.Linear", "torch.optim.SGD", "torch.Tensor",
    "tests.config.fixtures.MyUnlearner", "tests.config.fixtures.PickyUnlearner",
    "tests.config.fixtures.PlainThing", "tests.config.fixtures.not_a_class",
    "no_such_module_for_fuzzing.Thing", "json.loads", ".", "..", "a.", ".a", "", " ",
]

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.sampled_from(["train", "test", "forget", "retain", "all", "cpu", "cuda",
                              "auto", "digits", "image", "original", "unlearned"]))
#: any JSON value, a few levels deep
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8).filter(lambda k: k != "include"), inner, max_size=4),
    max_leaves=12)
EDGE_NUMBERS = [0, -1, 1, 2, 10**9, -10**9, 2**63, 0.5, -0.0, 1e-300, 1e308,
                math.nan, math.inf, -math.inf, True, False]


def node_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """The path to every node, the root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += node_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += node_paths(value, prefix + (i,))
    return found


def get(node: Any, path: tuple) -> Any:
    for step in path:
        node = node[step]
    return node


def swapped(value: Any, draw) -> Any:
    """The same content in another JSON type."""
    if isinstance(value, bool):
        return draw(st.sampled_from([int(value), str(value).lower(), [value]]))
    if isinstance(value, (int, float)):
        return draw(st.sampled_from([str(value), [value], {"value": value}, bool(value), None]))
    if isinstance(value, str):
        options = [[value], {"class": value}, None, len(value)]
        try:
            options.append(float(value))
        except ValueError:
            pass
        return draw(st.sampled_from(options))
    if isinstance(value, list):
        return draw(st.sampled_from([value[0] if value else None, {"items": value},
                                     json.dumps(value), len(value)]))
    if isinstance(value, dict):
        return draw(st.sampled_from([list(value.values()), list(value), json.dumps(value),
                                     value.get("class"), None]))
    return draw(json_values)


def mutate(config: Any, path: tuple, kind: str, draw) -> Any:
    """``config`` with the node at ``path`` changed by one mutation (the root may be replaced)."""
    old = get(config, path)
    if kind == "drop":
        if not path:
            return draw(st.sampled_from([{}, [], None]))
        parent = get(config, path[:-1])
        del parent[path[-1]]
        return config
    if kind == "add_key":
        if isinstance(old, dict):
            old[draw(st.text(max_size=10).filter(lambda k: k != "include"))] = draw(json_values)
            return config
        kind = "value"
    new = {
        "value": lambda: draw(json_values),
        "swap": lambda: swapped(old, draw),
        "string": lambda: draw(st.text(max_size=20)),
        "number": lambda: draw(st.sampled_from(EDGE_NUMBERS)),
        "class": lambda: draw(st.sampled_from(CLASS_NAMES)),
        "wrap_list": lambda: [old],
        "nest": lambda: draw(st.sampled_from([
            {"class": old}, {"parameters": old}, {"class": "Finetuning", "parameters": old},
            {draw(st.text(max_size=6).filter(lambda k: k != "include")): old}, [[old]]])),
    }[kind]()
    if not path:
        return new
    get(config, path[:-1])[path[-1]] = new
    return config


KINDS = ["drop", "add_key", "value", "swap", "string", "number", "class", "wrap_list", "nest"]


@st.composite
def mutated_configs(draw, base: Any) -> Any:
    config = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(node_paths(config)))
        config = mutate(config, path, draw(st.sampled_from(KINDS)), draw)
    return config


def check_prepare(config: Any, file: Path) -> None:
    """Validation as the command line runs it on a loaded config; a ConfigError is the only
    accepted failure. (The mutated dict is what load_config would return for its JSON text:
    the text side is fuzzed by the tests further down, and json5 parsing would cost most of
    the time here.)"""
    try:
        prepare(config, config_file=file)
    except ConfigError as e:
        assert e.problems and all(isinstance(p.path, str) and p.message for p in e.problems)
        str(e)  # the printed text can be built


@pytest.mark.parametrize("base", list(BASES))
def test_the_unmutated_configs_are_valid(base, tmp_path):
    file = tmp_path / "config.json"
    file.write_text(json.dumps(BASES[base]))
    prepare(load_config(file), config_file=file)


@pytest.mark.parametrize("base, examples", [("digits", 300), ("example", 150)])
def test_mutated_configs_load_or_raise_config_error(base, examples, tmp_path):
    file = tmp_path / "config.json"

    @settings(FUZZ, max_examples=examples)
    @given(mutated_configs(BASES[base]))
    def check(config):
        check_prepare(config, file)

    check()


EXAMPLE_TEXT = (ROOT / "configs" / "example.jsonc").read_text(encoding="utf-8")
DAMAGE = ["", "{", "}", "[", "]", '"', ",", ":", "/", "*", "\\", "\n", "\x00", "é", "//", "/*"]


@st.composite
def damaged_example(draw) -> str:
    """configs/example.jsonc with a few characters deleted, inserted or replaced."""
    text = EXAMPLE_TEXT
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 8)))
        text = text[:start] + draw(st.sampled_from(DAMAGE)) + text[end:]
    return text


@settings(FUZZ, max_examples=250)
@given(st.text(max_size=200)
       | st.text(alphabet=string.printable, max_size=200)
       | json_values.map(lambda v: json.dumps(v)[:-1] if isinstance(v, (dict, list)) else str(v))
       | damaged_example())
def test_random_text_loads_or_raises_config_error(text):
    check_text(text.encode("utf-8", "surrogatepass"))


@settings(FUZZ, max_examples=200)
@given(st.binary(max_size=200))
def test_random_bytes_load_or_raise_config_error(data):
    check_text(data)


TEXT_FILE: list[Path] = []


@pytest.fixture(autouse=True, scope="module")
def text_file(tmp_path_factory):
    """A config file in a folder holding a copy of configs/snippets (the example's includes)."""
    folder = tmp_path_factory.mktemp("fuzz_text")
    shutil.copytree(ROOT / "configs" / "snippets", folder / "snippets")
    TEXT_FILE[:] = [folder / "config.jsonc"]
    yield


def check_text(data: bytes) -> None:
    """load_config on a file holding ``data``: a dict or a ConfigError, nothing else."""
    file = TEXT_FILE[0]
    file.write_bytes(data)
    try:
        config = load_config(file)
    except ConfigError as e:
        assert e.problems
        str(e)
        return
    assert isinstance(config, dict)
