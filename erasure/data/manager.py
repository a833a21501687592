"""The dataset manager: samples held once, partitions as index sets, and fast batches."""
from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict
from typing import Annotated, Iterator, Optional

import torch

from erasure.config import BatchSize, Component, ConfigError, PartitionName, Problem, Slot
from erasure.config.errors import suggest
from erasure.config.registry import full_name
from erasure.seeding import generator as make_generator

from .graph import Graph
from .sources.base import DataLoadError, DataSource, Samples, TokenInfo
from .splits import Splitter
from .tokenizers.base import Tokenizer

ALL = "all"
#: How many encoded datasets the per-process token cache keeps (the oldest is dropped first).
TOKEN_CACHE_SIZE = 4
#: Token ids already encoded in this process, by :func:`_token_key`: the ids and their info.
_encoded: OrderedDict[str, tuple[torch.Tensor, TokenInfo]] = OrderedDict()


class DatasetManager(Component):
    """Loads the samples once and builds the named partitions.

    Args:
        DataSource: where the samples come from.
        partitions: the chain of splitters, applied in order; each reads partitions already
            written (``"all"`` to start) and writes new names.
        batch_size: batch size for evaluating models (large batches are cheap under inference).
        standardize: when set, features are standardised with the mean and standard deviation of
            this partition only (e.g. ``"train"``), so no statistic leaks from test data.
        tokenizer: for a source that gives texts (its ``text_column``), what turns them into
            token ids (``WordTokenizer``, ``HuggingFaceTokenizer``); required then, refused
            otherwise. The ids (``(n, length)`` integers) become the samples' ``x``.
        tokenizer_fit_on: the partition whose texts the tokenizer is fitted on (a vocabulary
            learnt from the training texts only; pretrained tokenizers learn nothing). Checked
            against the chain when a tokenizer is given.

    Token ids are computed once per process: a second load of the same texts with the same
    tokenizer (another seed, another session) takes them from memory.
    """

    kind_name = "dataset manager"

    DataSource: DataSource
    partitions: list[Splitter] = ()
    batch_size: BatchSize = 256
    standardize: Optional[PartitionName] = None
    tokenizer: Annotated[Optional[Tokenizer], Slot(Tokenizer, lazy=False)] = None
    tokenizer_fit_on: str = "train"

    def chain_problems(self, path: str) -> tuple[list[Problem], set[str]]:
        """Checks the partition chain by name alone (before any data is loaded).

        Returns:
            ``(problems, every partition name the chain writes, "all" included)``.
        """
        problems, known = [], {ALL}
        for i, splitter in enumerate(self.partitions):
            where = f"{path}.partitions[{i}].parameters"
            for name in splitter.reads():
                if name not in known:
                    problems.append(Problem(f"{where}.ref_data",
                                            f"partition '{name}' is not written before this splitter",
                                            f"Written so far: {', '.join(sorted(known))}."))
            for name in splitter.parts_names:
                if name in known:
                    problems.append(Problem(f"{where}.parts_names",
                                            f"partition '{name}' is already written earlier"))
                known.add(name)
        if self.tokenizer is not None and self.tokenizer_fit_on not in known:
            problems.append(Problem(f"{path}.tokenizer_fit_on",
                                    f"unknown partition '{self.tokenizer_fit_on}'",
                                    suggest(self.tokenizer_fit_on, known, "partitions")))
        return problems, known

    def fingerprint(self) -> str | None:
        """What the files the data is made of look like now (the source's, and the tokenizer's
        when it reads any), for the model cache; ``None`` when the config alone determines the
        data. Taken before loading."""
        source = self.DataSource.fingerprint()
        tokenizer = self.tokenizer.fingerprint() if self.tokenizer is not None else None
        if tokenizer is None:
            return source
        return f"{source}+tokenizer:{tokenizer}" if source is not None else f"tokenizer:{tokenizer}"

    def load(self, seed: int, device: torch.device | str = "cpu", path: str = "data.parameters") -> "Data":
        """Loads the samples and applies the partition chain.

        Raises:
            ConfigError: a splitter cannot split the data it reads (an empty part, ids or a class
                absent from it), with the splitter's place in the config.
        """
        try:
            samples = self.DataSource.load()
        except DataLoadError as e:
            raise ConfigError.single(f"{path}.DataSource", e.message, e.hint or "") from e
        parts = {ALL: torch.arange(len(samples.y))}
        for i, splitter in enumerate(self.partitions):
            index = torch.unique(torch.cat([parts[name] for name in splitter.reads()]))
            try:
                written = splitter.split(index, samples,
                                         make_generator(seed, "split", *splitter.parts_names))
            except ValueError as e:
                raise ConfigError.single(f"{path}.partitions[{i}]", str(e)) from e
            for name, part in zip(splitter.parts_names, written):
                parts[name] = torch.sort(part).values
        samples = self._tokenized(samples, parts, path)
        if self.standardize is not None and samples.tokens is not None:
            raise ConfigError.single(f"{path}.standardize",
                                     "text data holds token ids; standardize applies to feature "
                                     "tensors only", "Remove standardize.")
        if self.standardize is not None and samples.graph is not None:
            raise ConfigError.single(f"{path}.standardize",
                                     "graph data keeps its node features in the graph; "
                                     "standardize applies to feature tensors only")
        if self.standardize is not None:
            reference = samples.x[parts[self.standardize]]
            mean, std = reference.mean(0), reference.std(0)
            # a feature constant on the reference partition is centred, not divided by ~0
            # (as scikit-learn's StandardScaler does): it would blow up on other partitions
            std = torch.where(std > 1e-8, std, torch.ones_like(std))
            samples.x = (samples.x - mean) / std
        return Data(samples, parts, torch.device(device), self.batch_size)

    def _tokenized(self, samples: Samples, parts: dict[str, torch.Tensor], path: str) -> Samples:
        """The samples with their texts encoded as token ids (the tokenizer fitted on the texts
        of ``tokenizer_fit_on``), from the per-process cache when it holds them; samples without
        texts as they are."""
        if samples.texts is None:
            if self.tokenizer is not None:
                raise ConfigError.single(f"{path}.tokenizer",
                                         "a tokenizer is given, but the data source gives no "
                                         "texts", "Set the source's text_column, or remove the "
                                         "tokenizer.")
            return samples
        if self.tokenizer is None:
            raise ConfigError.single(f"{path}.tokenizer",
                                     "the data source gives texts (its text_column), which need "
                                     "a tokenizer to become token ids",
                                     'Add e.g. "tokenizer": {"class": "WordTokenizer"}.')
        fit_index = parts[self.tokenizer_fit_on]
        key = _token_key(self.tokenizer, samples.texts, fit_index)
        if key in _encoded:
            _encoded.move_to_end(key)
            ids, info = _encoded[key]
        else:
            try:
                self.tokenizer.fit([samples.texts[i] for i in fit_index.tolist()])
                ids, info = self.tokenizer.encode(samples.texts), self.tokenizer.info()
            except DataLoadError as e:
                raise ConfigError.single(f"{path}.tokenizer", e.message, e.hint or "") from e
            ids = ids.long()
            if ids.ndim != 2 or len(ids) != len(samples.texts):
                raise ValueError(f"{type(self.tokenizer).__name__}.encode returned shape "
                                 f"{tuple(ids.shape)} for {len(samples.texts)} texts; expected "
                                 "(texts, length)")
            _encoded[key] = (ids, info)
            while len(_encoded) > TOKEN_CACHE_SIZE:
                _encoded.popitem(last=False)
        # a copy: the cached ids stay as encoded even if someone writes into the shared data
        return Samples(x=ids.clone(), y=samples.y, groups=samples.groups,
                       group_values=samples.group_values, class_names=samples.class_names,
                       graph=samples.graph, tokens=info)


class Data:
    """The loaded samples (on the experiment's device) and their named partitions.

    Nothing here is copied per unlearner or per measure: partitions are index tensors and batches
    are gathered on demand.
    """

    def __init__(self, samples: Samples, partitions: dict[str, torch.Tensor],
                 device: torch.device, eval_batch_size: int = 256) -> None:
        self.x = samples.x.to(device)
        self.y = samples.y.to(device)
        self.groups = {k: v.to(device) for k, v in samples.groups.items()}
        self.group_values = samples.group_values
        self.graph: Graph | None = None if samples.graph is None else samples.graph.to(device)
        self.class_names = samples.class_names
        #: token ids' vocabulary size and padding id, for text data (``None`` otherwise)
        self.vocab_size = samples.tokens.vocab_size if samples.tokens is not None else None
        self.pad_id = samples.tokens.pad_id if samples.tokens is not None else None
        self.partitions = {k: v.to(device) for k, v in partitions.items()}
        self.device = device
        self.eval_batch_size = eval_batch_size
        labels_seen = int(self.y.max().item()) + 1 if len(self.y) else 0
        self.num_classes = max(len(samples.class_names or ()), labels_seen)
        self.input_shape = tuple(self.x.shape[1:])

    def versions(self) -> tuple[int, ...]:
        """The in-place modification counters of every tensor held: a change between two calls
        means someone wrote into the shared data."""
        tensors = [self.x, self.y, *self.groups.values(), *self.partitions.values()]
        if self.graph is not None:
            tensors += [self.graph.features, self.graph.edge_index]
        return tuple(t._version for t in tensors)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.partitions[name]

    def with_partitions(self, partitions: dict[str, torch.Tensor]) -> "Data":
        """The same samples (shared, not copied) with other named partitions: only these."""
        other = copy.copy(self)
        other.partitions = {k: torch.sort(v.to(self.device)).values for k, v in partitions.items()}
        return other

    def sizes(self) -> dict[str, int]:
        return {name: len(index) for name, index in self.partitions.items()}

    def tensors(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """All of a partition's samples and labels at once."""
        index = self.partitions[name]
        return self.x[index], self.y[index]

    def batches(self, name: str, batch_size: int | None = None, *, shuffle: bool = False,
                generator: torch.Generator | None = None,
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yields ``(x, y)`` batches of a partition; the last batch may be smaller (nothing is
        dropped). With ``shuffle``, the order is drawn from ``generator``."""
        yield from self.index_batches(self.partitions[name], batch_size, shuffle=shuffle,
                                      generator=generator)

    def index_batches(self, index: torch.Tensor, batch_size: int | None = None, *,
                      shuffle: bool = False, generator: torch.Generator | None = None,
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Like :meth:`batches` for an explicit index tensor."""
        size = batch_size or self.eval_batch_size
        if shuffle:
            index = index[torch.randperm(len(index), generator=generator).to(index.device)]
        for start in range(0, len(index), size):
            chunk = index[start:start + size]
            yield self.x[chunk], self.y[chunk]


def _token_key(tokenizer: Tokenizer, texts: list[str], fit_index: torch.Tensor) -> str:
    """What determines a dataset's token ids: the tokenizer (class, parameters, files), the
    texts and the fitting partition."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    config = getattr(tokenizer, "config", None) or {"class": full_name(type(tokenizer)),
                                                     "parameters": repr(tokenizer)}
    described = json.dumps({"tokenizer": config, "files": tokenizer.fingerprint()},
                           sort_keys=True, default=str)
    parts = [described, digest.hexdigest(),
             hashlib.sha256(fit_index.cpu().long().numpy().tobytes()).hexdigest()]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
