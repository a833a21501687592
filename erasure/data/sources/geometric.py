"""PyTorch Geometric datasets: node classification on one graph, or classification of graphs.

The samples are node ids (node task) or graph ids (graph task); the features and edges go into a
:class:`~erasure.data.graph.Graph` that graph networks such as ``GCN`` work on. Partitions are
therefore node sets (or graph sets), and the model retrained without forgotten nodes trains on the
graph without their edges.
"""
from __future__ import annotations

import inspect
from dataclasses import field
from pathlib import Path
from typing import Any, Literal

import torch

from erasure.config.errors import suggest
from erasure.seeding import seeded_value

from ..graph import Graph
from .base import DataLoadError, DataSource, Samples, encode, require
from .unpickling import no_unpickling

#: node masks PyG datasets ship, in the order a node's split is decided
_MASKS = ("train", "val", "test")


class PyGDataSource(DataSource):
    """A ``torch_geometric.datasets`` class by name (needs ``pip install 'erasure[graph]'``).

    Args:
        dataset: the class name: ``Planetoid``, ``KarateClub``, ``FakeDataset``, ``TUDataset``,
            ``MoleculeNet``…
        options: the class's own arguments besides ``root`` (``{"name": "Cora"}`` for Planetoid,
            ``{"name": "MUTAG"}`` for TUDataset, ``{"num_graphs": 1}`` for FakeDataset).
        root: the folder the dataset lives in (``~`` expanded); classes that download read
            ``root`` first and download only with ``download``.
        download: allow downloading raw files missing from ``root``.
        task: ``node`` (the samples are the nodes of one graph), ``graph`` (the samples are the
            graphs of a collection) or ``auto`` (``node`` when the dataset holds one graph).
        target: for datasets with several target columns (MoleculeNet), the column to classify;
            samples whose target is missing are dropped.
        seed: seed for datasets generated at random (``FakeDataset``); the global random state
            is left untouched.

    Node data gets a group ``split`` — the ``train``/``val``/``test`` mask each node is in
    (``unused`` for none) — so a public split is one ``GroupSplit`` away.

    Never unpickles: tensor files load weights-only, raw pickles as plain data, or are refused.
    """

    dataset: str
    options: dict[str, Any] = field(default_factory=dict)
    root: str = "~/.cache/erasure/pyg"
    download: bool = False
    task: Literal["auto", "node", "graph"] = "auto"
    target: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if "root" in self.options:
            raise ValueError("give the folder as 'root', not inside 'options'")

    def load(self) -> Samples:
        root = Path(self.root).expanduser()
        with no_unpickling(f"PyGDataSource: {self.dataset}",
                           f"If '{root}' holds your own copy of the dataset, delete its processed "
                           "folder, or add \"force_reload\": true to options, to rebuild it from "
                           "the raw files; otherwise fetch the raw files from the dataset's "
                           "original source."):
            return self._load()

    def _load(self) -> Samples:
        datasets = require("torch_geometric.datasets", "graph", "PyGDataSource")
        cls = getattr(datasets, self.dataset, None)
        if not inspect.isclass(cls):
            names = [n for n in dir(datasets) if n[:1].isupper()]
            raise DataLoadError(f"PyGDataSource: torch_geometric.datasets has no dataset "
                                f"'{self.dataset}'", suggest(self.dataset, names, "datasets"))
        collection = self._open(cls)
        task = self.task if self.task != "auto" else ("node" if len(collection) == 1 else "graph")
        if task == "node":
            if len(collection) != 1:
                raise DataLoadError(f"PyGDataSource: {self.dataset} holds {len(collection)} graphs; "
                                    "node classification needs one", "Set task to 'graph'.")
            return self._nodes(collection[0])
        return self._graphs(collection)

    def _open(self, cls: type) -> Any:
        root = Path(self.root).expanduser()
        accepted = inspect.signature(cls).parameters
        kwargs = dict(self.options)
        if "root" in accepted:
            kwargs["root"] = str(root)
        refuse = not self.download and _downloads(cls)
        if refuse:
            cls = type(cls.__name__, (cls,), {"download": _refuse(self.dataset, root)})
        try:
            with seeded_value(self.seed):
                return cls(**kwargs)
        except DataLoadError:
            raise
        except TypeError as e:
            raise DataLoadError(f"PyGDataSource: {self.dataset} does not take these options: {e}",
                                f"Its parameters: {', '.join(accepted)}.") from e
        except Exception as e:
            if _is_network(e):
                raise DataLoadError(
                    f"PyGDataSource: cannot download {self.dataset} {self.options or ''} into "
                    f"'{root}': {type(e).__name__}: {e}",
                    "Run once where the network is reachable, or copy the dataset's raw files "
                    "into that folder.") from e
            raise

    def _nodes(self, graph: Any) -> Samples:
        n = graph.num_nodes
        y = self._labels(graph.y, n, "node")
        keep = ~torch.isnan(y) if y.is_floating_point() else torch.ones(n, dtype=torch.bool)
        if not keep.all():
            raise DataLoadError(f"PyGDataSource: {int((~keep).sum())} nodes of {self.dataset} "
                                "have no label", "Node classification needs a label for every node.")
        split = ["unused"] * n
        for name in reversed(_MASKS):
            mask = getattr(graph, f"{name}_mask", None)
            if mask is not None and mask.ndim == 1:
                for i in torch.nonzero(mask).flatten().tolist():
                    split[i] = name
        codes, values = encode(split)
        return Samples(x=torch.arange(n), y=y.long(), groups={"split": codes},
                       group_values={"split": values},
                       graph=Graph(_features(graph, n), graph.edge_index))

    def _graphs(self, collection: Any) -> Samples:
        features, edges, owner, labels = [], [], [], []
        offset = 0
        for i in range(len(collection)):
            graph = collection[i]
            n = graph.num_nodes
            labels.append(self._labels(graph.y, 1, "graph").reshape(1).double())
            features.append(_features(graph, n))
            edges.append(graph.edge_index + offset)
            owner.append(torch.full((n,), i, dtype=torch.long))
            offset += n
        y = torch.cat(labels)
        known = ~torch.isnan(y)
        if not known.any():
            raise DataLoadError(f"PyGDataSource: no graph of {self.dataset} has target {self.target}")
        widths = {f.shape[1] for f in features}
        if len(widths) != 1:
            raise DataLoadError(f"PyGDataSource: the graphs of {self.dataset} have node features of "
                                f"different widths {sorted(widths)}")
        graph = Graph(torch.cat(features), torch.cat(edges, dim=1), torch.cat(owner), len(collection))
        if not known.all():
            # graphs without this target stay in the structure but are not samples
            ids = torch.nonzero(known).flatten()
            return Samples(x=ids, y=y[known].long(), graph=graph)
        return Samples(x=torch.arange(len(collection)), y=y.long(), graph=graph)

    def _labels(self, y: Any, n: int, what: str) -> torch.Tensor:
        if y is None:
            raise DataLoadError(f"PyGDataSource: {self.dataset} has no {what} labels (y)")
        if y.ndim == 2 and y.shape[0] == n:
            if not 0 <= self.target < y.shape[1]:
                raise DataLoadError(f"PyGDataSource: target {self.target} is out of range: "
                                    f"{self.dataset} has {y.shape[1]} target columns")
            y = y[:, self.target]
        y = y.reshape(-1)
        if len(y) != n:
            raise DataLoadError(f"PyGDataSource: {self.dataset} has {len(y)} labels for {n} {what}s")
        if y.is_floating_point():
            known = y[~torch.isnan(y)]
            if not torch.equal(known, known.round()) or (known < 0).any():
                raise DataLoadError(f"PyGDataSource: the {what} targets of {self.dataset} are not "
                                    "class labels (non-integer values): regression is not supported")
        return y


def _features(graph: Any, n: int) -> torch.Tensor:
    """Node features as floats; a constant feature for graphs that have none."""
    x = getattr(graph, "x", None)
    if x is None:
        return torch.ones(n, 1)
    return x.float().reshape(n, -1)


def _downloads(cls: type) -> bool:
    from torch_geometric.data import Dataset, InMemoryDataset

    return any("download" in vars(c) for c in cls.__mro__ if c not in (Dataset, InMemoryDataset))


def _refuse(dataset: str, root: Path):
    def download(self) -> None:
        missing = [p for p in self.raw_paths if not Path(p).exists()]
        raise DataLoadError(
            f"PyGDataSource: {dataset} is not in '{root}' (missing {', '.join(missing[:3])}"
            f"{'…' if len(missing) > 3 else ''}) and download is off",
            "Set \"download\": true where the network is reachable, or copy the raw files there.")
    return download


def _is_network(error: BaseException) -> bool:
    while error is not None:
        module = type(error).__module__.split(".")[0]
        if module in {"aiohttp", "urllib", "requests", "http", "socket", "fsspec"} \
                or isinstance(error, (ConnectionError, TimeoutError)):
            return True
        error = error.__cause__ or error.__context__
    return False
