"""Identity: the "no unlearning" row — the original, untouched."""
from erasure.unlearners import Identity
from tests.helpers import accuracy
from tests.unlearners import fixtures as fx

PARTITIONS = ("forget", "retain", "test")


def test_identity_keeps_the_original_bit_for_bit():
    session = fx.session("class", [{"class": "Identity"}])
    record, model = fx.unlearn(session, 0)

    assert model is not session.original  # its own copy, never the original itself
    assert fx.same_weights(model, session.original)
    for partition in PARTITIONS:
        unlearned = record["metrics"][f"accuracy.{partition}.unlearned"]
        assert unlearned == record["metrics"][f"accuracy.{partition}.original"]
        assert unlearned == accuracy(session.original, session.data, partition)
    # the original has learnt the class to forget: there is something to unlearn
    assert record["metrics"]["accuracy.forget.original"] == 1.0
    assert record["metrics"]["accuracy.retain.original"] >= 0.97


def test_identity_returns_the_model_it_is_given():
    model = object()
    assert Identity().unlearn(model, None) is model
    assert Identity().gold_partitions() == []
