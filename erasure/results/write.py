"""Results on disk: valid JSON, written atomically, never silently overwritten."""
from __future__ import annotations

import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a number is written as null (its record says why)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json_atomic(path: Path, document: Any) -> None:
    """Writes ``document`` as strict JSON with :func:`write_atomic`."""
    write_atomic(path, json.dumps(_finite(document), indent=2, allow_nan=False) + "\n")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Writes ``data`` (text as UTF-8) to a temporary file beside ``path``, flushes it to disk,
    then renames it over ``path``: a reader (or a crash) sees the old file or the new one, never
    half of one. The folder is created when missing. The file gets the mode any program's new
    file gets, ``0o666`` less the umask (see :func:`create_beside`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = create_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_beside(path: Path) -> tuple[int, str]:
    """Creates a new, empty temporary file beside ``path`` (``.NAME.RANDOM.tmp``) and returns its
    descriptor (open for writing) and path.

    Unlike ``tempfile.mkstemp``, which makes the file ``0o600`` (private to its owner), the file
    is created with ``0o666``, which the kernel narrows by the process's umask (and a folder's
    default ACL) as for any other program's output: umask 022 gives ``0o644``, 027 ``0o640``.
    Nothing reads or changes the umask, so threads creating files at the same time are safe.
    Raises OSError when the folder cannot be written."""
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                           0o666), tmp
        except FileExistsError:  # another writer drew the same name: draw again
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def check_writable(folder: Path) -> str | None:
    """Why results cannot be written under ``folder`` (None when they can), checked without
    creating anything."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return f"no existing parent folder for {folder}"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None
