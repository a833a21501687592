"""Text networks: inputs are token ids ``(batch, length)`` (``torch.long``), padded with
``pad_id``; ``vocab_size``, ``pad_id`` and ``num_classes`` are filled in from the data
(:class:`~erasure.data.sources.base.TokenInfo`) unless the config sets them.

- :class:`TextClassifier`: trained from scratch — token embeddings, optionally a small
  transformer encoder, mean pooling over the tokens, a small head.
- :class:`PretrainedTextClassifier`: any ``transformers`` encoder (a hub id, a local folder or a
  packaged model such as ``all-MiniLM-L6-v2``: :func:`erasure.pretrained.resolve`), mean pooling
  over its attention mask, a linear head; ``freeze_encoder`` trains the head only.
- :class:`HuggingFaceSequenceClassifier`: ``AutoModelForSequenceClassification`` as it is.

**The embedding-space protocol.** Methods that perturb or learn *inputs* (UNSIR's noise) cannot
do so on integer token ids, so every text network here splits its forward pass in two:

- ``embed(x) -> Tensor``: the continuous representation where the first trainable weights act —
  for :class:`TextClassifier` and an unfrozen encoder the token embeddings ``(batch, length,
  dim)``, with padded positions set to exactly zero; for a frozen encoder the pooled sentence
  embedding ``(batch, dim)`` (nothing before it can change);
- ``classify(e) -> logits``: the rest of the network.

``forward(x)`` is ``classify(embed(x))``, exactly. Token-level representations carry their
padding mask as zero vectors: ``classify`` treats a position whose embedding is all zeros as
padding (a real token's embedding is never exactly zero in practice), so an input made up in
embedding space (noise) counts as a text as long as all its positions.

The ``transformers`` package is imported only when a pretrained network is built (``pip install
'erasure[text]'``).
"""
from __future__ import annotations

import collections
import contextlib
import copy
import hashlib
from typing import Any, Iterator, Optional, Sequence

import torch
from torch import nn

from erasure import pretrained
from erasure.config import register
from erasure.config.checks import layer_widths


def token_mask(e: torch.Tensor) -> torch.Tensor:
    """``True`` at the positions of ``e`` (``(batch, length, dim)``) that hold a token: those
    whose embedding is not all zeros (padding is embedded as zeros by every ``embed`` here)."""
    return (e != 0).any(-1)


def mean_pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of ``h`` (``(batch, length, dim)``) over the positions where ``mask`` is true; a
    row without any (an empty text) pools to zeros."""
    weights = mask.to(h.dtype).unsqueeze(-1)
    return (h * weights).sum(1) / weights.sum(1).clamp(min=1)


def zero_padding(e: torch.Tensor, x: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Token embeddings ``e`` of ids ``x`` with the padded positions set to exactly zero."""
    return torch.where((x != pad_id).unsqueeze(-1), e, torch.zeros((), dtype=e.dtype,
                                                                   device=e.device))


def check_text_network(name: str, vocab_size: Optional[int], pad_id: Optional[int],
                       num_classes: Optional[int]) -> None:
    """Raises ValueError unless a text network got a vocabulary, a padding id and a class count
    (the pipeline fills them in from token-id data)."""
    if vocab_size is None or pad_id is None or num_classes is None:
        raise ValueError(f"{name} needs token ids (vocab_size, pad_id) and num_classes: use it "
                         "on text data with a tokenizer")
    if not 0 <= pad_id < vocab_size:
        raise ValueError(f"{name}: pad_id {pad_id} is not a token id (vocab_size {vocab_size})")


@register
class TextClassifier(nn.Module):
    """A text classifier trained from scratch: token embeddings, ``layers`` transformer encoder
    layers (none by default), mean pooling over the non-padded positions, a one-hidden-layer
    head.

    With ``layers=0`` it is a bag of embeddings (fast, order-blind); with 1–2 layers each token
    attends to the others (padding masked out of the keys), with learnt position embeddings up
    to the data's length.

    Args:
        vocab_size: token ids run from 0 to ``vocab_size - 1`` (from the data).
        pad_id: the id that pads each text (from the data); positions holding it are masked.
        num_classes: number of outputs (from the data).
        input_shape: ``(length,)`` of the token ids, from the data: the positions the position
            embeddings cover (only used with ``layers`` ≥ 1).
        embedding_dim: width of the token embeddings and of the encoder.
        layers: transformer encoder layers (0: mean of the token embeddings).
        heads: attention heads per layer (must divide ``embedding_dim``).
        hidden: width of the head's hidden layer.
        dropout: dropout in the encoder layers and before the head's output layer.

    Known to be slow: per-sample importances (Fisher forgetting, SSD) go through ``torch.func``
    (an embedding has no closed form), and with ``layers`` ≥ 1 torch has no batching rule for
    CPU attention, so ``vmap`` falls back to a loop over the batch (a warning says so).
    """

    def __init__(self, vocab_size: Optional[int] = None, pad_id: Optional[int] = None,
                 num_classes: Optional[int] = None, input_shape: Optional[Sequence[int]] = None,
                 embedding_dim: int = 64, layers: int = 0, heads: int = 4, hidden: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.check_parameters(embedding_dim=embedding_dim, layers=layers, heads=heads,
                              hidden=hidden)
        check_text_network("TextClassifier", vocab_size, pad_id, num_classes)
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        if layers:
            if input_shape is None or len(input_shape) != 1:
                raise ValueError(f"TextClassifier needs token ids of shape (length,) per sample, "
                                 f"got {None if input_shape is None else tuple(input_shape)}")
            self.positions = nn.Parameter(torch.randn(input_shape[0], embedding_dim) * 0.02)
        self.encoder = nn.ModuleList(
            nn.TransformerEncoderLayer(embedding_dim, heads, 4 * embedding_dim, dropout,
                                       batch_first=True) for _ in range(layers))
        self.head = nn.Sequential(nn.Linear(embedding_dim, hidden), nn.ReLU(),
                                  nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    @staticmethod
    def check_parameters(*, embedding_dim: int = 1, layers: int = 0, heads: int = 1,
                         hidden: int = 1, **_: object) -> None:
        """The checks that need no data (run by ``--validate``)."""
        layer_widths("embedding_dim", embedding_dim)
        layer_widths("hidden", hidden)
        layer_widths("heads", heads)
        if not 0 <= layers <= 2:
            raise ValueError(f"layers must be 0, 1 or 2, got {layers}")
        if layers and embedding_dim % heads:
            raise ValueError(f"heads ({heads}) must divide embedding_dim ({embedding_dim})")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Token embeddings ``(batch, length, embedding_dim)``, zero at padded positions."""
        return zero_padding(self.embedding(x), x, self.pad_id)

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        """Logits from token embeddings (zero vectors are padding: :func:`token_mask`)."""
        mask = token_mask(e)
        h = e
        if len(self.encoder):
            h = h + self.positions[:h.shape[1]]
            ignored = ~mask & mask.any(1, keepdim=True)  # an empty text attends to everything
            for layer in self.encoder:
                h = layer(h, src_key_padding_mask=ignored)
        return self.head(mean_pool(h, mask))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))


def load_transformers(name: str) -> Any:
    """The ``transformers`` package, or ImportError saying what to install."""
    try:
        import transformers
    except ImportError as e:
        raise ImportError(f"{name} needs the 'transformers' package, which is not installed "
                          f"({e}); install it with: pip install 'erasure[text]'") from e
    return transformers


def from_pretrained(name: str, loader: Any, path: str, **kwargs: Any) -> nn.Module:
    """``loader.from_pretrained`` on :func:`erasure.pretrained.resolve` of ``path``; ValueError
    naming the path when it cannot be loaded (a hub id neither cached nor reachable)."""
    where = pretrained.resolve(path)
    try:
        with quiet_transformers():
            if pretrained.is_local(path):
                return loader.from_pretrained(where, **kwargs)
            return pretrained.from_hub(lambda: loader.from_pretrained(where, **kwargs))
    except (OSError, ValueError) as e:
        local = "" if pretrained.is_local(path) else (
            " (not a local folder or packaged model: a hub id is loaded from the Hugging Face "
            "cache, or downloaded when online)")
        raise ValueError(f"{name} cannot load '{path}'{local}: {e}") from e


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """``transformers`` without its progress bars and its notes on loading (the "Loading weights"
    bar on stderr at every model built; erasure's own log says what is loaded), restored after."""
    from transformers.utils import logging as hf_logging

    bars, level = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def check_vocabulary(name: str, vocab_size: int, embeddings: nn.Embedding) -> None:
    if vocab_size > embeddings.num_embeddings:
        raise ValueError(f"{name}: the data's token ids go up to {vocab_size - 1}, but the "
                         f"encoder knows {embeddings.num_embeddings} tokens: tokenize with the "
                         "encoder's own tokenizer")


class PooledCache:
    """Memoised pooled embeddings of a frozen encoder, one per row of token ids (keyed by the
    row's bytes), shared by every network whose encoder holds the same weights.

    Which weights: a digest of the encoder's parameters (names, dtypes, shapes, bytes: about
    0.1 s for MiniLM-L6's 22.7 M), taken again only when a cheap check changes — each
    parameter's in-place version counter and storage address — so any in-place change (an
    optimizer step, ``load_state_dict``, ``.to()``) is seen. Networks with equal weights (the
    original, its deep copies, the gold model and a teacher built from the same pretrained
    folder, an original read back from the model cache) then share one table of rows: each
    sentence goes through the encoder once per process, not once per model.
    """

    #: rows by encoder digest, the most recently used last (at most :data:`KEEP` digests)
    shared: "collections.OrderedDict[str, dict[bytes, torch.Tensor]]" = collections.OrderedDict()
    KEEP = 4

    def __init__(self) -> None:
        self.rows: dict[bytes, torch.Tensor] = {}
        self.key: tuple = ()
        #: the encoder's parameters, listed once (walking its modules at every forward pass
        #: cost about 1 ms for MiniLM): ``.to()`` and ``load_state_dict`` keep the objects
        self.params: list[nn.Parameter] | None = None

    def state(self, encoder: nn.Module) -> tuple:
        if self.params is None or self.params[0] is not next(encoder.parameters()):
            self.params = list(encoder.parameters())  # (parameters replaced: listed again)
        return tuple((p._version, p.data_ptr(), p.dtype) for p in self.params)

    def refresh(self, encoder: nn.Module) -> None:
        """Points :attr:`rows` at the table of ``encoder``'s current weights, when they may
        have changed since the last call."""
        state = self.state(encoder)
        if state == self.key:
            return
        digest = hashlib.sha256()
        with torch.no_grad():
            for name, p in encoder.named_parameters():
                digest.update(f"{name}:{p.dtype}:{tuple(p.shape)}".encode())
                digest.update(p.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        key = digest.hexdigest()
        tables = PooledCache.shared
        self.rows = tables.setdefault(key, {})
        tables.move_to_end(key)
        while len(tables) > self.KEEP:
            tables.popitem(last=False)
        self.key = state


@register
class PretrainedTextClassifier(nn.Module):
    """A pretrained ``transformers`` encoder, mean pooling of its last hidden states over the
    attention mask ``x != pad_id``, then a linear head (what sentence-transformers models such
    as ``all-MiniLM-L6-v2`` are trained for).

    With ``freeze_encoder`` only the head trains: the encoder's parameters get
    ``requires_grad=False`` and keep it through ``requires_grad_(True)`` on the network
    (unlearners leave them alone too), and it always runs in eval mode,
    without dropout, even when the network is put in train mode. Its output for a row of token
    ids then never changes, so the pooled embedding of each row is computed once and memoised
    (:class:`PooledCache`; recomputed automatically when an encoder weight is changed in place;
    kept by ``copy.deepcopy``, which copies the weights exactly) — otherwise every epoch of every
    unlearner would run the whole encoder over the data (MiniLM-L6, 22.7 M parameters: about 3 s
    per pass over 600 texts of 32 tokens on 2 CPU cores). The memo grows with the distinct rows
    seen (one ``dim``-vector each).

    Args:
        path: a hub id (``sentence-transformers/all-MiniLM-L6-v2``), a local folder, or a
            packaged model's short name (``all-MiniLM-L6-v2``: :mod:`erasure.pretrained`). A hub
            id loads from the Hugging Face cache or, online, downloads.
        vocab_size: token ids run from 0 to ``vocab_size - 1`` (from the data; tokenize with
            the encoder's tokenizer).
        pad_id: the id that pads each text (from the data); positions holding it are masked.
        num_classes: number of outputs (from the data).
        freeze_encoder: train the head only: the encoder frozen, always in eval mode, its
            pooled embeddings memoised per row (see above).
        dropout: dropout before the head.

    Known to fail: the token ids must come from the encoder's own tokenizer; ids of another
    vocabulary run but mean nothing to the encoder (only a vocabulary larger than the encoder's
    is caught).
    """

    def __init__(self, path: str = "all-MiniLM-L6-v2", vocab_size: Optional[int] = None,
                 pad_id: Optional[int] = None, num_classes: Optional[int] = None,
                 freeze_encoder: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        check_text_network("PretrainedTextClassifier", vocab_size, pad_id, num_classes)
        transformers = load_transformers("PretrainedTextClassifier")
        self.encoder = from_pretrained("PretrainedTextClassifier", transformers.AutoModel, path)
        check_vocabulary("PretrainedTextClassifier", vocab_size,
                         self.encoder.get_input_embeddings())
        self.pad_id = pad_id
        self.freeze_encoder = freeze_encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.config.hidden_size, num_classes)
        self.cache = PooledCache()
        if freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    def train(self, mode: bool = True) -> "PretrainedTextClassifier":
        if not self.freeze_encoder:
            return super().train(mode)
        # the head and dropout only: the frozen encoder stays in eval mode (not walked at every
        # call: its ~100 modules cost about 3 ms a time)
        self.training = mode
        self.head.train(mode)
        self.dropout.train(mode)
        if self.encoder.training:
            self.encoder.eval()
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "PretrainedTextClassifier":
        # a frozen encoder stays frozen when the whole network is made trainable (as every
        # unlearner's copy of the original is)
        super().requires_grad_(requires_grad)
        if self.freeze_encoder:
            self.encoder.requires_grad_(False)
        return self

    def encode(self, e: torch.Tensor) -> torch.Tensor:
        """Pooled encoder output ``(batch, hidden)`` from token embeddings (zero: padding)."""
        mask = token_mask(e)
        h = self.encoder(inputs_embeds=e, attention_mask=mask.long()).last_hidden_state
        return mean_pool(h, mask)

    def token_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's input embeddings of ``x``, zero at padded positions."""
        return zero_padding(self.encoder.get_input_embeddings()(x), x, self.pad_id)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Token embeddings ``(batch, length, hidden)`` (zero at padding), or with a frozen
        encoder the pooled sentence embeddings ``(batch, hidden)``, memoised per row."""
        if not self.freeze_encoder:
            return self.token_embeddings(x)
        if torch._C._functorch.is_functorch_wrapped_tensor(x):  # under vmap: no bytes to key on
            return self.frozen_encode(x)
        return self.cached(x)

    def frozen_encode(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen encoder's pooled output for ``x``: eval mode, no gradient, never an
        inference tensor (so that a head trained later may save it for its backward pass)."""
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            with torch.inference_mode(False), torch.no_grad():
                return self.encode(self.token_embeddings(x.clone()))
        finally:
            self.encoder.train(was_training)

    def cached(self, x: torch.Tensor) -> torch.Tensor:
        self.cache.refresh(self.encoder)
        if not len(x):
            return self.head.weight.new_zeros((0, self.head.in_features))
        rows = self.cache.rows
        keys = [row.tobytes() for row in x.detach().cpu().numpy()]
        missing = {k: i for i, k in enumerate(keys) if k not in rows}
        if missing:
            pooled = self.frozen_encode(x[list(missing.values())])
            rows.update(zip(missing, pooled))
        return torch.stack([rows[k] for k in keys])

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        """Logits from :meth:`embed`'s output (token embeddings or, frozen, pooled ones)."""
        if not self.freeze_encoder:
            e = self.encode(e)
        return self.head(self.dropout(e))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))

    def __deepcopy__(self, memo: dict) -> "PretrainedTextClassifier":
        # everything as the default deep copy, and the memo's table too while it is valid: the
        # copy's weights equal these exactly (the rows' tensors are shared, never written to)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__setstate__({k: copy.deepcopy(v, memo) for k, v in self.__dict__.items()
                          if k != "cache"})
        new.cache = PooledCache()
        if self.freeze_encoder and self.cache.key == self.cache.state(self.encoder):
            new.cache.rows = self.cache.rows  # equal weights: the same table, no new digest
            new.cache.key = new.cache.state(new.encoder)
        return new


@register
class HuggingFaceSequenceClassifier(nn.Module):
    """``transformers.AutoModelForSequenceClassification`` (encoder and the model family's own
    classification head, ``num_labels=num_classes``), attention mask ``x != pad_id``; returns
    the logits.

    For the embedding-space protocol (module docstring) ``embed`` gives the encoder's input
    embeddings (zero at padding) and ``classify`` runs the whole model on them — also when
    frozen, so no memo: for a fast frozen encoder use :class:`PretrainedTextClassifier`.

    Args:
        path: hub id, local folder or packaged model (as :class:`PretrainedTextClassifier`).
        vocab_size: token ids run from 0 to ``vocab_size - 1`` (from the data; tokenize with
            the model's tokenizer).
        pad_id: the id that pads each text (from the data); positions holding it are masked.
        num_classes: number of outputs (from the data).
        freeze_encoder: train only the classification head: every parameter of the model's
            ``base_model`` (the encoder, a BERT pooler included) gets ``requires_grad=False``
            (kept through ``requires_grad_(True)`` on the network) and runs in eval mode.
    """

    def __init__(self, path: str = "all-MiniLM-L6-v2", vocab_size: Optional[int] = None,
                 pad_id: Optional[int] = None, num_classes: Optional[int] = None,
                 freeze_encoder: bool = False) -> None:
        super().__init__()
        check_text_network("HuggingFaceSequenceClassifier", vocab_size, pad_id, num_classes)
        transformers = load_transformers("HuggingFaceSequenceClassifier")
        self.model = from_pretrained("HuggingFaceSequenceClassifier",
                                     transformers.AutoModelForSequenceClassification, path,
                                     num_labels=num_classes)
        check_vocabulary("HuggingFaceSequenceClassifier", vocab_size,
                         self.model.get_input_embeddings())
        self.pad_id = pad_id
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            self.model.base_model.requires_grad_(False)
            self.model.base_model.eval()

    def train(self, mode: bool = True) -> "HuggingFaceSequenceClassifier":
        super().train(mode)
        if self.freeze_encoder:
            self.model.base_model.eval()
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "HuggingFaceSequenceClassifier":
        super().requires_grad_(requires_grad)
        if self.freeze_encoder:
            self.model.base_model.requires_grad_(False)
        return self

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The model's input embeddings of ``x``, zero at padded positions."""
        return zero_padding(self.model.get_input_embeddings()(x), x, self.pad_id)

    def classify(self, e: torch.Tensor) -> torch.Tensor:
        """Logits from input embeddings (zero vectors are padding)."""
        return self.model(inputs_embeds=e, attention_mask=token_mask(e).long()).logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embed(x))
