"""Data sources: one module per family. Each returns :class:`Samples` from :meth:`load`.

Optional packages (PyTorch Geometric, Hugging Face ``datasets``, ``ucimlrepo``, pandas) are
imported only when a source loads, so every source is registered without them.
"""
from .base import DataLoadError, DataSource, Samples, TokenInfo, encode, require
from .files import ImageFolderDataSource, TableDataSource
from .geometric import PyGDataSource
from .huggingface import HuggingFaceDataSource
from .sklearn import SklearnDataSource
from .uci import UCIDataSource
from .vision import TorchVisionDataSource

__all__ = ["DataLoadError", "DataSource", "HuggingFaceDataSource", "ImageFolderDataSource",
           "PyGDataSource", "Samples", "SklearnDataSource", "TableDataSource", "TokenInfo", "TorchVisionDataSource",
           "UCIDataSource", "encode", "require"]
