"""ZRF (Zero Retrain Forgetting): how random the target's outputs on the forget set look."""
from __future__ import annotations

from erasure.config import PartitionName

from .base import Measure, NotApplicable, Outputs, OutputStore, Targets, as_list
from .gold_distance import js_divergence, log_probabilities

#: ``ctx.memo`` key of the random reference network (one per experiment).
RANDOM_NETWORK = "zrf/random-network"


def random_network_outputs(ctx, partition: str) -> Outputs:
    """Outputs on ``partition`` of a randomly initialised network of the predictor's architecture:
    the network is built once per experiment (``ctx.memo``, seeded from its key) and its
    outputs on each partition are computed once too."""
    if ctx.predictor is None:
        raise NotApplicable("ZRF needs the predictor to build a randomly initialised network")
    network = ctx.memo(RANDOM_NETWORK,
                       lambda: ctx.predictor.new_model(ctx.data).eval().requires_grad_(False),
                       private=False)
    return ctx.memo(f"{RANDOM_NETWORK}/outputs/{partition}",
                    lambda: OutputStore(network, ctx.data)(partition), private=False)


class ZRF(Measure):
    """Zero Retrain Forgetting score, from Chundawat, Tarun, Mandal, Kankanhalli, "Can Bad
    Teaching Induce Forgetting? Unlearning in Deep Networks Using an Incompetent Teacher",
    AAAI 2023:

        ZRF = 1 − (1 / |D_f|) Σ_{x ∈ D_f} JS(target(x) ‖ random(x)),

    where target(x) and random(x) are the softmax output distributions of the model and of a
    randomly initialised network of the same architecture (the incompetent teacher), and JS is
    the Jensen–Shannon divergence in bits (log base 2), so ZRF lies in [0, 1]. It needs no
    retrained model. The random network is built once per experiment (``ctx.memo``, from the
    experiment's seed) and its outputs computed once, whatever the number of records or measures.

    Reading it: 1 means the model answers the forget set like a random network; a trained model
    that still knows D_f scores low. Read it against the gold model's record rather than against
    1: the retrained model is not random on D_f either (its scores on digits:
    guide/method-notes.md).

    JS is taken in bits so that ZRF spans [0, 1]; with natural logarithms, as some public
    implementations take them, the same models score ZRF_e = 1 − ln 2 · (1 − ZRF) (never below
    1 − ln 2 ≈ 0.31).

    Args:
        partition: the forget partition (D_f).
        target: ``original``, ``unlearned`` or both.

    Keys: ``zrf.<partition>.<target>``. In [0, 1].
    """

    name = "zrf"
    partition: PartitionName = "forget"
    target: Targets = ("original", "unlearned")

    def measure(self, ctx):
        log_random = log_probabilities(random_network_outputs(ctx, self.partition).logits)
        out = {}
        for target in as_list(self.target):
            log_target = log_probabilities(ctx.output(target, self.partition).logits)
            out[f"zrf.{self.partition}.{target}"] = \
                1.0 - js_divergence(log_target, log_random).mean().item()
        return out
