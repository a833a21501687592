"""One run per output folder: a run claims its folder before writing anything there.

The claim is an operating-system lock (``flock``; ``msvcrt.locking`` on Windows) on
``<folder>/.erasure-run.lock``, held for the whole run and released by the system when the
process ends, however it ends — a killed run never leaves a stale claim behind.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .write import RESULTS_FILE

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

LOCK_FILE = ".erasure-run.lock"


class FolderBusy(Exception):
    """Another live run holds the folder; the message says which process."""


class FolderClaim:
    """An exclusive claim on a run folder. The folders it had to create are removed again by
    :meth:`release` if they are still empty (a run refused before writing leaves nothing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE
        self._fd: int | None = None
        self._created: list[Path] = []

    def acquire(self) -> bool:
        """Claims the folder (creating it when missing); False when a live run holds it."""
        missing = []
        probe = self.folder
        while not probe.exists():
            missing.append(probe)
            probe = probe.parent
        self.folder.mkdir(parents=True, exist_ok=True)
        self._created = missing
        for _ in range(100):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _lock(fd):
                os.close(fd)
                self.release()
                return False
            try:  # the holder before us may have removed the file between our open and lock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return True
            os.close(fd)
        raise OSError(f"could not claim {self.folder}: its lock file keeps changing")

    def holder(self) -> str:
        """The process id written by the run that holds the folder, if it can be read."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        """Gives the folder up; removes the lock file, and the folders this claim created when
        nothing else was written into them."""
        if self._fd is not None:
            try:
                if fcntl is not None:  # unlinked while still held: no one can take it between
                    self.path.unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = None
            if fcntl is None:  # Windows deletes no file that is open
                with contextlib.suppress(OSError):
                    self.path.unlink(missing_ok=True)
        for folder in self._created:
            try:
                folder.rmdir()
            except OSError:  # not empty (results were written), or already gone
                break
        self._created = []


def _lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def claim_run_folder(folder: Path, *, overwrite: bool = False, resume: bool = False
                     ) -> tuple[Path, FolderClaim]:
    """Claims the folder a run writes to: ``folder`` when it holds no results (or with
    ``overwrite``/``resume``), otherwise the first free ``folder-2``, ``folder-3``, … — an
    existing result is never replaced silently, and two runs never share a folder.

    Raises:
        FolderBusy: with ``overwrite`` or ``resume``, a live run is writing into ``folder``.
    """
    if overwrite or resume:
        claim = FolderClaim(folder)
        if not claim.acquire():
            raise FolderBusy(f"another run (process {claim.holder()}) is writing to {folder}")
        return folder, claim
    n = 1
    while True:
        candidate = folder if n == 1 else folder.with_name(f"{folder.name}-{n}")
        n += 1
        if (candidate / RESULTS_FILE).exists():
            continue
        claim = FolderClaim(candidate)
        if not claim.acquire():
            continue
        if (candidate / RESULTS_FILE).exists():  # finished while we were claiming it
            claim.release()
            continue
        return candidate, claim
