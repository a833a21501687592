"""Data sources: one module per family. Each returns :class:`Samples` from :meth:`load`."""
from .base import DataSource, Samples
from .sklearn import SklearnDataSource

__all__ = ["DataSource", "Samples", "SklearnDataSource"]
