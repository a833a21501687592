"""Models kept in the run folder (``globals.save_models``), for measuring them again later.

Each model is a plain state dict in safetensors (no pickle: any tool reads it) with a JSON beside
it saying what it is, under ``models/seed-<seed>/`` of the run folder:

- ``<record>.safetensors`` + ``.json``: a finished record's unlearned model (``unlearned`` and
  ``all``); the record's ``saved_model`` is this path relative to the run folder. ``<record>``
  is the record name made safe as a file name (:func:`file_stem`).
- ``original.*`` and ``gold.<partition>.*``: the seed's original and gold models (``all``).

The JSON holds ``model`` (``unlearned``, ``original``, ``gold.<partition>``), ``seed``,
``weights`` (the file name beside it), ``sha256`` (of that file), ``config`` (the run's resolved
config), ``erasure_version``; an unlearned model adds ``record``, ``unlearner`` (the record's
resolved config), ``metrics``, ``failed_measures``, ``not_applicable``, and ``timings`` and
``memory`` (what its unlearning cost: the inputs of the runtime and memory measures); a trained
model adds ``partition``, ``key`` (its model-cache key) and ``trained_seconds``. Files are
written atomically; :func:`load` checks the hash. Only the unit that holds a model writes it, so
this works on any executor as long as the run folder is a path every worker can write (one
machine, or a shared file system).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes
from torch import nn

from erasure import __version__
from erasure.results.write import write_atomic, write_json_atomic

MODELS_FOLDER = "models"
SUFFIX = ".safetensors"
CHOICES = ("none", "unlearned", "all")

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
_RESERVED = re.compile(r"^(original|gold)(\.|$)", re.IGNORECASE)


class SavedModelError(ValueError):
    """A saved model that cannot be used: missing, damaged (hash mismatch), or unreadable."""


def seed_folder(run_dir: Path, seed: int) -> Path:
    """Where the models of ``seed`` live in a run folder."""
    return Path(run_dir) / MODELS_FOLDER / f"seed-{seed}"


def file_stem(name: str) -> str:
    """A file name (without suffix) for record ``name``, unique per name: the name itself when
    it is already safe (letters, digits, ``._+-``) and cannot be taken for the original or a gold
    model; else the name with each other character as ``_``, cut to 80 characters, then ``-`` and
    8 hex digits of its SHA-256 (``Finetuning[epochs=5]`` → ``Finetuning_epochs_5_-1a2b3c4d``)."""
    safe = _UNSAFE.sub("_", name)[:80]
    if safe == name and not _RESERVED.match(name) and not name.startswith("."):
        return name
    return f"{safe.lstrip('.')}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def plain_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model``'s state dict as a fresh network of its class takes it: on the CPU, each tensor
    its own contiguous copy (channels-last weights back to the default layout, tied weights
    apart), the ``_orig_mod.`` of ``torch.compile`` wrappers taken out of the keys."""
    out = {}
    for key, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):
            continue  # extra state that is no tensor: safetensors holds tensors only
        plain = ".".join(part for part in key.split(".") if part != "_orig_mod")
        out[plain] = value.detach().to("cpu", copy=True).contiguous()
    return out


def _save(folder: Path, stem: str, model: nn.Module, meta: dict[str, Any]) -> Path:
    blob = save_bytes(plain_state_dict(model))
    weights = folder / f"{stem}{SUFFIX}"
    write_atomic(weights, blob)
    write_json_atomic(weights.with_suffix(".json"), {
        **meta, "weights": weights.name, "sha256": hashlib.sha256(blob).hexdigest(),
        "erasure_version": __version__})
    return weights


def save_unlearned(run_dir: Path, seed: int, model: nn.Module, record: dict[str, Any],
                   timings: dict[str, float], memory: dict[str, float], config: dict) -> str:
    """Writes a finished record's unlearned model (and its JSON); returns its path relative to
    ``run_dir`` (the record's ``saved_model``).

    Raises:
        OSError: the files cannot be written.
    """
    name = record["name"]
    weights = _save(seed_folder(run_dir, seed), file_stem(name), model, {
        "model": "unlearned", "record": name, "seed": seed, "unlearner": record.get("config"),
        "metrics": record.get("metrics", {}), "failed_measures": record.get("failed_measures", {}),
        "not_applicable": record.get("not_applicable", {}), "timings": timings, "memory": memory,
        "config": config})
    return weights.relative_to(run_dir).as_posix()


def save_trained(run_dir: Path, seed: int, models: dict[str, tuple[nn.Module, str]],
                 info: dict[str, dict[str, Any]], config: dict) -> list[Path]:
    """Writes a seed's trained models — ``models`` maps ``original``/``gold.<partition>`` to
    (network, partition it trained on); ``info``: the session's entry per model (cache key,
    seconds) — and returns the weight files.

    Raises:
        OSError: the files cannot be written.
    """
    written = []
    for name, (model, partition) in models.items():
        entry = info.get(name, {})
        written.append(_save(seed_folder(run_dir, seed), name, model, {
            "model": name, "seed": seed, "partition": partition, "key": entry.get("key"),
            "trained_seconds": entry.get("trained_seconds"), "config": config}))
    return written


def load(weights: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict in a saved ``.safetensors`` file and the JSON beside it, after checking
    the file's SHA-256 against the one the JSON holds.

    Raises:
        SavedModelError: a file is missing or unreadable, or the hash does not match.
    """
    weights = Path(weights)
    meta_path = weights.with_suffix(".json")
    try:
        blob = weights.read_bytes()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SavedModelError(f"cannot read the saved model {weights}: {e}") from None
    digest = hashlib.sha256(blob).hexdigest()
    if not isinstance(meta, dict) or digest != meta.get("sha256"):
        raise SavedModelError(f"the saved model {weights} does not match the hash in "
                              f"{meta_path.name} (the file was changed or damaged)")
    try:
        return load_bytes(blob), meta
    except Exception as e:  # safetensors raises its own error type
        raise SavedModelError(f"cannot read the saved model {weights}: {e}") from None
