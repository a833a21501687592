"""Chapter 3: tests for your own unlearners. From the repository root:

    python -m pytest -q guide/examples/test_my_unlearners.py

They load ``unlearner.jsonc``, train its original and gold model once (or take them from the
model cache) and run one unlearner through the real pipeline, as ``python main.py`` does.
"""
from functools import cache
from pathlib import Path

import pytest

from erasure import ConfigError, Session, load_config, prepare

CONFIG = Path(__file__).with_name("unlearner.jsonc")


@cache
def trained_session():
    """The data loaded and the original and gold models trained, once for all the tests."""
    plan = prepare(load_config(CONFIG), config_file=CONFIG)  # validates; imports my_unlearners
    session = Session(plan, seed=0)
    session.load_data()
    session.train_models()
    return session


def run(name):
    """The record of the unlearner called ``name`` in the config: its status and metrics."""
    session = trained_session()
    record = session.unlearn(session.plan.names.index(name))
    assert record["status"] == "finished", record["error"]
    return record["metrics"]


def test_noisy_finetuning_forgets_part_of_the_class_and_repairs_the_rest():
    m = run("NoisyFinetuning")
    assert m["accuracy.forget.original"] > 0.95     # the original knows the 3s
    assert m["accuracy.forget.unlearned"] < 0.9     # noise then repair forgets part of them
    assert m["accuracy.retain.unlearned"] > 0.95    # and the other digits are repaired


def test_gradient_difference_moves_toward_the_gold_model():
    m, gold = run("GradientDifference"), run("GoldModel")
    assert m["accuracy.forget.unlearned"] <= gold["accuracy.forget.unlearned"] + 0.1
    assert m["accuracy.retain.unlearned"] >= gold["accuracy.retain.unlearned"] - 0.05


def test_add_noise_alone_does_not_forget():
    m = run("AddNoise")
    # noise hurts the retain set as much as the forget set: that is not unlearning
    assert m["accuracy.forget.unlearned"] > m["accuracy.retain.unlearned"] - 0.05


def test_bad_values_are_config_errors_at_their_parameters():
    config = load_config(CONFIG)
    config["unlearners"][3]["parameters"]["sigma"] = -1  # breaks Range(ge=0)
    config["unlearners"][4]["parameters"]["forget_weight"] = 2  # refused by __post_init__
    with pytest.raises(ConfigError) as e:
        prepare(config, config_file=CONFIG)
    found = {p.path: p.message for p in e.value.problems}
    assert found == {
        "unlearners[3].parameters.sigma": "NoisyFinetuning: sigma must be at least 0, got -1.0",
        "unlearners[4].parameters.forget_weight":
            "GradientDifference: forget_weight must be below 1 (the ascent would outweigh the "
            "descent), got 2.0",
    }
