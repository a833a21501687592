"""ToW (Zhao et al., NeurIPS 2024): ∏ over forget, retain, test of (1 − |acc − gold acc|)."""
import pytest

import erasure.measures.gold_distance  # noqa: F401  (registers OutputDivergence, WeightDistance by name)
from erasure.config import ConfigError
from erasure.measures import NotApplicable
from erasure.measures.tow import ToW
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import Shift, context, known_data
from tests.unlearners import fixtures as fx

#                 forget        retain        test
PREDICTED = [0, 1, 2, 3] + [1, 1, 2, 2] + [0, 1, 2, 3]
LABELS = [0, 1, 2, 0] + [1, 1, 2, 3] + [0, 1, 3, 1]
# Shift(0) (the gold model here): forget 3/4, retain 3/4, test 2/4
# Shift(1) predicts p + 1:        forget 1/4, retain 1/4, test 1/4
PARTITIONS = {"forget": [0, 1, 2, 3], "retain": [4, 5, 6, 7], "test": [8, 9, 10, 11]}


def test_tow_of_the_gold_model_against_itself_is_exactly_one():
    gold = Shift(0)
    ctx = context(known_data(PREDICTED, LABELS, PARTITIONS), {"original": Shift(1), "unlearned": gold},
                  gold=gold)
    assert ToW().measure(ctx)["tow.forget.unlearned"] == 1.0


def test_tow_is_the_product_of_the_three_accuracy_gaps():
    ctx = context(known_data(PREDICTED, LABELS, PARTITIONS),
                  {"original": Shift(0), "unlearned": Shift(1)}, gold=Shift(0))
    got = ToW().measure(ctx)
    # (1 − |1/4 − 3/4|) · (1 − |1/4 − 3/4|) · (1 − |1/4 − 2/4|) = 0.5 · 0.5 · 0.75
    assert got == {"tow.forget.unlearned": 0.1875, "tow.forget.original": 1.0}


def test_tow_reads_its_partitions_by_name():
    partitions = {"f": PARTITIONS["forget"], "r": PARTITIONS["retain"], "t": PARTITIONS["test"]}
    ctx = context(known_data(PREDICTED, LABELS, partitions), {"unlearned": Shift(1)},
                  gold=Shift(0), retain="r")
    measure = ToW(forget="f", retain="r", test="t", target="unlearned")
    assert measure.gold_partitions() == ["r"]
    assert measure.measure(ctx) == {"tow.f.unlearned": 0.1875}


def test_tow_without_a_gold_model_is_not_applicable():
    ctx = context(known_data(PREDICTED, LABELS, PARTITIONS), {"original": Shift(0), "unlearned": Shift(1)})
    with pytest.raises(NotApplicable, match="no gold model retrained on 'retain'"):
        ToW().measure(ctx)


def test_tow_asks_for_the_gold_model_and_rejects_unknown_partitions():
    plan = prepare(digits_config("class", [{"class": "Identity"}], [{"class": "ToW"}]))
    assert plan.gold_partitions == ["retain"]
    with pytest.raises(ConfigError, match="unknown partition 'tst'") as error:
        prepare(digits_config("class", [{"class": "Identity"}],
                              [{"class": "ToW", "parameters": {"test": "tst"}}]))
    assert "Did you mean 'test'" in str(error.value)
    with pytest.raises(ConfigError, match="target"):
        prepare(digits_config("class", [{"class": "Identity"}],
                              [{"class": "ToW", "parameters": {"target": "gold"}}]))


def test_tow_on_digits_class_forgetting():
    """Scenario A (digit 3 forgotten): the gold model scores exactly 1; the original keeps the
    forget accuracy the gold model lacks (1.0 vs 0.0), so its forget factor is 0."""
    session = fx.session("class", [{"class": "Identity"}],
                         [{"class": "ToW"}, {"class": "Accuracy"}, {"class": "OutputDivergence"},
                          {"class": "WeightDistance"}])
    identity = session.unlearn(0)["metrics"]
    gold = session.unlearn(1)["metrics"]  # GoldModel
    assert gold["tow.forget.unlearned"] == 1.0
    assert gold["l2_to_gold.retain.unlearned"] == 0.0
    assert gold["js_to_gold.forget.unlearned"] == 0.0
    assert gold["kl_to_gold.forget.unlearned"] == 0.0
    # the original: forget 1.0 vs 0.0 → ToW 0 (measured 0.0); test 0.98 vs 0.88
    assert identity["tow.forget.unlearned"] < 1.0
    assert identity["tow.forget.unlearned"] == pytest.approx(0.0, abs=1e-6)
    assert identity["tow.forget.unlearned"] == gold["tow.forget.original"]
    by_hand = 1.0
    for partition in ("forget", "retain", "test"):
        by_hand *= 1 - abs(identity[f"accuracy.{partition}.unlearned"] - gold[f"accuracy.{partition}.unlearned"])
    assert identity["tow.forget.unlearned"] == pytest.approx(by_hand, abs=1e-9)
    # the gold model is trained once, whatever the number of measures that compare with it
    assert session.plan.gold_partitions == ["retain"]
    assert session.trainings == {"train_original": 1, "retrain": 1}


def test_tow_on_digits_random_forgetting():
    """Scenario B (random 10%): the original is close to the gold model on all three partitions,
    so its ToW is high but below 1 (measured 0.965); the gold model's is exactly 1."""
    session = fx.session("random", [{"class": "Identity"}], [{"class": "ToW"}])
    identity = session.unlearn(0)["metrics"]
    gold = session.unlearn(1)["metrics"]
    assert gold["tow.forget.unlearned"] == 1.0
    assert 0.9 < identity["tow.forget.unlearned"] < 1.0
