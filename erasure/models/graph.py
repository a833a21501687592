"""Graph networks: a GCN family for node and graph classification, in plain PyTorch.

A graph network holds the :class:`~erasure.data.graph.Graph` it works on and takes sample ids
(node ids, or graph ids for a collection), so it trains and evaluates through the same ``(x, y)``
batches as any other network. No PyTorch Geometric is needed to run it.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from erasure.config import register
from erasure.config.checks import layer_widths
from erasure.data.graph import Graph


class GraphConv(nn.Module):
    """One graph convolution of Kipf & Welling (2017): ``H' = D^-1/2 (A+I) D^-1/2 H W``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, h: torch.Tensor, graph: Graph) -> torch.Tensor:
        src, dst, weight = graph.normalized()
        h = h @ self.linear.weight.T
        out = torch.zeros_like(h).index_add(0, dst, h[src] * weight.unsqueeze(1))
        return out + self.linear.bias


@register
class GCN(nn.Module):
    """A graph convolutional network (Kipf & Welling, ICLR 2017).

    For node classification every layer is a graph convolution and the output for a node id is
    its row of the last layer. For a collection of graphs, the convolutions are followed by a
    mean over each graph's nodes and a linear classifier. Each forward pass propagates over the
    whole graph held (full-batch, as in the paper), so use a batch size covering the training
    nodes for the paper's training regime.

    Args:
        graph: the graph (filled in by the pipeline: the original gets the full graph, the model
            retrained without forgotten nodes gets the graph without their edges).
        num_classes: number of outputs (from the data).
        hidden: width of each hidden graph convolution.
        dropout: dropout on the input of every layer while training.
    """

    def __init__(self, graph: Optional[Graph] = None, num_classes: Optional[int] = None,
                 hidden: Sequence[int] = (16,), dropout: float = 0.5) -> None:
        super().__init__()
        self.check_parameters(hidden=hidden)
        if graph is None or num_classes is None:
            raise ValueError("GCN needs the graph data it works on (a graph data source)")
        self.graph = graph
        widths = [graph.features.shape[1], *hidden]
        self.convs = nn.ModuleList(GraphConv(a, b) for a, b in zip(widths, widths[1:]))
        if graph.node_level:
            self.convs.append(GraphConv(widths[-1], num_classes))
            self.head = None
        else:
            self.head = nn.Linear(widths[-1], num_classes)
        self.dropout = nn.Dropout(dropout)

    @staticmethod
    def check_parameters(*, hidden: Sequence[int] = (), **_: object) -> None:
        """The checks that need no data (run by ``--validate``)."""
        layer_widths("hidden", hidden)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        graph = self.graph
        h = graph.features
        for i, conv in enumerate(self.convs):
            h = conv(self.dropout(h), graph)
            if i < len(self.convs) - 1 or self.head is not None:
                h = torch.relu(h)
        if self.head is None:
            return h[ids.reshape(-1).long()]
        sums = torch.zeros(graph.num_graphs, h.shape[1], dtype=h.dtype, device=h.device)
        sums = sums.index_add(0, graph.node_graph, h)
        counts = torch.bincount(graph.node_graph, minlength=graph.num_graphs).clamp(min=1)
        pooled = sums / counts.unsqueeze(1).to(h.dtype)
        return self.head(self.dropout(pooled[ids.reshape(-1).long()]))


def use_graph(model: nn.Module, graph: Graph) -> int:
    """Points every graph network inside ``model`` at ``graph``; returns how many it changed."""
    changed = 0
    for module in model.modules():
        if isinstance(getattr(module, "graph", None), Graph):
            module.graph = graph
            changed += 1
    return changed


def graphs_of(model: nn.Module) -> list[Graph]:
    """The graphs held by the graph networks inside ``model``."""
    return [m.graph for m in model.modules() if isinstance(getattr(m, "graph", None), Graph)]
