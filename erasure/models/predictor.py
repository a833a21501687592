"""The predictor: how the original model (and the retrained gold model) is built and trained."""
from __future__ import annotations

import copy
import inspect
from dataclasses import field
from typing import Optional

import torch
from torch import nn

from erasure import progress
from erasure.config import BatchSize, Component, ConfigError, Epochs, PartitionName, spec
from erasure.data import Data
from erasure.data.graph import Graph

from .acceleration import OFF, Acceleration, ChannelsLastError, prepare_model
from .checkpoint import Checkpoint, load_weights
from .training import (
    LossFactory,
    NetworkFactory,
    OptimizerFactory,
    SchedulerFactory,
    fit,
)


class Predictor(Component):
    """A training recipe: network, optimizer, loss, epochs, batch size and training partition.

    The same recipe trains the original on ``training_set`` and the gold model on the retain set.
    Training batches are shuffled from the caller's seeded generator; the last, smaller batch is
    kept (no sample is silently dropped). Every network it builds is prepared with its
    :attr:`acceleration` (off unless set through :meth:`accelerated`).

    Args:
        model: the network (``MLP``, ``SmallCNN`` or any ``torch.nn.Module`` by dotted path).
        optimizer: e.g. ``{"class": "Adam", "parameters": {"lr": 0.001}}``.
        loss_fn: e.g. ``{"class": "CrossEntropyLoss"}``.
        scheduler: optional learning-rate scheduler, stepped once per epoch.
        epochs: passes over the training set.
        batch_size: training batch size.
        training_set: the partition the original is trained on.
        checkpoint: trained weights of ``model`` to use as the original instead of training it:
            a safetensors file or a state dict saved with ``torch.save``, relative to the config
            file (:mod:`erasure.models.checkpoint`; read by :func:`erasure.plan.prepare`). The
            gold models are still trained with this recipe.
    """

    kind_name = "predictor"

    model: NetworkFactory = spec("erasure.models.networks.MLP")
    optimizer: OptimizerFactory = spec("torch.optim.Adam", lr=1e-3)
    loss_fn: LossFactory = spec("torch.nn.CrossEntropyLoss")
    scheduler: SchedulerFactory = None
    epochs: Epochs = 20
    batch_size: BatchSize = 64
    training_set: PartitionName = "train"
    checkpoint: Optional[str] = None
    #: the hardware settings every network it builds is prepared with: the machine's, not the
    #: recipe's, so no constructor argument and not in the config (see :meth:`accelerated`)
    acceleration: Acceleration = field(default=OFF, init=False, repr=False, compare=False)

    def accelerated(self, settings: Acceleration) -> "Predictor":
        """This recipe, building its networks with ``settings`` (bf16, channels-last, compile:
        :mod:`erasure.models.acceleration`): a shallow copy with the same config and factories.
        ``self`` is left as it is — a plan's predictor is shared by all its sessions."""
        other = copy.copy(self)
        other.acceleration = settings
        return other

    def new_model(self, data: Data, graph: Graph | None = None,
                  weights: Checkpoint | None = None) -> nn.Module:
        """A freshly initialised network for ``data`` (seed the global RNG first), on its device,
        prepared with this recipe's :attr:`acceleration` (bf16, channels-last, compile, by
        :func:`~erasure.models.acceleration.prepare_model`; untouched when they are off).

        Args:
            graph: for graph data, the graph the network works on (default: the whole graph).
            weights: a checkpoint loaded into the network before it is prepared (so that the
                names match whatever the preparation wraps).

        Raises:
            ConfigError: the network cannot take the data's samples or does not give one logit
                per class — both sizes are in the message; graph data with a network that takes
                no graph; ``globals.channels_last: true`` and the network fails on NHWC inputs;
                ``weights`` whose tensors are not the network's (names or shapes).
        """
        accepted = inspect.signature(self.model.cls).parameters
        derived = {"input_shape": data.input_shape, "num_classes": data.num_classes}
        if data.vocab_size is not None:  # token ids: a text network's vocabulary and padding
            derived.update(vocab_size=data.vocab_size, pad_id=data.pad_id)
        if data.graph is not None:
            if "graph" not in accepted:
                raise ConfigError.single(
                    "predictor.parameters.model",
                    f"the data is a graph, but {self.model.cls.__name__} takes no graph",
                    "Use a graph network such as GCN.")
            derived["graph"] = graph if graph is not None else data.graph
        # a null left in the config (as a resolved config writes the defaults) is derived too
        runtime = {k: v for k, v in derived.items()
                   if k in accepted and self.model.kwargs.get(k) is None}
        try:
            model = self.model(**runtime).to(data.device)
        except Exception as e:
            raise ConfigError.single("predictor.parameters.model", f"cannot build the network: {e}") from e
        self._check_shapes(model, data)
        if weights is not None:
            load_weights(model, weights)
        try:
            return prepare_model(model, self.acceleration, data.x[:8])
        except ChannelsLastError as e:
            raise ConfigError.single(
                "globals.channels_last", str(e),
                "A .view() of a convolution's output needs NCHW memory: use .reshape() or "
                ".flatten(1) in the network, or set channels_last to \"auto\" (NHWC only where "
                "it works) or false.") from e

    def _check_shapes(self, model: nn.Module, data: Data) -> None:
        probe = data.x[:2].contiguous()  # NCHW images: channels-last is checked on its own
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                out = model(probe)
        except Exception as e:
            raise ConfigError.single(
                "predictor.parameters.model",
                f"the network cannot take the data: samples have shape {data.input_shape} "
                f"({int(probe[0].numel())} values) — {type(e).__name__}: {e}") from e
        finally:
            model.train(was_training)
        if out.ndim != 2 or out.shape[1] != data.num_classes:
            raise ConfigError.single(
                "predictor.parameters.model",
                f"the network gives outputs of shape {tuple(out.shape[1:])} per sample, but the "
                f"data has {data.num_classes} classes")

    def train(self, model: nn.Module, data: Data, partition: str,
              generator: torch.Generator, label: str = "training") -> list[float]:
        """Trains ``model`` in place on ``partition`` with this recipe.

        Returns:
            The mean loss of each epoch.
        """
        optimizer = self.optimizer(model.parameters())
        scheduler = self.scheduler(optimizer=optimizer) if self.scheduler else None
        with progress.bar(total=self.epochs, desc=f"{label} on '{partition}'") as epochs:
            def advance(epoch: int, loss: float) -> None:
                epochs.update(1)
                epochs.set_postfix_str(f"loss {loss:.4f}")

            return fit(model, lambda: data.batches(partition, self.batch_size, shuffle=True,
                                                   generator=generator),
                       optimizer, self.loss_fn(), self.epochs, scheduler, on_epoch=advance)
