"""Using the hardware well: bf16 mixed precision, channels-last memory format, ``torch.compile``.

These are settings of the machine, not of the recipe, so they live in the config's ``globals``
(``precision``, ``channels_last``, ``compile``). The session makes them :func:`active` while it
trains and evaluates; :meth:`Predictor.new_model <erasure.models.Predictor.new_model>` then
passes every network it builds (the original, the gold models, shadow models, random reference
networks, fresh layers) through :func:`prepare_model`. Deep copies of a prepared network (the
unlearners' copies of the original, teachers, relearning students) stay prepared, so every
training loop — :func:`~erasure.models.fit` and the unlearners' own — and every evaluation runs
with the same settings, without code of their own.

With every option off nothing is changed: the networks are the very modules the recipe builds
and the numbers are bit-identical to a run without this module. By default only
``channels_last`` is on, and only on a CPU, where it changes nothing for networks without
convolutions.

- ``precision: "bf16"``: the network's forward pass runs under ``torch.autocast`` with bfloat16
  (matrix products and convolutions in bf16, reductions and norms in fp32), and its outputs are
  cast back to fp32 *after* the forward, so losses, gradients of the loss, and every measure see
  fp32 logits. Weights and optimizer states stay fp32 (mixed precision, no loss scaling needed
  with bf16's fp32-sized exponent). Fast on GPUs with bf16 units (Ampere and later); on CPUs
  without native bf16 it is usually slower than fp32 — it works there, for testing.
- ``channels_last: true``: networks with 4-D weights (convolutions) and 4-D image tensors of the
  data are stored NHWC, the layout tensor cores and oneDNN prefer. Networks without convolutions
  are left as they are. ``auto`` (the default) turns it on for a CPU only
  (:func:`channels_last_for`).
- ``compile: true``: the forward (and, through AOTAutograd, the backward) runs through
  ``torch.compile``. One compiled function serves every network of the experiment (the same
  architecture compiles once, not once per copy). Compiling needs a working toolchain (a C++
  compiler on CPU, Triton on GPU); it is checked once per process with a tiny network, and where
  it fails the run goes on uncompiled with a warning — it never stops a run. The
  per-sample gradients of Fisher and SSD always run the forward eagerly (inside ``torch.func``
  transforms, and in their closed form, whose layer hooks would split a compiled graph); the
  ``torch.func`` ones also in fp32 (:func:`full_precision`).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import types
import warnings
from dataclasses import dataclass, replace
from typing import Any, Iterator, Literal, Optional

import torch
from torch import nn

log = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16"]
PRECISIONS = ("fp32", "bf16")

#: the backend ``torch.compile`` uses (tests replace it with one that fails)
BACKEND: Any = "inductor"

_ATTRIBUTE = "_erasure_acceleration"


@dataclass(frozen=True)
class Acceleration:
    """Hardware settings applied to every network of an experiment (see the module docstring).

    Args:
        precision: ``fp32`` (default) or ``bf16`` (autocast, fp32 outputs).
        channels_last: store convolution weights and image data NHWC.
        compile: run forward and backward through ``torch.compile``.
    """

    precision: Precision = "fp32"
    channels_last: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.precision!r}")

    @property
    def enabled(self) -> bool:
        """Whether any option is on (when none is, networks and data are left untouched)."""
        return self.precision != "fp32" or self.channels_last or self.compile

    @property
    def wraps_forward(self) -> bool:
        return self.precision != "fp32" or self.compile

    def describe(self) -> str:
        parts = [self.precision] + (["channels_last"] if self.channels_last else []) \
            + (["compile"] if self.compile else [])
        return "+".join(parts)


OFF = Acceleration()


def channels_last_for(setting: bool | str, device: torch.device | str) -> bool:
    """Whether ``globals.channels_last`` (``true``, ``false`` or ``"auto"``) stores CNNs NHWC on
    ``device``. ``auto`` is on for a CPU, where PyTorch's NHWC kernels (oneDNN) beat its NCHW
    ones — above all max-pooling. Measured on this project's 2-core machine (torch 2.14.1,
    median of 5; NHWC time ÷ NCHW time, 1 and 2 threads): SmallCNN training 0.77/0.90 on 8×8
    digits, 0.58/0.50 on 28×28, 0.57/0.67 on 3×32×32 images, evaluation 0.57–0.64 and
    0.25–0.64; ResNet-18 on 32×32 about even (training 0.97/0.96, evaluation 1.07/1.09). On
    GPUs ``auto`` is off: not measured there yet (NHWC pays most with bf16 on tensor cores —
    set it to ``true`` with ``precision: "bf16"``)."""
    if setting == "auto":
        return torch.device(device).type == "cpu"
    return bool(setting)

_active: contextvars.ContextVar[Acceleration] = contextvars.ContextVar("acceleration", default=OFF)


def active() -> Acceleration:
    """The settings in force (all off outside :func:`using`)."""
    return _active.get()


@contextlib.contextmanager
def using(settings: Acceleration | None) -> Iterator[Acceleration]:
    """Makes ``settings`` the active ones within the block (``None``: all off)."""
    token = _active.set(settings or OFF)
    try:
        yield settings or OFF
    finally:
        _active.reset(token)


_fp32_only: contextvars.ContextVar[bool] = contextvars.ContextVar("fp32_only", default=False)


@contextlib.contextmanager
def full_precision() -> Iterator[None]:
    """Within the block, prepared networks run their forward in fp32 whatever their
    ``precision`` (no bf16 autocast); compile and channels-last are unaffected. For computations
    bf16 autocast cannot run: the ``torch.func`` per-sample gradients of Fisher and SSD (batch
    norm under ``vmap`` and autocast gets bf16 inputs with fp32 weights and fails)."""
    token = _fp32_only.set(True)
    try:
        yield
    finally:
        _fp32_only.reset(token)


# -- compile availability ---------------------------------------------------------------------

#: why compiling does not work here, by device type ("" when it does); checked once per process
_compile_problems: dict[str, str] = {}


def compile_problem(device: torch.device | str) -> str:
    """Why ``torch.compile`` cannot be used on ``device`` ("" when it can).

    Compiles a tiny network's forward and backward once per device type and process (a few
    seconds with inductor) — a missing C++ compiler or Triton shows here rather than in the
    middle of a run, where a backward compiled lazily could not fall back.
    """
    kind = torch.device(device).type
    if kind not in _compile_problems:
        try:
            probe = nn.Linear(4, 2).to(kind)
            compiled = torch.compile(lambda m, x: m(x).sum(), backend=BACKEND, dynamic=False)
            compiled(probe, torch.ones(3, 4, device=kind)).backward()
            _compile_problems[kind] = ""
        except Exception as e:  # anything: a missing toolchain, an unsupported platform
            _compile_problems[kind] = _first_line(e)
    return _compile_problems[kind]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def reset() -> None:
    """Forgets what was learnt about compiling (the probe results, a failed compiled call, the
    compiled function): for tests and benchmarks that change :data:`BACKEND`."""
    global _compiled_run, _compile_failed
    _compile_problems.clear()
    _compiled_run, _compile_failed = None, ""


def _warn(message: str) -> None:
    log.warning("%s", message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def resolve(settings: Acceleration, device: torch.device | str) -> Acceleration:
    """The settings that can be honoured on ``device``: ``compile`` is dropped, with a warning,
    where compiling does not work (the run goes on uncompiled)."""
    if settings.compile:
        problem = compile_problem(device)
        if problem:
            _warn(f"torch.compile does not work on this machine ({problem}); "
                  "running without compile")
            return replace(settings, compile=False)
    return settings


# -- networks and data -------------------------------------------------------------------------

def _device_type(module: nn.Module, args: tuple) -> str:
    for value in args:
        if isinstance(value, torch.Tensor):
            return value.device.type
    for tensor in module.parameters():
        return tensor.device.type
    return "cpu"


def _run(module: nn.Module, *args, **kwargs):
    """The module's own ``forward`` under the module's precision setting."""
    settings: Acceleration = getattr(module, _ATTRIBUTE)
    if settings.precision == "bf16" and not _fp32_only.get():
        with torch.autocast(_device_type(module, args), dtype=torch.bfloat16):
            return type(module).forward(module, *args, **kwargs)
    return type(module).forward(module, *args, **kwargs)


_compiled_run = None
#: set when a compiled call failed: every network runs eagerly from then on
_compile_failed = ""


def _compiled():
    global _compiled_run
    if _compiled_run is None:
        _compiled_run = torch.compile(_run, backend=BACKEND)
    return _compiled_run


def _in_functorch_transform() -> bool:
    try:
        return torch._C._functorch.peek_interpreter_stack() is not None
    except Exception:  # an API that moved: be safe, run eagerly
        return True


def _to_fp32(value):
    if isinstance(value, torch.Tensor):
        return value.float() if value.dtype in (torch.bfloat16, torch.float16) else value
    if isinstance(value, tuple):
        return type(value)(*map(_to_fp32, value)) if hasattr(value, "_fields") \
            else tuple(map(_to_fp32, value))
    if isinstance(value, list):
        return [_to_fp32(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_fp32(v) for k, v in value.items()}
    return value


def _accelerated_forward(self: nn.Module, *args, **kwargs):
    """Installed as a prepared network's ``forward``: compiled or eager, then fp32 outputs."""
    global _compile_failed
    settings: Acceleration = getattr(self, _ATTRIBUTE)
    if settings.compile and not _compile_failed and not _in_functorch_transform():
        try:
            out = _compiled()(self, *args, **kwargs)
        except Exception as e:
            _compile_failed = _first_line(e)
            _warn(f"torch.compile failed on {type(self).__name__} ({_compile_failed}); "
                  "running without compile from now on")
            out = _run(self, *args, **kwargs)
    else:
        out = _run(self, *args, **kwargs)
    return _to_fp32(out)


def prepare_model(model: nn.Module, settings: Optional[Acceleration] = None) -> nn.Module:
    """Applies ``settings`` (default: the :func:`active` ones) to ``model`` in place.

    - channels-last: a network with 4-D weights is converted to ``torch.channels_last``;
    - bf16 or compile: the network's ``forward`` is replaced, on this instance only, by one that
      runs the class's ``forward`` compiled and/or under bf16 autocast and returns fp32 outputs.
      Parameters, buffers, state dicts and module names are unchanged; ``copy.deepcopy`` keeps
      the replacement (bound to the copy).

    With every option off the model is returned untouched. Preparing twice is harmless.

    Returns:
        ``model`` itself.
    """
    settings = active() if settings is None else settings
    if not settings.enabled:
        return model
    if settings.channels_last and any(t.ndim == 4 for t in model.parameters()):
        model.to(memory_format=torch.channels_last)
    if settings.wraps_forward:
        own = model.__dict__.get("forward")
        if own is not None and getattr(own, "__func__", None) is not _accelerated_forward:
            _warn(f"{type(model).__name__} has its own per-instance forward; "
                  f"{settings.describe()} is not applied to it")
            return model
        object.__setattr__(model, _ATTRIBUTE, settings)
        object.__setattr__(model, "forward", types.MethodType(_accelerated_forward, model))
    return model


def is_prepared(model: nn.Module) -> bool:
    """Whether :func:`prepare_model` replaced this network's forward."""
    return getattr(model.__dict__.get("forward"), "__func__", None) is _accelerated_forward


def prepare_data(data, settings: Optional[Acceleration] = None):
    """Applies ``settings`` to loaded data in place: with channels-last, 4-D (image) samples are
    stored NHWC once, so that batches gathered from them need no conversion. Returns ``data``."""
    settings = active() if settings is None else settings
    if settings.channels_last and getattr(data, "x", None) is not None and data.x.ndim == 4:
        data.x = data.x.contiguous(memory_format=torch.channels_last)
    return data
