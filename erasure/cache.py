"""The model cache: trained originals and gold models on disk, keyed by what determines them.

A model is determined by the data section, the predictor section, the seed, the partition it is
trained on, the settings that change training (device type, and any training-related globals),
the framework version, the source of the framework's modules that train models
(:func:`code_fingerprint`) and the torch version. Changing an unlearner or a measure — in the
config or in their code — changes none of these, so a re-run trains nothing. Weights are stored
as a plain state dict (``torch.save``) and read back with ``weights_only=True`` — never
unpickling objects — after checking the file's SHA-256 against the one recorded beside it; a
file that does not match, or does not load into the network, is reported, removed and
retrained.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Optional

import torch
from torch import nn

from erasure import __version__
from erasure.results.write import write_atomic

try:
    import fcntl
except ImportError:  # Windows: no lock (one run at a time per cache there)
    fcntl = None

log = logging.getLogger(__name__)

#: where models are cached when neither --cache-dir nor globals.cache_dir says otherwise
DEFAULT_FOLDER = "~/.cache/erasure/models"
ENVIRONMENT_VARIABLE = "ERASURE_CACHE_DIR"


def cache_folder(command_line: Optional[str] = None, config: Optional[str] = None) -> Path:
    """``--cache-dir`` wins over ``globals.cache_dir``, which wins over ``$ERASURE_CACHE_DIR``."""
    chosen = command_line or config or os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_FOLDER
    return Path(chosen).expanduser()


#: The framework's modules, relative to the package, whose code determines a trained model: data
#: loading and splits, networks and the training loop, seeding, and the training stage.
TRAINING_CODE = ("data", "models", "seeding.py", "experiment.py")
PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def code_fingerprint(root: Path = PACKAGE) -> str:
    """A SHA-256 of the source of :data:`TRAINING_CODE` under ``root`` (file names and bytes),
    so that editing the framework's training code — not only its version — retrains cached
    models rather than reusing ones the old code trained. Your own modules (a network of your
    own) are not covered: clear the cache after editing them."""
    digest = hashlib.sha256()
    for entry in TRAINING_CODE:
        path = root / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(root).as_posix().encode("utf-8") + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_key(parts: dict[str, Any]) -> str:
    """A SHA-256 of the canonical JSON of ``parts``, the framework version, the fingerprint of
    its training code and the torch version."""
    text = json.dumps({**parts, "erasure": __version__, "code": code_fingerprint(),
                       "torch": torch.__version__}, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ModelCache:
    """Trained models by key, in ``folder``.

    Attributes:
        hits, misses, corrupted: the keys looked up, by outcome, in order.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.hits: list[str] = []
        self.misses: list[str] = []
        self.corrupted: list[str] = []

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.folder / key[:2]
        return folder / f"{key}.pt", folder / f"{key}.json"

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Holds ``key`` for one trainer: a process (or thread) that wants the same model waits
        here until the holder has stored it, then loads it instead of training it again — runs
        and Ray tasks sharing a cache never train one model twice. An operating-system lock on
        ``<key>.lock`` (``flock``), released by the system however its holder ends; a cache
        folder that cannot hold the lock file is used without one."""
        path = self._paths(key)[0].with_suffix(".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")
        except OSError:
            yield
            return
        with handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield  # the OS releases the lock when the file closes

    def load(self, key: str, model: nn.Module) -> Optional[dict[str, Any]]:
        """Loads the cached weights for ``key`` into ``model``.

        Returns:
            The entry's metadata on a hit; None on a miss or a corrupted entry (which is removed).
        """
        weights, meta_path = self._paths(key)
        if not weights.exists() or not meta_path.exists():
            self.misses.append(key)
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            blob = weights.read_bytes()
            digest = hashlib.sha256(blob).hexdigest()
            if digest != meta.get("sha256"):
                raise ValueError(f"checksum mismatch (file {digest[:12]}…, "
                                 f"recorded {str(meta.get('sha256'))[:12]}…)")
            device = next((t.device for t in model.state_dict().values()), "cpu")
            stream = io.BytesIO(blob)
            state = torch.load(stream, weights_only=True, map_location=device)
            model.load_state_dict(state, strict=True)
        except Exception as e:  # a damaged entry is retrained, never trusted
            log.warning("cached model %s in %s is corrupted (%s: %s): removing it and retraining",
                        key[:12], self.folder, type(e).__name__, e)
            self.corrupted.append(key)
            weights.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            return None
        self.hits.append(key)
        return meta

    def store(self, key: str, model: nn.Module, meta: dict[str, Any]) -> None:
        """Writes ``model``'s weights and ``meta`` for ``key`` (atomically: a reader never sees a
        half-written entry). A cache that cannot be written is logged, never fatal."""
        weights, meta_path = self._paths(key)
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
        blob = buffer.getvalue()
        meta = {**meta, "key": key, "sha256": hashlib.sha256(blob).hexdigest(),
                "erasure": __version__}
        try:
            write_atomic(weights, blob)
            write_atomic(meta_path, json.dumps(meta, indent=2, default=str).encode("utf-8"))
        except OSError as e:
            log.warning("cannot write the model cache in %s (%s): going on without it", self.folder, e)

