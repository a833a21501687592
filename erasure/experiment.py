"""The pipeline, one seed of a plan: load data → train the original (and gold models) → each
unlearner on its own copy → its measures → a record.

A :class:`Session` runs those stages for a :class:`~erasure.plan.Plan` (what
:func:`erasure.plan.prepare` built from a config) and one seed; :func:`erasure.runner.run` drives
one session per seed and writes the results document. Trained models come from and go to the
model cache (:mod:`erasure.cache`) under a key of everything that determines them.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from erasure.cache import ModelCache, cache_folder, cache_key
from erasure.curves import Curve
from erasure.data import Data
from erasure.data.graph import Graph
from erasure.logs import log_failure, user_errors
from erasure.measures import Evaluator, MeasureContext, Memos, OutputStore
from erasure.models import acceleration
from erasure.models.graph import use_graph
from erasure.plan import Globals, Plan, check_data, config_path, resolve_device
from erasure.profiling import peak_memory
from erasure.seeding import derive_seed, generator, seeded
from erasure.unlearners import Unlearner, UnlearningContext
from erasure.unlearners.base import seed_config

log = logging.getLogger(__name__)

#: ``keep(model, record, timings, memory)``: takes a finished record's unlearned model (and may
#: add keys to the record), e.g. to save it — :meth:`Session.unlearn_with`
Keep = Callable[[nn.Module, dict[str, Any], dict[str, float], dict[str, float]], None]


def not_finite(model: nn.Module) -> list[str]:
    """The names of ``model``'s floating-point parameters and buffers holding NaN or infinity."""
    tensors = [*model.named_parameters(), *model.named_buffers()]
    return [n for n, t in tensors if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Whether ``a`` and ``b`` compute the same function, tensor for tensor: the same module
    types in the same places, and every parameter and buffer equal in dtype, shape, layout
    (strides: an NHWC copy may round differently) and value."""
    if [type(m) for m in a.modules()] != [type(m) for m in b.modules()]:
        return False
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        x.dtype == y.dtype and x.shape == y.shape and x.stride() == y.stride()
        and x.device == y.device and torch.equal(x, y) for x, y in zip(sa.values(), sb.values()))


def _digest(ids: torch.Tensor) -> str:
    """A digest of a set of sample ids (a partition, the samples deleted from a graph)."""
    return hashlib.sha256(ids.cpu().numpy().tobytes()).hexdigest()


def cache_location(plan: Plan) -> Path | None:
    """The folder of ``plan``'s model cache (:func:`erasure.cache.cache_folder`), None when
    ``globals.cache`` is off."""
    settings = plan.settings
    if not settings.cache:
        return None
    chosen = config_path(plan.config_file, settings.cache_dir) if settings.cache_dir else None
    return cache_folder(config=chosen)


class Session:
    """One run of a plan with one seed, stage by stage: :meth:`load_data`, :meth:`train_models`,
    then :meth:`unlearn` per unlearner. :func:`erasure.runner.run` drives one per seed and writes
    results; tests drive it directly.

    Args:
        plan: what to run (:func:`erasure.plan.prepare`).
        seed: drives every random choice of this run (splits, initialisation, batch order,
            attacks); the runner passes each of ``globals.seeds`` (else ``globals.seed``) in turn.
        device: where to run (default: ``globals.device``).

    Attributes:
        data: the loaded data (after :meth:`load_data`).
        original: the trained original (or the predictor's checkpoint loaded), frozen: no
            unlearner ever touches it.
        golds: the retrained gold model per retain partition, shared by every user.
        timings: this run's seconds per stage (a model from the cache: its loading).
        trained_seconds: what training the original and each gold model took (cached or not);
            runtime measures report these.
    """

    def __init__(self, plan: Plan, seed: int, device: torch.device | str | None = None) -> None:
        self.plan = plan
        self.seed = seed
        self.device = torch.device(device) if device else resolve_device(plan.settings.device)
        if plan.settings.threads:
            torch.set_num_threads(plan.settings.threads)
        #: hardware settings in force for every stage (compile dropped where it cannot work)
        self.acceleration = acceleration.resolve(acceleration.Acceleration(
            precision=plan.settings.precision,
            channels_last=acceleration.channels_last_for(plan.settings.channels_last, self.device),
            compile=plan.settings.compile), self.device)
        #: the recipe every network of this session is built from: the plan's predictor carrying
        #: the hardware settings (also the unlearners' and measures' ``ctx.predictor``)
        self.predictor = plan.predictor.accelerated(self.acceleration)
        self.timings: dict[str, float] = {}
        #: seconds the original and each gold model took to train (when first trained, for a
        #: model from the cache; ``timings`` holds this run's seconds, loading included)
        self.trained_seconds: dict[str, float] = {}
        self.data: Data | None = None
        self.original: nn.Module | None = None
        self.golds: dict[str, nn.Module] = {}
        #: graphs after deleting samples, by the deleted ids (shared by the models that use one)
        self._graphs: dict[str, Graph] = {}
        self._original_outputs: OutputStore | None = None
        self._gold_outputs: dict[str, OutputStore] = {}
        self._shared: dict[str, Any] = {}
        #: the keys of the shared objects built so far, in order (each is built once)
        self.shared_builds: list[str] = []
        #: how many times each model was trained (the original and each gold model: once)
        self.trainings: dict[str, int] = {}
        folder = cache_location(plan)
        self.cache = ModelCache(folder) if folder is not None else None
        #: per model ("original", "gold.retain"): its source ("trained", "cache" or
        #: "checkpoint", with the path and sha256), whether it came from the cache, its key
        self.models: dict[str, dict[str, Any]] = {}
        self._data_fingerprint: str | None = None
        #: for a session made by :meth:`on_partitions`: the session it stands in for, and the
        #: prefix of its models' names and cache keys
        self.parent: Session | None = None
        self.stream: tuple[str, ...] = ()

    def load_data(self) -> Data:
        """Loads the data and checks it against the unlearners (before any training)."""
        tick = time.perf_counter()
        # taken before reading: a file edited while loading then misses the cache next time
        self._data_fingerprint = self.plan.data.fingerprint()
        self.data = self._read_data()
        self.timings["load_data"] = time.perf_counter() - tick
        check_data(self.plan, self.data)
        log.info("data: %s on %s", self.data.sizes(), self.device)
        return self.data

    def _read_data(self) -> Data:
        """The samples and partitions on the device, laid out for the hardware settings."""
        return acceleration.prepare_data(self.plan.data.load(self.seed, self.device),
                                         self.acceleration)

    def train_models(self, given: Mapping[str, Mapping[str, torch.Tensor]] | None = None
                     ) -> None:
        """Trains the original (or loads it from the predictor's checkpoint, first, so that a
        checkpoint that does not fit the network stops the run before any training) and every
        gold model an unlearner needs, each from its own seeded stream — or takes the weights
        ``given`` for a model, by its name (``original``, ``gold.<partition>``: models a run
        saved, :mod:`erasure.evaluate`). Given weights must fit the network
        (``load_state_dict``, strict); their seconds are not known here."""
        given = given or {}

        def obtain(label: str, partition: str, stream: tuple) -> nn.Module:
            name = ".".join(stream)
            if name not in given:
                return self._train(label, partition, stream)
            tick = time.perf_counter()
            model = self._loaded(partition, stream, given[name])
            self.timings[label] = time.perf_counter() - tick
            self.models[name] = {"saved": True, "source": "saved", "seconds": self.timings[label]}
            log.info("%s on '%s': from the saved model", label, partition)
            return model

        if self.plan.checkpoint is not None and "original" not in given:
            self.original = self._load_original()
        else:
            self.original = obtain("train_original", self.predictor.training_set, ("original",))
        for partition in self.plan.gold_partitions:
            key = "retrain" if len(self.plan.gold_partitions) == 1 else f"retrain.{partition}"
            self.golds[partition] = obtain(key, partition, ("gold", partition))
        self._reset_outputs()

    def _reset_outputs(self) -> None:
        self._original_outputs = OutputStore(self.original, self.data)
        self._gold_outputs = {p: OutputStore(m, self.data) for p, m in self.golds.items()}

    def shared(self, key: str, build: Callable[[], Any]) -> Any:
        """The experiment-wide object for ``key``, built once from a stream seeded by the key."""
        if key not in self._shared:
            with seeded(self.seed, "shared", key):
                self._shared[key] = build()
            self.shared_builds.append(key)
        return self._shared[key]

    def fork(self, plan: Plan) -> "Session":
        """A session that reuses this one's loaded data and trained models (read-only) under
        another plan — other unlearners or measures over the same data, predictor and seed —
        with its own store of shared objects."""
        other = copy.copy(self)
        other.plan, other.predictor = plan, plan.predictor.accelerated(self.acceleration)
        other._shared, other.shared_builds = {}, []
        return other

    def on_partitions(self, partitions: dict[str, torch.Tensor], stream: tuple[str, ...]
                      ) -> "Session":
        """A session over the same samples with only ``partitions`` (tuning's stand-in
        experiment: :mod:`erasure.tuning`), without models yet: :meth:`train_world` trains them,
        as ``stream``-prefixed models with their own cache keys, reusing this session's models
        wherever their training partition holds the same samples."""
        other = copy.copy(self)
        other.data = self.data.with_partitions(partitions)
        other.parent, other.stream = self, stream
        other.timings, other.trained_seconds, other.models, other.trainings = {}, {}, {}, {}
        other.original, other.golds, other._graphs = None, {}, {}
        other._shared, other.shared_builds = {}, []
        return other

    def train_world(self, gold_partitions: list[str], gold_stream: tuple[str, ...] = ()) -> None:
        """Trains the original and the gold models of ``gold_partitions`` of a session made by
        :meth:`on_partitions` (gold models under ``stream + gold_stream``). A model is reused
        from the parent session when it trained on the same samples, and built once for every
        stand-in that trains one on the same samples under the same name.

        With the predictor's checkpoint, the stand-in's original is the checkpoint's when the
        training partition holds the same samples; otherwise (validation data set aside from
        the training data, which the checkpoint has seen) it is trained from scratch with the
        recipe on the stand-in's training data."""
        parent = self.parent

        def same(partition: str) -> bool:
            return torch.equal(self.data[partition], parent.data[partition])

        def train(label: str, partition: str, stream: tuple) -> nn.Module:
            samples = _digest(self.data[partition])
            return parent.shared(json.dumps(["stand-in model", stream, samples]),
                                 lambda: self._train(label, partition, stream))

        training = self.predictor.training_set
        if not same(training) and self.plan.checkpoint is not None:
            log.info("tuning: the checkpoint's original has seen the stand-in's validation "
                     "data, so the stand-in's original is trained from scratch")
        self.original = parent.original if same(training) else train(
            "tune_original", training, (*self.stream, "original"))
        for partition in gold_partitions:
            if partition in parent.golds and same(partition):
                self.golds[partition] = parent.golds[partition]
            else:
                self.golds[partition] = train(".".join(("tune_retrain", *gold_stream, partition)),
                                              partition,
                                              (*self.stream, *gold_stream, "gold", partition))
        self._reset_outputs()

    def _load_original(self) -> nn.Module:
        """The original from the plan's checkpoint (:mod:`erasure.models.checkpoint`), never
        stored in the model cache: its seconds are the loading's (``timings["load_original"]``)
        and it has no training seconds, so ``runtime.train_original`` is not reported."""
        checkpoint = self.plan.checkpoint
        tick = time.perf_counter()
        with seeded(self.seed, "init", "original"):  # the network's other tensors, if any
            model = self.predictor.new_model(
                self.data, self._training_graph(self.predictor.training_set), checkpoint)
        self.timings["load_original"] = seconds = time.perf_counter() - tick
        log.info("original: from the checkpoint %s (sha256 %s)", checkpoint.path,
                 checkpoint.sha256[:12])
        self.models["original"] = {"cached": False, "key": self._cache_key(
            self.predictor.training_set, ("original",)), "seconds": seconds,
            "trained_seconds": None, "source": "checkpoint", "checkpoint": str(checkpoint.path),
            "sha256": checkpoint.sha256}
        return model.eval().requires_grad_(False)

    def _new_model(self, partition: str, stream: tuple) -> nn.Module:
        """An untrained network for ``partition``, initialised from its own seeded stream."""
        with seeded(self.seed, "init", *stream):
            return self.predictor.new_model(self.data, self._training_graph(partition))

    def _train(self, label: str, partition: str, stream: tuple) -> nn.Module:
        model = self._new_model(partition, stream)
        key = self._cache_key(partition, stream)
        with self.cache.lock(key) if self.cache else contextlib.nullcontext():
            return self._train_or_load(model, label, partition, stream, key)

    def _train_or_load(self, model: nn.Module, label: str, partition: str, stream: tuple,
                       key: str) -> nn.Module:
        name = ".".join(stream)
        tick = time.perf_counter()
        cached = self.cache.load(key, model) if self.cache else None
        if cached is not None:
            log.info("%s on '%s': from the cache (%s)", label, partition, key[:12])
            self.timings[label] = time.perf_counter() - tick  # this run's cost: the loading
            self.trained_seconds[label] = cached["seconds"]
        else:
            log.info("training %s on '%s'", label, partition)
            tick = time.perf_counter()
            with seeded(self.seed, "fit", *stream):
                self.predictor.train(model, self.data, partition,
                                     generator(self.seed, "batches", *stream), label=label)
            self.timings[label] = self.trained_seconds[label] = time.perf_counter() - tick
            self.trainings[label] = self.trainings.get(label, 0) + 1
            if self.cache:
                self.cache.store(key, model, {"seconds": self.timings[label], "model": name,
                                              "partition": partition, "seed": self.seed})
        self.models[name] = {"cached": cached is not None, "key": key,
                             "seconds": self.timings[label],
                             "trained_seconds": self.trained_seconds[label],
                             "source": "trained" if cached is None else "cache"}
        return model.eval().requires_grad_(False)

    def trained(self) -> dict[str, Any]:
        """What :meth:`train_models` produced, as plain data another process can take over with
        :meth:`adopt` (a Ray task: :mod:`erasure.execution`): the weights on the CPU, the
        seconds and the models' cache entries."""
        def weights(model: nn.Module) -> dict[str, torch.Tensor]:
            return {k: v.detach().cpu() for k, v in model.state_dict().items()}

        return {"original": weights(self.original),
                "golds": {p: weights(m) for p, m in self.golds.items()},
                "timings": dict(self.timings), "trained_seconds": dict(self.trained_seconds),
                "models": copy.deepcopy(self.models)}

    def adopt(self, trained: dict[str, Any]) -> None:
        """Takes over the models another session trained (:meth:`trained`), in place of
        :meth:`train_models`: the same networks, bit for bit, without training."""
        load = self._loaded
        self.original = load(self.predictor.training_set, ("original",), trained["original"])
        self.golds = {p: load(p, ("gold", p), w) for p, w in trained["golds"].items()}
        self.timings.update(trained["timings"])
        self.trained_seconds.update(trained["trained_seconds"])
        self.models.update(copy.deepcopy(trained["models"]))
        self._reset_outputs()

    def _loaded(self, partition: str, stream: tuple, weights: Mapping[str, torch.Tensor]
                ) -> nn.Module:
        """A frozen network for ``partition`` holding ``weights`` (strict: every tensor, the
        same shapes)."""
        model = self._new_model(partition, stream)
        model.load_state_dict(weights, strict=True)
        return model.eval().requires_grad_(False)

    def restore(self, weights: Mapping[str, torch.Tensor], forget: str | None = None
                ) -> nn.Module:
        """A network holding the saved ``weights`` of an unlearned model, as :meth:`unlearn`
        hands it to the measures: built and laid out like the original, trainable, in eval
        mode, and for graph data serving on the graph without ``forget``'s nodes.

        Raises:
            RuntimeError: the weights do not fit the predictor's network.
        """
        model = self._loaded(self.predictor.training_set, ("original",), weights)
        if self.data.graph is not None and forget is not None:
            use_graph(model, self._graph_without(self.data[forget]))
        return model.requires_grad_(True)

    def _cache_key(self, partition: str, stream: tuple) -> str:
        """Everything that determines a trained model (and nothing that does not).

        The predictor's ``checkpoint`` path is never part of it: the original loaded from a
        checkpoint is keyed by the file's SHA-256 instead (moving the file changes nothing,
        editing it changes the key), and every model trained by the recipe — the gold models, a
        tuning stand-in's original — does not depend on the checkpoint at all, so it shares its
        key (and cache entry) with the same recipe without one."""
        resolved = self.plan.resolved
        settings = {k: v for k, v in resolved.get("globals", {}).items()
                    if k not in Globals.NOT_TRAINING and k != "device"}
        predictor = resolved.get("predictor")
        if isinstance(predictor, dict) and isinstance(predictor.get("parameters"), dict):
            parameters = {k: v for k, v in predictor["parameters"].items() if k != "checkpoint"}
            predictor = {**predictor, "parameters": parameters}
        key = {"data": resolved.get("data"), "files": self._data_fingerprint,
               "predictor": predictor,
               "globals": settings, "device": self.device.type, "seed": self.seed,
               "partition": partition, "model": list(stream)}
        if self.parent is not None:  # a stand-in partition: named like the real one, other samples
            key["samples"] = _digest(self.data[partition])
        if stream == ("original",) and self.plan.checkpoint is not None:
            key["checkpoint"] = self.plan.checkpoint.sha256
        return cache_key(key)

    def _training_graph(self, partition: str) -> Graph | None:
        """For graph data, the graph a model trained on ``partition`` may see: the whole graph
        without the training samples left out of ``partition`` (the gold model trained on the
        retain set never sees a forgotten node through message passing)."""
        if self.data.graph is None:
            return None
        training = self.data[self.predictor.training_set]
        return self._graph_without(training[~torch.isin(training, self.data[partition])])

    def _graph_without(self, removed: torch.Tensor) -> Graph:
        key = _digest(removed)
        if key not in self._graphs:
            self._graphs[key] = self.data.graph.without(removed)
        return self._graphs[key]

    def _gold_copy(self, partition: str) -> nn.Module:
        # trainable, like the copy of the original every unlearner gets (a later cascade step
        # may train it); the shared gold model itself stays frozen
        return copy.deepcopy(self.golds[partition]).requires_grad_(True)

    def unlearn(self, index: int, unlearner: Unlearner | None = None, *,
                keep: Keep | None = None) -> dict[str, Any]:
        """Runs unlearner ``index`` (or ``unlearner`` in its place: the tuned one) on its own copy
        of the original and measures the result (``keep``: see :meth:`unlearn_with`).

        Returns:
            The record: name, resolved config, status (``finished``/``failed``), error, metrics
            and failed measures.
        """
        return self.unlearn_with(unlearner or self.plan.unlearners[index], self.plan.names[index],
                                 keep=keep)

    def unlearn_with(self, unlearner: Unlearner, name: str, *,
                     report: Callable[[nn.Module], None] | None = None,
                     evaluator: Evaluator | None = None, curve: bool = True,
                     keep: Keep | None = None) -> dict[str, Any]:
        """Runs ``unlearner`` on its own copy of the original and measures the result with
        ``evaluator`` (default: the plan's) — :meth:`unlearn`, and each tuning trial
        (:mod:`erasure.tuning`, which passes ``report``: ``ctx.report`` of the unlearner, and
        ``curve=False``). With ``curve`` and the unlearner's ``evaluate_every``, the record gets
        its ``curve`` (:mod:`erasure.curves`), whose evaluation time ``runtime.unlearn`` leaves
        out. A finished record's model is handed to ``keep(model, record, timings, memory)``
        after the measures (the runner's units save it there: ``globals.save_models``)."""
        record: dict[str, Any] = {"name": name, "config": unlearner.config, "status": "finished",
                                  "error": None, "metrics": {}, "failed_measures": {},
                                  "not_applicable": {}}
        # the stream depends on what the unlearner is, never on its position in the list, nor on
        # whether a curve is recorded
        useed = derive_seed(self.seed, "unlearner",
                            json.dumps(seed_config(unlearner.config), sort_keys=True))
        model = copy.deepcopy(self.original).requires_grad_(True)
        if self.data.graph is not None:
            # the deletion request removes the forgotten nodes' edges from the graph the
            # unlearned model serves on, as for the gold model; the weights are the unlearner's job
            use_graph(model, self._graph_without(self.data[unlearner.ref_data_forget]))
        points = self._curve(unlearner, name, useed) if curve else None
        if points is not None:
            points.start(model)
            report = points.chained(report)
        ctx = UnlearningContext(data=self.data, predictor=self.predictor,
                                generator=generator(useed), seed=useed,
                                gold=self._gold_copy, report=report)
        log.info("unlearner %s", name)
        versions = self.data.versions()
        tick = time.perf_counter()
        try:
            with peak_memory(self.device) as memory, seeded(useed):
                unlearned = unlearner.unlearn(model, ctx)
        except user_errors() as e:  # recorded, never fatal: the other unlearners still run
            record.update(status="failed", error=log_failure(log, f"unlearner {name}", e))
            unlearned = None
        elapsed = time.perf_counter() - tick
        if points is not None:
            elapsed -= points.seconds
            record["curve"] = points.as_record()
        if self.data.versions() != versions:
            # its numbers cannot be trusted, and the records after it must not see the damage
            record.update(status="failed", error="the unlearner modified the shared data in place "
                                                 "(ctx.data); the data was reloaded for the rest")
            log.warning("unlearner %s modified the shared data; reloading it", name)
            self.data = self._read_data()
            self._graphs.clear()
            self._reset_outputs()
        if record["status"] == "failed":
            return record
        if not isinstance(unlearned, nn.Module):
            record.update(status="failed", error=f"unlearn() returned {type(unlearned).__name__}, "
                                                 "not a torch.nn.Module")
            return record
        broken = not_finite(unlearned)
        if broken:
            record.update(status="failed", error=f"the weights are not finite (NaN or infinite) "
                                                 f"in {', '.join(broken[:3])}"
                                                 f"{' …' if len(broken) > 3 else ''}")
            log.warning("unlearner %s failed: %s", name, record["error"])
            return record
        unlearned.eval()
        # what training the models cost, cached or not, so that runtime measures (RTE's
        # t_unlearn / t_retrain) do not depend on the cache
        timings = {**self.trained_seconds, "unlearn": elapsed}
        record["metrics"], record["failed_measures"], record["not_applicable"] = \
            self.measure(name, unlearned, timings=timings, memory=memory, evaluator=evaluator)
        if keep is not None:
            keep(unlearned, record, timings, dict(memory))
        return record

    def measure(self, name: str, unlearned: nn.Module, *, timings: dict[str, float],
                memory: dict[str, float], evaluator: Evaluator | None = None
                ) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
        """Applies ``evaluator``'s measures (default: the plan's) to record ``name``'s
        ``unlearned`` model (in eval mode), beside this session's original and gold models;
        ``timings`` and ``memory`` are what its unlearning cost. Returns ``(metrics,
        failed_measures, not_applicable)``."""
        return (evaluator or self.plan.evaluator).evaluate(
            self._measure_context(unlearned, timings, memory), name)

    def _measure_context(self, unlearned: nn.Module, timings: dict[str, float],
                         memory: dict[str, float]) -> MeasureContext:
        """What the measures of a record see, ``unlearned`` as its unlearned model (its outputs
        computed afresh: an :class:`OutputStore` keeps a model's outputs) — unless it has the
        weights of the original or of a gold model (Identity, GoldModel, an unlearner that left
        the model as it was: :func:`same_weights`), whose outputs and shared values it then
        reads (``MeasureContext.same_as``), computed once for the experiment (ARCHITECTURE.md,
        rule 4). Not on graph data: there the unlearned model serves on the graph without the
        forgotten nodes."""
        same_as, outputs = None, OutputStore(unlearned, self.data)
        if self.data.graph is None:
            candidates = [("original", self.original, self._original_outputs),
                          *((f"gold/{p}", m, self._gold_outputs[p]) for p, m in self.golds.items())]
            for name, model, store in candidates:
                if same_weights(unlearned, model):
                    same_as, outputs = name, store
                    break
        return MeasureContext(
            data=self.data, models={"original": self.original, "unlearned": unlearned},
            outputs={"original": self._original_outputs, "unlearned": outputs},
            same_as=same_as,
            golds=self.golds, gold_outputs=self._gold_outputs, timings=timings,
            memory=memory, predictor=self.predictor, experiment_seed=self.seed,
            memos=Memos(experiment=self.shared))

    def _curve(self, unlearner: Unlearner, name: str, seed: int) -> Curve | None:
        """The curve of ``unlearner``'s record when it asks for one (``evaluate_every``): the
        plan's measures it names, on the model at each point (no timings, no memory)."""
        every = getattr(unlearner, "evaluate_every", None)
        if every is None:
            return None
        chosen = set(unlearner.curve_measures)
        evaluator = Evaluator(measures=[m for m in self.plan.evaluator.measures
                                        if type(m).__name__ in chosen])

        def evaluate(model: nn.Module) -> tuple[dict[str, Any], dict[str, str]]:
            metrics, failed, _ = evaluator.evaluate(self._measure_context(model, {}, {}),
                                                    f"{name} (curve)")
            return metrics, failed
        return Curve(every, evaluate, seed)
