"""Accuracy per partition and target: exact values on a model whose predictions are known."""
import pytest
import torch
from torch import nn

from erasure.config import ConfigError
from erasure.measures import Accuracy
from erasure.plan import prepare
from tests.helpers import accuracy, digits_config
from tests.unlearners import fixtures as fx

CLASSES = 4


class Shift(nn.Module):
    """Logits are the inputs rolled by ``shift`` classes: x = one-hot(p) predicts p + shift."""

    def __init__(self, shift):
        super().__init__()
        self.shift = shift

    def forward(self, x):
        return torch.roll(x, self.shift, dims=1)


def known_predictions():
    # the inputs one-hot encode what the identity model predicts
    predicted = torch.tensor([0, 1, 2, 3, 1, 1, 2, 0])
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 3, 1])
    #                      ok ok ok no ok no no no   (for Shift(0))
    # Shift(1) predicts   1  2  3  0  2  2  3  1  -> ok at positions 3, 5, 6, 7
    x = torch.nn.functional.one_hot(predicted, CLASSES).float()
    data = fx.tiny_data(x, labels, {"forget": [0, 1, 2, 3], "retain": [4, 5], "test": [6, 7]},
                        eval_batch_size=3)
    return fx.measure_context(data, {"unlearned": Shift(0), "original": Shift(1)})


def test_accuracy_is_exact_on_known_predictions():
    ctx = known_predictions()
    got = Accuracy(partition=["forget", "retain", "test"], target=["original", "unlearned"]).measure(ctx)
    assert got == {
        "accuracy.forget.unlearned": 0.75, "accuracy.retain.unlearned": 0.5,
        "accuracy.test.unlearned": 0.0,
        "accuracy.forget.original": 0.25, "accuracy.retain.original": 0.5,
        "accuracy.test.original": 1.0,
    }


def test_accuracy_accepts_a_single_partition_and_target():
    ctx = known_predictions()
    assert Accuracy(partition="forget", target="unlearned").measure(ctx) == {
        "accuracy.forget.unlearned": 0.75}
    assert Accuracy(partition="test", target="original").measure(ctx) == {
        "accuracy.test.original": 1.0}
    # only the partition asked for was evaluated, for the target asked for
    assert ctx.outputs["unlearned"].computed == 1
    assert ctx.outputs["original"].computed == 1


def test_accuracy_on_an_unknown_partition_is_a_config_error():
    config = digits_config("class", [{"class": "Identity"}],
                           [{"class": "Accuracy", "parameters": {"partition": ["forget", "tset"]}}])
    with pytest.raises(ConfigError, match="unknown partition 'tset'") as error:
        prepare(config)
    assert "test" in str(error.value)  # the did-you-mean


def test_accuracy_on_digits_matches_a_direct_count():
    session = fx.session("class", [{"class": "Identity"}])
    record, _ = fx.unlearn(session, 1)  # GoldModel
    m = record["metrics"]
    gold, original = session.golds["retain"], session.original
    for partition in ("forget", "retain", "test"):
        assert m[f"accuracy.{partition}.unlearned"] == pytest.approx(
            accuracy(gold, session.data, partition), abs=1e-6)
        assert m[f"accuracy.{partition}.original"] == pytest.approx(
            accuracy(original, session.data, partition), abs=1e-6)
    assert m["accuracy.forget.unlearned"] == 0.0 and m["accuracy.forget.original"] == 1.0
    # test accuracy of the gold model is 1 - (share of 3s it misses) at best: 37 of 359 are 3s
    assert m["accuracy.test.unlearned"] <= 1 - 37 / 359 + 1e-6
