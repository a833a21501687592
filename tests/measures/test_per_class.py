"""Per-class accuracy: exact values on known predictions; classes absent from a partition are
omitted; on digits the forgotten class falls to 0 for the gold model."""
import pytest

import erasure.measures.per_class  # noqa: F401  (registers PerClassAccuracy)
from erasure.config import ConfigError
from erasure.measures.per_class import PerClassAccuracy
from erasure.plan import prepare
from tests.helpers import accuracy, digits_config
from tests.measures.hand_models import Shift, context, known_data
from tests.unlearners import fixtures as fx

#            forget                test
PREDICTED = [0, 1, 2, 3, 0, 0] + [3, 3]
LABELS = [0, 1, 2, 0, 0, 1] + [3, 2]


def known():
    data = known_data(PREDICTED, LABELS, {"forget": [0, 1, 2, 3, 4, 5], "test": [6, 7]})
    return context(data, {"original": Shift(0), "unlearned": Shift(1)})


def test_per_class_accuracy_by_hand():
    got = PerClassAccuracy(partition=["forget", "test"]).measure(known())
    assert got == {
        # Shift(0): class 0 right at 2 of its 3 samples, class 1 at 1 of 2, class 2 at 1 of 1
        "class_accuracy.forget.original.0": 2 / 3, "class_accuracy.forget.original.1": 0.5,
        "class_accuracy.forget.original.2": 1.0,
        "class_accuracy.test.original.2": 0.0, "class_accuracy.test.original.3": 1.0,
        # Shift(1) predicts p + 1: [1, 2, 3, 0, 1, 1] and [0, 0]
        "class_accuracy.forget.unlearned.0": 1 / 3, "class_accuracy.forget.unlearned.1": 0.5,
        "class_accuracy.forget.unlearned.2": 0.0,
        "class_accuracy.test.unlearned.2": 0.0, "class_accuracy.test.unlearned.3": 0.0,
    }
    # class 3 has no sample in the forget set, classes 0 and 1 none in test: no key, not 0 or nan


def test_bad_parameters_are_config_errors():
    with pytest.raises(ConfigError, match="unknown partition 'tests'"):
        prepare(digits_config("class", [{"class": "Identity"}],
                              [{"class": "PerClassAccuracy", "parameters": {"partition": ["forget", "tests"]}}]))
    with pytest.raises(ConfigError, match="target"):
        prepare(digits_config("class", [{"class": "Identity"}],
                              [{"class": "PerClassAccuracy", "parameters": {"target": ["unlearnt"]}}]))


def test_per_class_accuracy_on_digits_class_forgetting():
    session = fx.session("class", [{"class": "Identity"}],
                         [{"class": "PerClassAccuracy", "parameters": {"partition": ["forget", "test"]}}])
    gold = session.unlearn(1)["metrics"]  # GoldModel
    forget_keys = sorted(k for k in gold if k.startswith("class_accuracy.forget."))
    # the forget set holds only 3s
    assert forget_keys == ["class_accuracy.forget.original.3", "class_accuracy.forget.unlearned.3"]
    assert gold["class_accuracy.forget.unlearned.3"] == 0.0
    assert gold["class_accuracy.forget.original.3"] == 1.0
    # on test, every class has samples; the gold model never predicts a 3 (measured 0.0), while the
    # other classes keep the original's level (measured 0.92–1.0)
    assert len([k for k in gold if k.startswith("class_accuracy.test.unlearned.")]) == 10
    assert gold["class_accuracy.test.unlearned.3"] == 0.0
    assert min(gold[f"class_accuracy.test.unlearned.{c}"] for c in range(10) if c != 3) > 0.85
    # the per-class numbers average back to the accuracy, weighted by class counts
    data = session.data
    test_labels = data.y[data["test"]]
    weighted = sum(gold[f"class_accuracy.test.unlearned.{c}"] * (test_labels == c).sum().item()
                   for c in range(10)) / len(test_labels)
    assert weighted == pytest.approx(accuracy(session.golds["retain"], data, "test"), abs=1e-6)
