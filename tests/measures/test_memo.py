"""MeasureContext.memo: a value of the original or a gold model (or of no model) is computed once
per experiment, one of the unlearned model once per record; private to one measure, or shared by
every measure asking for the same key."""
from collections import Counter

import pytest
import torch

from erasure.measures import Measure
from tests.unlearners import fixtures as fx

#: ``(tag, model)`` of every value a :class:`MemoProbe` computed, in order.
CALLS: list[tuple[str, str | None]] = []
#: ``None``: a value of no model (an attacker's sample, shadow models).
MODELS = ("original", "gold/retain", "unlearned", None)


class MemoProbe(Measure):
    """For each model of :data:`MODELS`: its forget accuracy and one draw of the global RNG,
    memoised under the key ``probe``; every computation is logged in :data:`CALLS`."""

    name = "probe"
    tag: str = "a"
    private: bool = True

    def gold_partitions(self):
        return ["retain"]

    def measure(self, ctx):
        accuracy = {"original": lambda: ctx.output("original", "forget").accuracy,
                    "unlearned": lambda: ctx.output("unlearned", "forget").accuracy,
                    "gold/retain": lambda: ctx.gold_output("retain", "forget").accuracy,
                    None: lambda: -1.0}
        out = {}
        for model in MODELS:
            def compute(model=model):
                CALLS.append((self.tag, model))
                return accuracy[model](), torch.rand(()).item()

            value, draw = ctx.memo("probe", compute, model=model, private=self.private)
            label = model.replace("/", "_") if model else "none"
            out[f"probe_{self.tag}.{label}.accuracy"] = value
            out[f"probe_{self.tag}.{label}.draw"] = draw
        return out


def probe(tag: str, private: bool) -> dict:
    return {"class": "tests.measures.test_memo.MemoProbe",
            "parameters": {"tag": tag, "private": private}}


def records(private: bool) -> list[dict[str, float]]:
    """Two probes (tags a and b) on the Identity, NegGrad and GoldModel records of class
    forgetting on digits; :data:`CALLS` holds what they computed."""
    session = fx.session("class", [{"class": "Identity"}, {"class": "NegGrad"}],
                         [probe("a", private), probe("b", private)])
    CALLS.clear()
    done = [session.unlearn(i) for i in range(3)]
    assert all(r["status"] == "finished" and not r["failed_measures"] for r in done)
    return [r["metrics"] for r in done]


def column(metrics: list[dict[str, float]], key: str) -> list[float]:
    return [m[key] for m in metrics]


def test_private_values_once_per_experiment_and_the_unlearned_ones_per_record():
    identity, neggrad, gold = metrics = records(private=True)

    # each probe computed its own original, gold and model-free values once for the three
    # records, and its unlearned value once in each record
    assert Counter(CALLS) == {(tag, model): 3 if model == "unlearned" else 1
                              for tag in "ab" for model in MODELS}
    for tag in "ab":
        for label in ("original", "gold_retain", "none"):
            for part in ("accuracy", "draw"):
                assert len(set(column(metrics, f"probe_{tag}.{label}.{part}"))) == 1
    # the unlearned values are each record's own: Identity's model is the original, GoldModel's
    # the gold model (it never saw a 3), NegGrad's neither
    assert identity["probe_a.unlearned.accuracy"] == identity["probe_a.original.accuracy"] > 0.9
    assert gold["probe_a.unlearned.accuracy"] == gold["probe_a.gold_retain.accuracy"] == 0.0
    assert neggrad["probe_a.unlearned.accuracy"] != identity["probe_a.unlearned.accuracy"]
    # every value is computed with the global RNG seeded from its key: the same draw in every
    # record, whatever ran before; another measure's private key, another draw
    assert len(set(column(metrics, "probe_a.unlearned.draw"))) == 1
    for label in ("original", "gold_retain", "unlearned", "none"):
        assert identity[f"probe_a.{label}.draw"] != identity[f"probe_b.{label}.draw"]


def test_shared_values_are_computed_once_for_every_measure_asking():
    identity, neggrad, gold = metrics = records(private=False)

    # one computation for both probes: probe a asks first, probe b reads its value; Identity's
    # and GoldModel's unlearned models have the original's and the gold model's weights, so
    # they read those models' values (MeasureContext.same_as): NegGrad's is the one computed
    assert Counter(CALLS) == {("a", "original"): 1, ("a", "gold/retain"): 1, ("a", None): 1,
                              ("a", "unlearned"): 1}
    for record, label in ((identity, "original"), (gold, "gold_retain")):
        for part in ("accuracy", "draw"):
            assert record[f"probe_a.unlearned.{part}"] == record[f"probe_a.{label}.{part}"]
    for record in metrics:
        for label in ("original", "gold_retain", "unlearned", "none"):
            for part in ("accuracy", "draw"):
                assert record[f"probe_a.{label}.{part}"] == record[f"probe_b.{label}.{part}"]
    assert neggrad["probe_b.unlearned.accuracy"] != gold["probe_b.unlearned.accuracy"]


def test_a_context_built_by_hand_keeps_only_the_records_shared_values():
    """By hand there is no experiment (and every measure has seed 0): experiment values are
    computed on each call, shared values of the unlearned model once."""
    ctx = fx.measure_context(fx.tiny_data(torch.eye(2), torch.tensor([0, 1]), {"forget": [0, 1]}),
                             {"original": torch.nn.Identity(), "unlearned": torch.nn.Identity()})
    calls = Counter()

    def compute(model, private):
        calls[model, private] += 1
        return ctx.output(model, "forget").accuracy

    for _ in range(2):
        for model in ("original", "unlearned"):
            for private in (True, False):
                assert ctx.memo("k", lambda: compute(model, private), model=model,
                                private=private) == 1.0
    assert calls == {("original", True): 2, ("original", False): 2,
                     ("unlearned", True): 2, ("unlearned", False): 1}


def test_an_unknown_model_is_an_error_rather_than_a_value_kept_for_the_experiment():
    ctx = fx.measure_context(fx.tiny_data(torch.eye(2), torch.tensor([0, 1]), {"forget": [0, 1]}),
                             {"unlearned": torch.nn.Identity()})
    with pytest.raises(ValueError) as raised:
        ctx.memo("k", lambda: 1.0, model="unlearnd")
    assert "expected 'unlearned', 'original', 'gold/<retain>' or None" in str(raised.value)
