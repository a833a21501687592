"""Progress bars (tqdm) for training, unlearners and measures — shown by the command line when
stderr is a terminal, unless ``--quiet`` (piped into a file, the runner's per-record log lines
tell the progress instead); silent by default for library use and tests."""
from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterable, Iterator, Optional

_showing: contextvars.ContextVar[bool] = contextvars.ContextVar("progress", default=False)


@contextlib.contextmanager
def showing(enabled: bool = True) -> Iterator[None]:
    """Within the block, :func:`bar` draws progress bars (on stderr) when ``enabled``."""
    token = _showing.set(enabled)
    try:
        yield
    finally:
        _showing.reset(token)


class _Silent:
    """What :func:`bar` gives when bars are off: iterates, updates and closes, showing nothing."""

    def __init__(self, iterable: Optional[Iterable] = None) -> None:
        self.iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(self.iterable or ())

    def update(self, n: int = 1) -> None:
        pass

    def set_description_str(self, text: str) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_Silent":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def bar(iterable: Optional[Iterable] = None, *, total: Optional[int] = None, desc: str = "",
        leave: bool = False) -> Any:
    """A tqdm bar when bars are shown, else a silent stand-in with the same methods."""
    if not _showing.get():
        return _Silent(iterable)
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=leave, dynamic_ncols=True)
