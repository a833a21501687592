"""The tokenizer interface: texts in, a rectangle of token ids out.

The data manager holds the tokenizer (``data.parameters.tokenizer``): once the partitions are
built it fits the tokenizer on the texts of one partition (``tokenizer_fit_on``, the training set
by default, so nothing is learnt from test texts) and encodes every sample's text once.
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import torch

from erasure.config import Component

from ..sources.base import DataLoadError, TokenInfo

#: How texts are padded: every one to ``max_length``, or to the longest text encoded (at most
#: ``max_length``).
Padding = Literal["max_length", "longest"]


class Tokenizer(Component):
    """Turns texts into token ids. Subclass it and implement :meth:`encode` and :meth:`info`
    (and :meth:`fit` when the vocabulary is learnt from the data).

    Example (one id per character, offline)::

        class CharTokenizer(Tokenizer):
            max_length: int = 64

            def encode(self, texts):
                rows = [[min(ord(c), 255) + 1 for c in t[:self.max_length]] for t in texts]
                return pad(rows, self.max_length, 0)

            def info(self):
                return TokenInfo(vocab_size=257, pad_id=0)
    """

    kind_name = "tokenizer"
    abstract = True

    def fit(self, texts: list[str]) -> None:
        """Learns what the tokenizer needs from ``texts`` (the texts of the fitting partition
        only). Pretrained tokenizers learn nothing: the default does nothing."""

    def encode(self, texts: list[str]) -> torch.Tensor:
        """Token ids of ``texts``, an integer tensor ``(len(texts), length)`` padded with
        ``info().pad_id``.

        Raises:
            DataLoadError: the tokenizer's files cannot be read, or a text cannot be encoded as
                asked (too long without truncation); the data manager reports it at the
                tokenizer's place in the config.
        """
        raise NotImplementedError

    def info(self) -> TokenInfo:
        """The vocabulary size and the padding id of the ids :meth:`encode` returns."""
        raise NotImplementedError

    def fingerprint(self) -> str | None:
        """What the tokenizer's files look like now, for tokenizers read from files a user may
        edit (the model cache keys on it beside the config): ``None`` when the config alone
        determines the tokenizer. See :func:`erasure.data.sources.base.files_fingerprint`."""
        return None


def pad(rows: Sequence[Sequence[int]], length: int, pad_id: int) -> torch.Tensor:
    """``rows`` of ids as one ``(n, length)`` long tensor, each row cut to ``length`` and padded
    on the right with ``pad_id``."""
    out = np.full((len(rows), length), pad_id, dtype=np.int64)
    for i, row in enumerate(rows):
        row = row[:length]
        out[i, :len(row)] = row
    return torch.from_numpy(out)


def padded_length(rows: Sequence[Sequence[int]], max_length: int, padding: str) -> int:
    """The common length: ``max_length``, or with ``padding="longest"`` the longest row's (at
    least 1, at most ``max_length``)."""
    if padding == "longest":
        return max(1, min(max_length, max((len(r) for r in rows), default=1)))
    return max_length


def check_lengths(rows: Sequence[Sequence[int]], max_length: int, name: str) -> None:
    """Raises :class:`DataLoadError` naming the first text longer than ``max_length`` tokens."""
    for i, row in enumerate(rows):
        if len(row) > max_length:
            raise DataLoadError(f"{name}: text {i} has {len(row)} tokens, more than max_length "
                                f"{max_length}, and truncation is off",
                                "Set truncation to true, or raise max_length.")
