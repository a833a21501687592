"""A word-level tokenizer whose vocabulary is learnt from the training texts: fully offline."""
from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Optional

import torch

from erasure.config import Count, Range

from ..sources.base import TokenInfo
from .base import Padding, Tokenizer, pad, padded_length

#: A word (letters, digits, underscore) or any other single non-space character.
WORD = re.compile(r"\w+|[^\w\s]")
#: The ids every vocabulary starts with.
PAD_ID, UNKNOWN_ID = 0, 1


class WordTokenizer(Tokenizer):
    """Splits texts into words and punctuation marks (a regular expression, the same on every
    machine) and numbers them by a vocabulary learnt from the fitting texts.

    The vocabulary is the fitting texts' most frequent words, ties broken alphabetically, so the
    same texts give the same ids in every process. Id 0 pads, 1 stands for a word outside the
    vocabulary, the words follow from 2 in order of frequency.

    Args:
        lowercase: lowercase every text before splitting it.
        vocab_size: at most this many ids, padding and unknown included (so ``vocab_size - 2``
            words); ``null`` keeps every word seen at least ``min_count`` times.
        min_count: a word enters the vocabulary when it occurs at least this often in the
            fitting texts.
        max_length: texts are cut to their first ``max_length`` words.
        padding: ``"max_length"`` pads every text to ``max_length``; ``"longest"`` to the
            longest text encoded (the whole dataset's), at most ``max_length``.

    Where it fails: it knows nothing of morphology or of words absent from the training texts
    (all unknown), and scripts without spaces (Chinese, Japanese) come out as one word per run of
    characters.
    """

    lowercase: bool = True
    vocab_size: Optional[Annotated[int, Range(ge=3)]] = 20000
    min_count: Count = 1
    max_length: Count = 128
    padding: Padding = "max_length"

    def __post_init__(self) -> None:
        self._vocabulary: dict[str, int] | None = None

    def words(self, text: str) -> list[str]:
        """The words of one text, in order."""
        return WORD.findall(text.lower() if self.lowercase else text)

    def fit(self, texts: list[str]) -> None:
        counts = Counter(word for text in texts for word in self.words(text))
        kept = sorted((w for w, c in counts.items() if c >= self.min_count),
                      key=lambda w: (-counts[w], w))
        if self.vocab_size is not None:
            kept = kept[:self.vocab_size - 2]
        self._vocabulary = {w: i for i, w in enumerate(kept, start=2)}

    def encode(self, texts: list[str]) -> torch.Tensor:
        vocabulary = self._fitted()
        rows = [[vocabulary.get(w, UNKNOWN_ID) for w in self.words(t)[:self.max_length]]
                for t in texts]
        return pad(rows, padded_length(rows, self.max_length, self.padding), PAD_ID)

    def info(self) -> TokenInfo:
        return TokenInfo(vocab_size=len(self._fitted()) + 2, pad_id=PAD_ID)

    def vocabulary(self) -> dict[str, int]:
        """Word → id of the fitted vocabulary (padding and unknown not included)."""
        return dict(self._fitted())

    def _fitted(self) -> dict[str, int]:
        if self._vocabulary is None:
            raise RuntimeError("WordTokenizer: fit it on the training texts before encoding")
        return self._vocabulary
