"""Using the hardware well: bf16 mixed precision, channels-last memory format, ``torch.compile``.

These are settings of the machine, not of the recipe: the config's ``globals`` (``precision``,
``channels_last``, ``compile``) give them, and the session resolves them into one
:class:`Acceleration`. They travel explicitly, never through ambient state:

- networks: the session builds every network from ``plan.predictor.accelerated(settings)``, a
  copy of the :class:`~erasure.models.Predictor` carrying the settings, which is also the
  ``ctx.predictor`` of its unlearners and measures. :meth:`Predictor.new_model
  <erasure.models.Predictor.new_model>` passes each network it builds (the original, the gold
  models, shadow models, random reference networks, fresh layers) through :func:`prepare_model`,
  which stores the settings on that instance. Deep copies keep them (the unlearners' copies of
  the original, teachers, relearning students), so every training loop —
  :func:`~erasure.models.fit` and the unlearners' own — and every evaluation runs with them,
  without code of their own. A network built any other way runs as it is.
- data: the session passes the loaded data through :func:`prepare_data`.

Why a per-instance ``forward`` rather than code at the call sites or a wrapping module: networks
are called as ``model(x)`` by the framework's loops and by every user's unlearner, so casting or
compiling there would have to be remembered by each of them; a wrapping module would prefix every
state-dict key, breaking users' checkpoints and the model cache. Replacing ``forward`` on the
instance (:func:`prepare_model`) leaves parameters, buffers, module names and state dicts as they
are, and ``copy.deepcopy`` rebinds it to the copy. It reads the settings stored on its instance
only.

With every option off nothing is changed: the networks are the very modules the recipe builds
and the numbers are bit-identical to a run without this module. By default only
``channels_last`` is on, and only on a CPU, where it changes nothing for networks without
convolutions.

- ``precision: "bf16"``: the network's forward pass runs under ``torch.autocast`` with bfloat16
  (matrix products and convolutions in bf16, reductions and norms in fp32), and its outputs are
  cast back to fp32 *after* the forward, so losses, gradients of the loss, and every measure see
  fp32 logits. Weights and optimizer states stay fp32 (mixed precision, no loss scaling needed
  with bf16's fp32-sized exponent). Fast on GPUs with bf16 units (Ampere and later); on CPUs
  without native bf16 it is usually slower than fp32 (``bench/README.md``) — it works there, for
  testing.
- ``channels_last: true``: networks with 4-D weights (convolutions) and 4-D image tensors of the
  data are stored NHWC, the layout tensor cores and oneDNN prefer. Networks without convolutions
  are left as they are. A network that fails on NHWC inputs is a config error
  (``globals.channels_last``). ``auto`` (the default) is ``"checked"`` on a CPU and off elsewhere
  (:func:`channels_last_for`): the data stays NCHW and only networks known or checked to work
  with NHWC weights store them so (:func:`channels_last_problem`). A user's CNN that, say,
  flattens with ``.view`` gets NHWC weights with its last feature map handed back NCHW
  (:func:`hand_back`, one log line) where that passes the check, and keeps NCHW otherwise.
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
import logging
import types
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Literal, Optional, Union

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

log = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16"]
PRECISIONS = ("fp32", "bf16")
#: ``True``, ``False``, or ``"checked"``: NHWC weights only for networks known or checked to
#: work with them, data left NCHW (what ``globals.channels_last: "auto"`` means on a CPU)
ChannelsLast = Union[bool, Literal["checked"]]

#: A network class sets this (in its own body; subclasses do not inherit it) to ``True`` to skip
#: the check under ``"checked"``, to ``False`` to keep NCHW there
SAFE_ATTRIBUTE = "channels_last_safe"

#: the backend ``torch.compile`` uses (tests replace it with one that fails)
BACKEND: Any = "inductor"

_ATTRIBUTE = "_erasure_acceleration"


@dataclass(frozen=True)
class Acceleration:
    """Hardware settings applied to every network of an experiment (see the module docstring).

    Args:
        precision: ``fp32`` (default) or ``bf16`` (autocast, fp32 outputs).
        channels_last: ``True``: store convolution weights and image data NHWC;
            ``"checked"``: NHWC weights only where known or checked to be safe, data NCHW.
        compile: run forward and backward through ``torch.compile``.
    """

    precision: Precision = "fp32"
    channels_last: ChannelsLast = False
    compile: bool = False
    #: network classes whose NCHW fallback was logged (once per class and settings)
    reported: set = field(default_factory=set, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.precision!r}")
        if self.channels_last not in (True, False, "checked"):
            raise ValueError(f"channels_last must be true, false or 'checked', "
                             f"got {self.channels_last!r}")

    @property
    def enabled(self) -> bool:
        """Whether any option is on (when none is, networks and data are left untouched)."""
        return self.precision != "fp32" or self.channels_last or self.compile

    @property
    def wraps_forward(self) -> bool:
        return self.precision != "fp32" or self.compile

    def describe(self) -> str:
        layout = {True: ["channels_last"], "checked": ["channels_last(checked)"]}
        parts = [self.precision] + layout.get(self.channels_last, []) \
            + (["compile"] if self.compile else [])
        return "+".join(parts)


OFF = Acceleration()


def channels_last_for(setting: bool | str, device: torch.device | str) -> ChannelsLast:
    """The :attr:`Acceleration.channels_last` for ``globals.channels_last`` (``true``, ``false``
    or ``"auto"``) on ``device``. ``auto`` is ``"checked"`` on a CPU, where PyTorch's NHWC
    kernels (oneDNN) beat its NCHW ones, above all max-pooling (SmallCNN trains and evaluates
    faster with NHWC weights: ``bench/README.md``): the built-in CNNs, and a user's CNN that
    passes :func:`channels_last_problem`, get NHWC weights while the data stays NCHW, so no
    user code sees NHWC tensors it did not ask for. Off on GPUs (not measured there yet; set
    ``true`` with ``precision: "bf16"`` for tensor cores)."""
    if setting == "auto":
        return "checked" if torch.device(device).type == "cpu" else False
    return bool(setting)


@contextlib.contextmanager
def full_precision(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, ``model`` and every prepared network inside it run their forward in
    fp32 whatever their ``precision`` (no bf16 autocast); compile and channels-last are
    unaffected, and so is every other network. For computations bf16 autocast cannot run: the
    ``torch.func`` per-sample gradients of Fisher and SSD (batch norm under ``vmap`` and
    autocast gets bf16 inputs with fp32 weights and fails). Yields ``model``."""
    flipped = []
    for module in model.modules():
        settings = module.__dict__.get(_ATTRIBUTE)
        if settings is not None and settings.precision != "fp32":
            flipped.append((module, settings))
            object.__setattr__(module, _ATTRIBUTE, replace(settings, precision="fp32"))
    try:
        yield model
    finally:
        for module, settings in flipped:
            object.__setattr__(module, _ATTRIBUTE, settings)


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
    """The module's own ``forward`` under the precision stored on the module."""
    settings: Acceleration = getattr(module, _ATTRIBUTE)
    if settings.precision == "bf16":
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
    """Installed as a prepared network's ``forward``: compiled or eager, as the settings stored
    on the instance say, then fp32 outputs."""
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


class ChannelsLastError(ValueError):
    """``channels_last: true`` on a network that fails on NHWC inputs."""


def channels_last_problem(model: nn.Module, sample: torch.Tensor) -> str:
    """Why ``model`` cannot take NHWC weights with inputs laid out as ``sample`` ("" when it
    can), e.g. ``"raises RuntimeError: view size is not compatible…"``.

    One forward in eval mode with NCHW weights and ``sample`` made contiguous, one with NHWC
    weights and ``sample`` as it is, from the same random state: nothing may raise, and the
    outputs must agree to 1e-4 of their scale (the float32 kernels of the two layouts round
    differently). ``model`` is left with NCHW weights, in its training mode, and the global RNG
    state unchanged. Sees what the eval-mode forward does, not a path taken in training only.
    """
    devices = [sample.device] if sample.device.type == "cuda" else []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            try:
                with torch.random.fork_rng(devices=devices):
                    expected = tree_flatten(model(sample.contiguous()))[0]
            except Exception as e:  # not a layout problem: the shape check reports it
                return f"raises with NCHW weights too ({_first_line(e)})"
            model.to(memory_format=torch.channels_last)
            try:
                with torch.random.fork_rng(devices=devices):
                    got = tree_flatten(model(sample))[0]
            except Exception as e:
                return f"raises {_first_line(e)}"
    finally:
        model.to(memory_format=torch.contiguous_format)
        model.train(was_training)
    if len(got) != len(expected):
        return "gives outputs of another structure"
    for a, b in zip(expected, got):
        if not isinstance(a, torch.Tensor) or not a.is_floating_point():
            same = torch.equal(a, b) if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) \
                else a == b
            if not same:
                return "gives other outputs"
            continue
        if not isinstance(b, torch.Tensor) or a.shape != b.shape or a.dtype != b.dtype:
            return "gives outputs of another shape or type"
        finite = a[torch.isfinite(a)]
        scale = float(finite.abs().max()) if finite.numel() else 0.0
        if not torch.allclose(b, a, rtol=1e-4, atol=1e-4 * scale, equal_nan=True):
            error = float((b - a).abs().nan_to_num(float("inf")).max())
            return f"gives outputs that differ by up to {error:.3g} (scale {scale:.3g})"
    return ""


def nchw_output(module: nn.Module, inputs: Any, output: Any) -> Any:
    """A forward hook (:func:`hand_back`): the module's 4-D output in NCHW (contiguous) memory,
    so that the code after it may ``.view`` it as a network written for NCHW does."""
    if isinstance(output, torch.Tensor) and output.ndim == 4:
        return output.contiguous()
    return None


def handed_back(model: nn.Module) -> list[str]:
    """The names of ``model``'s modules whose outputs :func:`hand_back` returns NCHW."""
    return [name for name, module in model.named_modules()
            if any(hook is nchw_output for hook in module._forward_hooks.values())]


def hand_back(model: nn.Module, sample: torch.Tensor) -> str:
    """Lets a network written for NCHW memory run with NHWC weights: the last submodule whose
    output is a 4-D tensor in an eval-mode forward of ``sample`` (where a CNN's feature maps end:
    FashionCNN's ``layer2``, a ResNet's pooling) gets the forward hook :func:`nchw_output`, so
    the convolutions up to it run NHWC and the code after it — ``x.view(x.size(0), -1)``, say —
    sees NCHW memory. Kept only where :func:`channels_last_problem` then finds nothing; returns
    that module's name, or "" (and ``model`` as it was) where no such module exists or the
    check still fails (a layout-dependent operation between convolutions). Leaves ``model``
    with NCHW weights, as :func:`channels_last_problem` does."""
    order: list[str] = []

    def note(name):
        def hook(module, inputs, output):
            if isinstance(output, torch.Tensor) and output.ndim == 4 \
                    and output.is_floating_point():
                order.append(name)
        return hook

    model.to(memory_format=torch.contiguous_format)
    handles = [module.register_forward_hook(note(name))
               for name, module in model.named_modules() if name]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(
                devices=[sample.device] if sample.device.type == "cuda" else []):
            model(sample.contiguous())
    except Exception:  # noqa: BLE001 — the caller's check has reported it
        return ""
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if not order:
        return ""
    name = order[-1]
    handle = model.get_submodule(name).register_forward_hook(nchw_output)
    if channels_last_problem(model, sample):
        handle.remove()
        return ""
    return name


def _lay_out(model: nn.Module, settings: Acceleration, sample: Optional[torch.Tensor]) -> None:
    """Converts ``model`` to NHWC weights where ``settings.channels_last`` asks for it and it is
    declared or checked to be safe (see :func:`prepare_model`)."""
    if not settings.channels_last or not any(t.ndim == 4 for t in model.parameters()):
        return
    name = type(model).__name__
    declared = vars(type(model)).get(SAFE_ATTRIBUTE)  # the class's own, not inherited
    if declared is not True and sample is not None:
        problem = "" if settings.channels_last is True or declared is not False \
            else f"declares {SAFE_ATTRIBUTE} = False"
        problem = (problem or channels_last_problem(model, sample)).rstrip(".")
        if settings.channels_last is True:
            if problem.startswith("raises ") and not problem.startswith("raises with NCHW"):
                raise ChannelsLastError(f"{name} fails on channels-last (NHWC) weights and "
                                        f"inputs: it {problem}")
            if problem.startswith("gives "):
                _report(settings, name, f"channels_last: true: {name} {problem} with NHWC "
                        "weights; running it NHWC as asked", logging.WARNING)
        elif problem:
            handed = "" if problem.startswith("raises with NCHW") else hand_back(model, sample)
            if handed:
                _report(settings, name, f"channels_last (auto): {name} runs with NHWC weights, "
                        f"its {handed!r} handing its output back NCHW (with NHWC weights alone "
                        f"it {problem})")
                model.to(memory_format=torch.channels_last)
                return
            fix = ("flatten with .reshape() or .flatten(1) rather than .view() to let it run NHWC"
                   if problem.startswith("raises ") else
                   f"set globals.channels_last: true (or {name}.{SAFE_ATTRIBUTE} = True) "
                   "to run it NHWC anyway")
            _report(settings, name, f"channels_last (auto): {name} stays NCHW: with NHWC "
                    f"weights it {problem}; {fix}")
            return
    elif declared is not True and settings.channels_last == "checked":
        _report(settings, name, f"channels_last (auto): {name} stays NCHW: no sample of the "
                "data to check NHWC weights on")
        return
    model.to(memory_format=torch.channels_last)


def _report(settings: Acceleration, name: str, message: str, level: int = logging.INFO) -> None:
    """Logs ``message`` once per network class and settings."""
    if name not in settings.reported:
        settings.reported.add(name)
        log.log(level, "%s", message)


def prepare_model(model: nn.Module, settings: Acceleration,
                  sample: Optional[torch.Tensor] = None) -> nn.Module:
    """Applies ``settings`` to ``model`` in place (:meth:`Predictor.new_model
    <erasure.models.Predictor.new_model>` calls it on every network it builds).

    - channels-last, for a network with 4-D weights: ``True`` converts it to
      ``torch.channels_last`` (raising :class:`ChannelsLastError` where it fails on ``sample``);
      ``"checked"`` only where its class declares ``channels_last_safe = True`` (the built-in
      CNNs) or it passes :func:`channels_last_problem` on ``sample`` (a batch of the data, as
      the data lays it out), or passes it with its last feature map handed back NCHW
      (:func:`hand_back`) — otherwise it stays NCHW; either is logged once per class;
    - bf16 or compile: the network's ``forward`` is replaced, on this instance only, by one that
      runs the class's ``forward`` compiled and/or under bf16 autocast and returns fp32 outputs;
      ``settings`` are stored on the instance, where that ``forward`` reads them. Parameters,
      buffers, state dicts and module names are unchanged; ``copy.deepcopy`` keeps the
      replacement (bound to the copy) and the settings.

    With every option off the model is returned untouched. Preparing twice is harmless.

    Returns:
        ``model`` itself.
    """
    if not settings.enabled:
        return model
    _lay_out(model, settings, sample)
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


def prepare_data(data, settings: Acceleration):
    """Applies ``settings`` to loaded data in place: with ``channels_last=True``, 4-D (image)
    samples are stored NHWC once, so that batches gathered from them need no conversion
    (``"checked"`` leaves them NCHW: each NHWC network's first convolution converts its batch).
    Returns ``data``."""
    if settings.channels_last is True and getattr(data, "x", None) is not None \
            and data.x.ndim == 4:
        data.x = data.x.contiguous(memory_format=torch.channels_last)
    return data
