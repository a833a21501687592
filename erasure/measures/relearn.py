"""Relearn time and AIN: how quickly fine-tuning on the forget set brings its accuracy back."""
from __future__ import annotations

import copy
import json
import math
from functools import partial
from itertools import islice
from typing import Iterator

import torch
from torch import nn

from erasure.config import BatchSize, PartitionName, Steps, spec
from erasure.data import Data
from erasure.models import Diverged, OptimizerFactory, check_finite, fit
from erasure.seeding import derive_seed, seeded
from erasure.seeding import generator as make_generator

from .base import Measure, MeasureContext, NotApplicable, Outputs, Targets, as_list


def correct(outputs: Outputs) -> int:
    return int((outputs.predictions == outputs.labels).sum())


def correct_bounds(model: nn.Module, data: Data, index: torch.Tensor, needed: float
                   ) -> tuple[int, int, torch.Tensor]:
    """``(low, high, wrong)``: bounds on how many of the samples ``index`` the model classifies
    correctly, exact (``low == high``) unless counting stopped early because even ``high`` — the
    hits so far plus every sample not yet run — is below ``needed`` (``needed`` ≤ 0 always counts
    everything); and the samples found wrong.

    Samples run in ``index`` order, in inference mode, in chunks sized by :func:`next_chunk`
    (never more than the evaluation batch size) — except on graph data, where a graph network's
    every forward pass propagates over the whole graph (or collection of graphs) whatever the
    chunk, so each chunk is as large as the evaluation batch size allows.

    Raises:
        Diverged: the model's outputs on a chunk are NaN or infinite (its predictions would be
            meaningless)."""
    model.eval()
    largest = data.eval_batch_size
    whole_graph = data.graph is not None
    hits, left, start, wrong = 0, len(index), 0, []
    with torch.inference_mode():
        while left and hits + left >= needed:
            size = (largest if whole_graph
                    else next_chunk(start, start - hits, hits, left, needed, largest))
            chunk = index[start:start + size]
            logits = model(data.x[chunk])
            if not bool(torch.isfinite(logits).all()):
                raise Diverged("outputs are no longer finite")
            right = logits.argmax(1) == data.y[chunk]
            hits += int(right.sum())
            wrong.append(chunk[~right])
            left -= len(chunk)
            start += len(chunk)
    return hits, hits + left, torch.cat(wrong) if wrong else index[:0]


def next_chunk(counted: int, misses: int, hits: int, left: int, needed: float,
               largest: int) -> int:
    """How many more samples :func:`correct_bounds` runs, having ``counted`` samples so far (of
    which ``misses`` wrong, ``hits`` right) with ``left`` to go, for the goal ``needed``.

    The goal is out of reach after k = ⌊hits + left − needed⌋ + 1 more misses (15 of 288 for
    RelearnTime's default goal of 0.95 × 288, one for AIN's α = 0.001). The samples the last
    count found wrong lead, so: first ⌈1.5·k⌉ samples, the half again covering the few that
    turned right since, so that one forward usually decides; then as many as the miss rate seen
    so far needs to bring k more misses, ⌈k · counted / misses⌉; and everything left when no
    sample counted so far was wrong (the model is then likely at the goal, which takes every
    sample to confirm). Between 1 and ``largest``; ``largest`` when every sample is to be
    counted (``needed`` ≤ 0). The first chunk's 1.5·k was chosen by timing it against k, 2·k and
    doubling chunks (bench/README.md, "Timings behind choices in the code")."""
    if needed <= 0:
        return largest
    k = math.floor(hits + left - needed) + 1
    if counted == 0:
        size = math.ceil(1.5 * k)
    elif misses == 0:
        size = left
    else:
        size = math.ceil(k * counted / misses)
    return max(1, min(size, largest))


def endless_batches(data: Data, partition: str, batch_size: int, generator: torch.Generator
                    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled passes over ``partition``, one after another, drawn from ``generator``."""
    while True:
        yield from data.batches(partition, batch_size, shuffle=True, generator=generator)


class Relearning:
    """Fine-tuning a copy of a model on ``partition``, one optimizer step at a time, answering
    "how many steps until at least N samples of the partition are classified correctly" — for
    every N from one run (RelearnTime and AIN with other α share it), resuming where it stopped
    when a higher N is asked later.

    After each step it keeps bounds on the correct count rather than the count: counting stops
    as soon as the goal asked is out of reach (:func:`correct_bounds`), which on a model that
    forgot is after the first few samples instead of the whole partition — the sooner as the
    samples the last count found wrong are counted first (one step rarely changes many
    predictions), in chunks sized to the misses that would rule the goal out
    (:func:`next_chunk`), with the same answers as counting every sample after every step (the
    samples counted either way: bench/README.md, "Timings behind choices in the code"). A later,
    lower goal that the bounds cannot decide at some step replays the run from the start — the
    same batches, RNG and arithmetic, so the same weights at every step — and counts that step
    again, for that goal. The answer is always the exact first step whose count reaches the
    goal.

    Args:
        model: left untouched (a deep copy is trained, created only when a step is needed).
        optimizer: factory taking the copy's parameters.
        loss_fn: ``loss_fn(logits, labels)``.
        seed: the batch order and the global RNG (dropout) derive from it, so two models relearn
            on the very same batches; the RNG state is kept between resumed steps.
        start: the model's correct count before any step, when already known (saves a forward).
    """

    def __init__(self, model: nn.Module, data: Data, partition: str, optimizer, loss_fn,
                 batch_size: int, max_steps: int, seed: int, start: int | None = None) -> None:
        self.model, self.data, self.partition = model, data, partition
        self.optimizer, self.loss_fn = optimizer, loss_fn
        self.batch_size, self.max_steps, self.seed = batch_size, max_steps, seed
        #: the partition, the samples last found wrong first
        self._order = data[partition]
        first = self._count(model, 0)[0] if start is None else start
        #: bounds on the correct count before any step (index 0) and after each step taken
        self.low, self.high = [first], [first]
        self._student: nn.Module | None = None
        self._taken = 0  # steps the student has taken
        #: times the run was replayed from the start to decide a step for a lower goal
        self.replays = 0
        #: ``(step, message)`` once a step diverged: every later goal that needs that step fails
        #: with the same message (the run is shared; its student is no longer usable)
        self.diverged: tuple[int, str] | None = None

    def steps_to(self, needed: float) -> tuple[int, bool]:
        """``(steps, capped)``: the steps until at least ``needed`` samples are correct (0 when
        the model already is there), or ``(max_steps, True)`` when the bound ran out first.

        Raises:
            Diverged: the relearning loss, or the outputs counted after a step (a finite loss can
                take a step to NaN weights), became NaN or infinite —
                the same error, at the same step, for every goal that needs that step (a goal
                reached before it is still answered).
        """
        step = 0
        while step <= self.max_steps:
            if step == len(self.low) or self.low[step] < needed <= self.high[step]:
                self._count_at(step, needed)  # a new step, or one the bounds cannot decide
                continue
            if self.low[step] >= needed:
                return step, False
            step += 1
        return self.max_steps, True

    def _count_at(self, step: int, needed: float) -> None:
        """Brings the student to ``step`` (training on, or replaying from the start when it is
        already past it) and bounds its correct count there for the goal ``needed``."""
        if self.diverged is not None and step >= self.diverged[0]:
            raise Diverged(self.diverged[1])
        if self._student is None or self._taken > step:
            self._restart()
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self._rng)
            try:
                self._train_to(step)
            finally:
                self._rng = torch.get_rng_state()
        try:
            low, high = self._count(self._student, needed)
        except Diverged as e:  # a step whose loss was finite left NaN or infinite weights
            self.diverged = (step, f"{e} while relearning, at step {step}")
            raise Diverged(self.diverged[1]) from None
        if step == len(self.low):
            self.low.append(low)
            self.high.append(high)
        else:
            self.low[step], self.high[step] = low, high

    def _count(self, model: nn.Module, needed: float) -> tuple[int, int]:
        low, high, wrong = correct_bounds(model, self.data, self._order, needed)
        self._order = torch.cat([wrong, self._order[~torch.isin(self._order, wrong)]])
        return low, high

    def _restart(self) -> None:
        if self._student is not None:
            self.replays += 1
        self._student = copy.deepcopy(self.model).requires_grad_(True)
        self._opt = self.optimizer(self._student.parameters())
        self._batches = endless_batches(self.data, self.partition, self.batch_size,
                                        make_generator(self.seed, "relearn batches"))
        with seeded(self.seed, "relearn"):
            self._rng = torch.get_rng_state()
        self._taken = 0

    def _train_to(self, step: int) -> None:
        """Trains the student on until it has taken ``step`` steps (in the global RNG as it is)."""
        if self._taken < step:
            fit(self._student, partial(islice, self._batches, step - self._taken), self._opt,
                self.loss_fn, on_step=self._took)

    def _took(self, _: int, loss: torch.Tensor) -> None:
        self._taken += 1
        try:
            check_finite(loss, f"while relearning, at step {self._taken}")
        except Diverged as e:
            self.diverged = (self._taken, str(e))
            raise


class _Relearning(Measure):
    """The relearning recipe shared by :class:`RelearnTime` and :class:`AIN`."""

    abstract = True

    partition: PartitionName = "forget"
    target: Targets = "unlearned"
    optimizer: OptimizerFactory = spec("torch.optim.SGD", lr=0.01)
    batch_size: BatchSize = 32
    max_steps: Steps = 200
    alpha: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha < 1.0:
            raise ValueError(f"alpha must lie in [0, 1), got {self.alpha}")

    def needed(self, ctx: MeasureContext) -> float:
        """(1 − α) × the original's number of correct forget samples."""
        return (1.0 - self.alpha) * correct(ctx.output("original", self.partition))

    def recipe(self) -> str:
        """The relearning recipe (α aside: one run answers every goal): measures with the same
        recipe relearn on the same stream, and share the run."""
        return json.dumps([self.partition, self.optimizer.config, self.batch_size,
                           self.max_steps], sort_keys=True, default=str)

    def relearning(self, ctx: MeasureContext, model: nn.Module, start: int) -> Relearning:
        loss_fn = ctx.predictor.loss_fn() if ctx.predictor is not None else nn.CrossEntropyLoss()
        seed = derive_seed(ctx.experiment_seed, "relearn", self.recipe())
        return Relearning(model, ctx.data, self.partition, self.optimizer, loss_fn,
                          self.batch_size, self.max_steps, seed, start)

    def target_steps(self, ctx: MeasureContext, target: str, needed: float) -> tuple[int, bool]:
        """The relearn time of ``target``. The run is shared by every measure of the record with
        this recipe (RelearnTime and AIN), and the original's by every record."""
        def build() -> Relearning:
            return self.relearning(ctx, ctx.models[target], self.start(ctx, target))

        run = ctx.memo(f"relearn/{self.recipe()}", build, model=target, private=False)
        return run.steps_to(needed)

    def gold_steps(self, ctx: MeasureContext, retain: str, needed: float) -> tuple[int, bool]:
        """The relearn time of the gold model retrained on ``retain`` (one run per experiment)."""
        run = ctx.memo(f"relearn/{self.recipe()}",
                       lambda: self.relearning(ctx, ctx.golds[retain],
                                               correct(ctx.gold_output(retain, self.partition))),
                       model=f"gold/{retain}", private=False)
        return run.steps_to(needed)

    def start(self, ctx: MeasureContext, target: str) -> int:
        return correct(ctx.output(target, self.partition))


class RelearnTime(_Relearning):
    """Relearn time: optimizer steps of fine-tuning on D_f until the forget accuracy returns to
    (1 − α) × the original model's forget accuracy.

    A model that truly forgot (like the model retrained without D_f) needs many steps; one that
    only hides what it knows relearns in a few. Used as "relearn time" by Golatkar et al.
    ("Eternal Sunshine of the Spotless Net", CVPR 2020) and, with α, as the ingredient of AIN
    (Chundawat, Tarun, Mandal, Kankanhalli, "Zero-Shot Machine Unlearning", IEEE TIFS 2023).

    The recipe is small and fixed so that numbers compare across unlearners: a deep copy of the
    target (never the model itself) is trained with ``optimizer`` on shuffled mini-batches of D_f
    (``batch_size``, cycling through D_f), with the predictor's loss; after every step the forget
    set's correct count is taken (in chunks, stopping as soon as the goal is out of reach — see
    :class:`Relearning`; the answer is the same as counting all of it). The batch
    order is the recipe's own seeded stream, the same for every record and target, so the count
    is deterministic — and a RelearnTime and an AIN with the same recipe share one relearning run
    per record. A target that
    already reaches the accuracy scores 0 (the original always does).

    Args:
        partition: the forget set D_f (relearnt on and evaluated).
        target: ``unlearned`` (default), ``original`` or both.
        optimizer: the relearning optimizer (default SGD, lr 0.01, no momentum).
        batch_size: relearning batch size (default 32).
        max_steps: the bound on steps (default 200).
        alpha: tolerance α: the goal is (1 − α) × the original's forget accuracy (default 0.05).

    Keys: ``relearn_steps.<partition>.<target>`` (steps; ``max_steps`` when the goal was not
    reached) and ``relearn_steps.<partition>.<target>.capped`` (1.0 when the bound was hit, so the
    steps are only a lower bound; else 0.0). Ideal: close to the gold model's relearn time; higher
    means more thoroughly forgotten.
    """

    name = "relearn_steps"

    def measure(self, ctx):
        needed = self.needed(ctx)
        out = {}
        for target in as_list(self.target):
            steps, capped = self.target_steps(ctx, target, needed)
            key = f"relearn_steps.{self.partition}.{target}"
            out[key] = float(steps)
            out[f"{key}.capped"] = float(capped)
        return out


class AIN(_Relearning):
    """Anamnesis index, AIN (Chundawat, Tarun, Mandal, Kankanhalli, "Zero-Shot Machine
    Unlearning", IEEE TIFS 2023).

    AIN = rt(unlearned, original, α) / rt(gold, original, α), where rt(M, original, α) is the
    number of relearning steps M needs on D_f to reach (1 − α) × the original's forget accuracy
    (see :class:`RelearnTime` for the recipe) and gold is the model retrained on ``retain``. The
    gold model's relearn time is computed once per experiment (``ctx.memo``), on the same batch
    stream as every target's; the unlearned model's is the one :class:`RelearnTime` reads when
    both measures have the same recipe.

    About 1 is ideal: the unlearned model relearns as slowly as one that never saw D_f. Far below
    1 means the forgotten knowledge was only hidden and comes back quickly; above 1 means the
    model was damaged more than retraining would (the paper reads both as poor unlearning).

    AIN is meant for class (or sub-class) forgetting. When the gold model already reaches the goal
    without relearning (random forgetting: it generalises to D_f), its relearn time is 0 and AIN
    is undefined: the measure then says it does not apply.

    Args:
        partition: the forget set D_f.
        retain: the partition the gold model is retrained on (trained by the pipeline, once).
        target: ``unlearned`` (default), ``original`` or both.
        optimizer, batch_size, max_steps, alpha: the relearning recipe, as in
            :class:`RelearnTime` (defaults SGD lr 0.01, 32, 200, 0.05).

    Keys: ``ain.<partition>.<target>`` and ``ain.<partition>.<target>.capped`` (1.0 when either
    relearning run hit ``max_steps``: the ratio is then only a bound; else 0.0).
    """

    name = "ain"
    retain: PartitionName = "retain"

    def gold_partitions(self):
        return [self.retain]

    def measure(self, ctx):
        needed = self.needed(ctx)
        gold_steps, gold_capped = self.gold_steps(ctx, self.retain, needed)
        if gold_steps == 0:
            raise NotApplicable(
                f"the gold model retrained on '{self.retain}' already reaches (1 - alpha) x the "
                f"original's accuracy on '{self.partition}' without relearning (0 steps), so AIN "
                "is undefined; it is meant for class forgetting")
        out = {}
        for target in as_list(self.target):
            steps, capped = self.target_steps(ctx, target, needed)
            key = f"ain.{self.partition}.{target}"
            out[key] = steps / gold_steps
            out[f"{key}.capped"] = float(capped or gold_capped)
        return out
