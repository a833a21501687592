"""Graph data: the structure that node or graph samples live in.

For graph data the samples' ``x`` are sample ids (node ids for node classification, graph ids for
graph classification) and the features live here, in :class:`Graph`. A graph network (``GCN``)
holds the graph it was trained on and answers for the ids it is given — so every unlearner and
measure, which only see ``(x, y)`` batches, work on graphs unchanged.

Forgetting nodes removes their edges: the model retrained without them (the gold model) trains
on :meth:`Graph.without` the forgotten nodes, so it cannot see them through message passing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch


@dataclass(eq=False)
class Graph:
    """Node features and edges; for a collection of graphs, which graph each node belongs to.

    Immutable by convention and shared, never copied: ``copy.deepcopy`` of a model that holds a
    graph shares the graph.

    Attributes:
        features: node features, shape ``(num_nodes, num_features)``, float.
        edge_index: directed edges, shape ``(2, num_edges)``: ``edge_index[0]`` are sources.
        node_graph: for a collection (graph classification), the graph id of every node, shape
            ``(num_nodes,)``; ``None`` for one graph whose nodes are the samples.
        num_graphs: how many graphs the collection holds (0 for node data).
    """

    features: torch.Tensor
    edge_index: torch.Tensor
    node_graph: Optional[torch.Tensor] = None
    num_graphs: int = 0
    _normalized: Optional[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(
        default=None, repr=False)

    def __post_init__(self) -> None:
        self.features = self.features.float()
        self.edge_index = self.edge_index.long()
        if self.features.ndim != 2:
            raise ValueError(f"node features must be (nodes, features), got {tuple(self.features.shape)}")
        if self.edge_index.ndim != 2 or self.edge_index.shape[0] != 2:
            raise ValueError(f"edge_index must be (2, edges), got {tuple(self.edge_index.shape)}")
        if self.edge_index.numel() and int(self.edge_index.max()) >= self.num_nodes:
            raise ValueError(f"an edge points at node {int(self.edge_index.max())}, "
                             f"but there are {self.num_nodes} nodes")
        if self.node_graph is not None:
            self.node_graph = self.node_graph.long()
            if self.num_graphs == 0:
                self.num_graphs = int(self.node_graph.max()) + 1 if len(self.node_graph) else 0

    @property
    def num_nodes(self) -> int:
        return self.features.shape[0]

    @property
    def node_level(self) -> bool:
        """True when the samples are this graph's nodes (node classification)."""
        return self.node_graph is None

    def __deepcopy__(self, memo: dict) -> "Graph":
        return self

    def to(self, device: torch.device | str) -> "Graph":
        return Graph(self.features.to(device), self.edge_index.to(device),
                     None if self.node_graph is None else self.node_graph.to(device), self.num_graphs)

    def without(self, samples: torch.Tensor) -> "Graph":
        """The graph after deleting ``samples``: for node data, every edge touching one of those
        nodes is removed (the nodes stay, isolated, so ids keep their meaning); for a collection,
        the deleted graphs' edges are removed (other graphs never saw them anyway)."""
        if len(samples) == 0:
            return self
        samples = samples.to(self.edge_index.device)
        if self.node_level:
            gone = torch.zeros(self.num_nodes, dtype=torch.bool, device=samples.device)
            gone[samples] = True
        else:
            gone = torch.isin(self.node_graph, samples)
        keep = ~(gone[self.edge_index[0]] | gone[self.edge_index[1]])
        return Graph(self.features, self.edge_index[:, keep], self.node_graph, self.num_graphs)

    def touching(self, nodes: torch.Tensor) -> int:
        """How many edges have an end in ``nodes``."""
        ends = torch.isin(self.edge_index, nodes.to(self.edge_index.device))
        return int(ends.any(0).sum())

    def normalized(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The GCN propagation of Kipf & Welling: ``(source, target, weight)`` of
        D^-1/2 (A + I) D^-1/2, with edges made undirected and duplicates merged; computed once."""
        if self._normalized is None:
            with torch.inference_mode(False), torch.no_grad():  # cached: usable by training later
                self._normalized = self._normalize()
        return self._normalized

    def _normalize(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n = self.num_nodes
        loops = torch.arange(n, device=self.edge_index.device)
        src = torch.cat([self.edge_index[0], self.edge_index[1], loops])
        dst = torch.cat([self.edge_index[1], self.edge_index[0], loops])
        pairs = torch.unique(src * n + dst)
        src, dst = pairs // n, pairs % n
        degree = torch.zeros(n, device=src.device).index_add_(0, dst, torch.ones_like(dst, dtype=torch.float))
        scale = degree.rsqrt()
        return src, dst, scale[src] * scale[dst]
