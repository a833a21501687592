"""Data: sources (where samples come from), splitters (named partitions), tokenizers (texts to
token ids), the manager (all three)."""
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
from .tokenizers import HuggingFaceTokenizer, Tokenizer, WordTokenizer

__all__ = ["ALL", "ClassSplit", "ConcatSplit", "CountSplit", "Data", "DataSource",
           "DatasetManager", "Graph", "GroupSplit", "HuggingFaceTokenizer", "IdsSplit", "PercentageSplit", "Samples", "SklearnDataSource",
           "Splitter", "StratifiedSplit", "TokenInfo", "Tokenizer", "WordTokenizer"]
