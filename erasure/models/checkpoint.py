"""The original from a checkpoint: reading trained weights a config names, and fitting them to
the network the predictor builds (``"predictor": {"parameters": {"checkpoint": "path"}}``).

:func:`read_checkpoint` reads the file once (while the plan is built): a safetensors file, or a
state dict saved with ``torch.save``, read with torch's weights-only loader. A file only a full
unpickling could read (a whole network saved with ``torch.save(model)``) is refused, never
unpickled (ARCHITECTURE.md, rule 7). A state dict wrapped in a dict under ``"state_dict"`` or
``"model"`` is taken from there, and a ``module.`` (DataParallel) or ``_orig_mod.``
(``torch.compile``) prefix on every name is dropped. :func:`load_weights` loads the weights into
a network, after checking every tensor's name and shape against it.
"""
from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from erasure.config import ConfigError

#: where every problem of a checkpoint is reported
WHERE = "predictor.parameters.checkpoint"
#: how to write a checkpoint erasure reads (the hint of every refusal)
HOW_TO_SAVE = ("Save the network's state dict: safetensors.torch.save_file(model.state_dict(), "
               "path), or torch.save(model.state_dict(), path).")
#: prefixes the usual wrappers add to every name (DataParallel, torch.compile)
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
#: the names under which checkpoints in the wild wrap their state dict
WRAPPER_KEYS = ("state_dict", "model")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as read: where it is, the SHA-256 of its bytes, and its tensors (on the CPU,
    in the file's order)."""

    path: Path
    sha256: str
    state: dict[str, torch.Tensor] = field(repr=False, compare=False)


def read_checkpoint(path: Path) -> Checkpoint:
    """Reads the checkpoint at ``path`` (the weights and the hash come from the same bytes).

    Raises:
        ConfigError: at ``predictor.parameters.checkpoint``: the file is missing, a folder or
            unreadable; it is neither safetensors nor a ``torch.save`` file; it needs a full
            unpickling; it holds no mapping of names to tensors.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError.single(WHERE, f"checkpoint file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError.single(WHERE, f"{path} is a folder, not a checkpoint file") from None
    except (OSError, ValueError) as e:
        raise ConfigError.single(WHERE, f"cannot read the checkpoint {path}: "
                                        f"{getattr(e, 'strerror', None) or e}") from None
    loaded = _safetensors(raw, path) if _is_safetensors(raw) else _torch_file(raw, path)
    return Checkpoint(Path(path), hashlib.sha256(raw).hexdigest(), _state_dict(loaded, path))


def _is_safetensors(raw: bytes) -> bool:
    # an 8-byte little-endian header length, then the JSON header
    return len(raw) > 8 and raw[8:9] == b"{"


def _safetensors(raw: bytes, path: Path) -> dict:
    try:
        from safetensors.torch import load  # noqa: PLC0415 (optional: only for these files)
    except ImportError:
        raise ConfigError.single(WHERE, f"{path} is a safetensors file, and reading one needs the "
                                        "safetensors package", "pip install safetensors") from None
    try:
        return load(raw)
    except Exception as e:  # safetensors' own error type has no stable import path
        raise ConfigError.single(WHERE, f"{path} is not a readable safetensors file ({e})",
                                 HOW_TO_SAVE) from None


def _torch_file(raw: bytes, path: Path) -> object:
    buffer = io.BytesIO(raw)
    try:
        return torch.load(buffer, map_location="cpu", weights_only=True)
    except Exception as e:
        # the weights-only loader names the first Python object it refused to build
        needed = re.search(r"GLOBAL ([\w.]+)", str(e))
        if needed is None:
            raise ConfigError.single(WHERE, f"{path} is neither a safetensors file nor a "
                                            "torch.save file", HOW_TO_SAVE) from None
        raise ConfigError.single(
            WHERE, f"{path} holds Python objects beyond tensors ({needed.group(1)}: a whole "
                   "network saved with torch.save(model), or a class of your own): reading it "
                   "would run its pickled code, and erasure never unpickles a file a config names",
            HOW_TO_SAVE) from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


def _state_dict(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    """The mapping of names to tensors in what the file held (unwrapped, prefixes dropped)."""
    if isinstance(loaded, dict) and not _is_state(loaded):
        for key in WRAPPER_KEYS:
            if isinstance(loaded.get(key), dict) and _is_state(loaded[key]):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not _is_state(loaded) or not loaded:
        what = (f"a dict with the keys {sorted(map(str, loaded))[:5]}" if isinstance(loaded, dict)
                else type(loaded).__name__)
        raise ConfigError.single(WHERE, f"{path} holds {what}, not a state dict (the names of a "
                                        "network's parameters and buffers, each with its tensor)",
                                 HOW_TO_SAVE)
    state = dict(loaded)
    for prefix in WRAPPER_PREFIXES:
        if all(name.startswith(prefix) for name in state):
            state = {name[len(prefix):]: tensor for name, tensor in state.items()}
    return state


def _is_state(mapping: dict) -> bool:
    return all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in mapping.items())


def mismatches(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Every difference between ``model``'s tensors and ``state``'s, in the network's order
    (missing and reshaped tensors), then the checkpoint's tensors the network lacks."""
    own = model.state_dict()
    found = []
    for name, tensor in own.items():
        if name not in state:
            found.append(f"'{name}' (shape {tuple(tensor.shape)}) is missing from the checkpoint")
        elif tuple(state[name].shape) != tuple(tensor.shape):
            found.append(f"'{name}' has shape {tuple(state[name].shape)} in the checkpoint but "
                         f"{tuple(tensor.shape)} in the network")
    found += [f"'{name}' in the checkpoint is not a tensor of the network"
              for name in state if name not in own]
    return found


def load_weights(model: nn.Module, checkpoint: Checkpoint) -> nn.Module:
    """Copies ``checkpoint``'s tensors into ``model`` (each onto its tensor's device, dtype and
    memory layout), after checking that they are exactly the network's.

    Raises:
        ConfigError: at ``predictor.parameters.checkpoint``, naming the first differing tensor
            (missing, not in the network, or shape A vs B) and how many others differ.
    """
    found = mismatches(model, checkpoint.state)
    if found:
        more = f" (and {len(found) - 1} other differences)" if len(found) > 1 else ""
        raise ConfigError.single(
            WHERE, f"{checkpoint.path} does not fit the network {type(model).__name__} built for "
                   f"the data: {found[0]}{more}",
            "The checkpoint must come from the same network with the same parameters (layer "
            "sizes, input shape, number of classes).")
    model.load_state_dict(checkpoint.state, strict=True)
    return model
