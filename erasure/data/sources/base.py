"""The data-source interface: one method that returns every sample as tensors."""
from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from erasure.config import Component


class DataLoadError(Exception):
    """A source cannot produce its samples (missing files, no network, a missing package, a
    column that does not exist). The data manager reports it as a config error at the source's
    place in the config, so the user sees one clear message and no traceback.

    Args:
        message: what went wrong, naming the source and the dataset.
        hint: how to fix it (where to put the data, what to install, the columns available).
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class Samples:
    """Every sample of a dataset, held once.

    Attributes:
        x: features, shape ``(n, *input_shape)``, float.
        y: integer class labels, shape ``(n,)``.
        groups: optional per-sample attributes (a person's id, a movie…), each an integer tensor
            of shape ``(n,)``, for splitters that forget by group.
        group_values: for a group whose values are not integers (names, strings), the value of
            each code: ``group_values["author"][groups["author"][i]]`` is sample ``i``'s author.
            Build both with :func:`encode`.
        class_names: a name per class label, when the source knows them.
        graph: for graph data, the structure the samples live in (see ``erasure.data.graph``);
            ``x`` then holds sample ids that graph models look up.
        texts: for text data, each sample's text, from the source; the data manager's tokenizer
            turns them into ``x`` (token ids) once the partitions are known.
        tokens: for tokenized text, what the networks need to know of the token ids in ``x``
            (``(n, length)`` integers, kept as integers).
    """

    x: torch.Tensor
    y: torch.Tensor
    groups: dict[str, torch.Tensor] = field(default_factory=dict)
    group_values: dict[str, list[Any]] = field(default_factory=dict)
    class_names: list[str] | None = None
    graph: Any = None
    texts: list[str] | None = None
    tokens: "TokenInfo | None" = None

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"{self.x.shape[0]} samples but {self.y.shape[0]} labels")
        if self.texts is not None and len(self.texts) != self.y.shape[0]:
            raise ValueError(f"{len(self.texts)} texts but {self.y.shape[0]} labels")
        if self.tokens is not None:
            if self.x.is_floating_point() or self.x.ndim != 2:
                raise ValueError(f"token ids must be integers of shape (n, length), got "
                                 f"{self.x.dtype} {tuple(self.x.shape)}")
            self.x = self.x.long()
        elif self.graph is None or self.x.is_floating_point():
            self.x = self.x.float()
        self.y = self.y.long()
        for name, values in self.groups.items():
            if values.shape != self.y.shape:
                raise ValueError(f"group '{name}' has shape {tuple(values.shape)}, "
                                 f"expected one value per sample ({len(self.y)})")
            self.groups[name] = values.long()


@dataclass(frozen=True)
class TokenInfo:
    """What a text network needs to know of the token ids it gets (filled into its
    ``vocab_size`` and ``pad_id`` parameters, as ``input_shape`` is for other networks).

    Attributes:
        vocab_size: token ids are ``0 .. vocab_size - 1``.
        pad_id: the id that pads a text to the common length; positions holding it are not part
            of the text (a network's attention mask is ``x != pad_id``).
    """

    vocab_size: int
    pad_id: int


def encode(values: Iterable[Any]) -> tuple[torch.Tensor, list[Any]]:
    """Integer codes for arbitrary values, by their sorted order — never by hash or by first
    appearance, so the same data gives the same codes in every process.

    Values are sorted as they are when all are numbers, otherwise as strings.

    Returns:
        ``(codes, distinct)``: ``codes[i]`` is the position of ``values[i]`` in ``distinct``.
    """
    values = list(values)
    distinct = sorted(set(values), key=_sort_key(values))
    position = {v: i for i, v in enumerate(distinct)}
    return torch.tensor([position[v] for v in values], dtype=torch.long), distinct


def _sort_key(values: Sequence[Any]):
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return (lambda v: v) if numeric else (lambda v: str(v))


def require(module: str, extra: str, source: str) -> Any:
    """Imports an optional package, or raises :class:`DataLoadError` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise DataLoadError(f"{source} needs the '{module}' package, which is not installed ({e})",
                            f"Install it with: pip install 'erasure[{extra}]'") from e


class DataSource(Component):
    """Where the samples come from. Subclass it and implement :meth:`load`.

    Example::

        class MyCsv(DataSource):
            path: str
            label_column: str = "label"

            def load(self) -> Samples:
                table = numpy.genfromtxt(self.path, delimiter=",", names=True)
                ...
                return Samples(x=torch.tensor(features), y=torch.tensor(labels))
    """

    kind_name = "data source"
    abstract = True

    def load(self) -> Samples:
        raise NotImplementedError

    def fingerprint(self) -> str | None:
        """What the data on disk looks like now, for sources that read files a user may edit
        (the model cache keys on it beside the config): ``None`` when the config alone
        determines the data. See :func:`files_fingerprint`."""
        return None


def files_fingerprint(paths: Iterable[Path]) -> str:
    """A digest of the names, sizes and modification times of ``paths`` (folders: every file
    below them): editing, adding or removing a file changes it; nothing is read."""
    entries = []
    for path in paths:
        path = Path(path).expanduser()
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            try:
                stat = file.stat()
                entries.append(f"{file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
            except OSError:
                entries.append(f"{file}:missing")
    return hashlib.sha256("\n".join(entries).encode("utf-8")).hexdigest()
