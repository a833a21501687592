"""Data: sources (where samples come from), splitters (named partitions), the manager (both)."""
from .graph import Graph
from .manager import ALL, Data, DatasetManager
from .sources import DataSource, Samples, SklearnDataSource, TokenInfo
from .splits import (
                     ClassSplit,
                     ConcatSplit,
                     CountSplit,
                     GroupSplit,
                     IdsSplit,
                     PercentageSplit,
                     Splitter,
                     StratifiedSplit,
)

__all__ = ["ALL", "ClassSplit", "ConcatSplit", "CountSplit", "Data", "DataSource",
           "DatasetManager", "Graph", "GroupSplit", "IdsSplit", "PercentageSplit", "Samples", "SklearnDataSource",
           "Splitter", "StratifiedSplit", "TokenInfo"]
