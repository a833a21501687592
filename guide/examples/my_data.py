"""Chapter 4: your own data source and your own splitter. ``data.jsonc`` names them."""
from __future__ import annotations

import csv

import torch

from erasure import DataLoadError, DataSource, Samples, Splitter


class CsvSource(DataSource):
    """A CSV file with a header row: one integer label column, every other column a numeric
    feature (in file order).

    Args:
        path: the file; a relative path is read from the folder you run ``python main.py`` in.
        label_column: the column to predict.
    """

    path: str
    label_column: str = "label"

    def load(self) -> Samples:
        try:
            with open(self.path, newline="") as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            raise DataLoadError(f"CsvSource cannot read {self.path}: {e.strerror}",
                                "Give a path relative to the folder you run from.") from e
        columns = list(rows[0]) if rows else []
        if self.label_column not in columns:
            raise DataLoadError(f"CsvSource: {self.path} has no column '{self.label_column}'",
                                f"Its columns: {', '.join(columns)}.")
        features = [c for c in columns if c != self.label_column]
        x = torch.tensor([[float(row[c]) for c in features] for row in rows])
        y = torch.tensor([int(row[self.label_column]) for row in rows])
        return Samples(x=x, y=y)


class ThresholdSplit(Splitter):
    """The first part is every sample whose feature ``feature`` (a column position) is above
    ``threshold``; the second is the rest of ``ref_data``.

    Args:
        feature: the feature's position in a sample (0 is the first feature column).
        threshold: samples strictly above it go to the first part.
    """

    feature: int
    threshold: float

    def split(self, index, samples, generator):
        above = samples.x[index, self.feature] > self.threshold
        if above.all() or not above.any():
            raise ValueError(f"feature {self.feature} > {self.threshold} holds for "
                             f"{int(above.sum())} of the {len(index)} samples of "
                             f"'{self.ref_data}': one part would be empty")
        return [index[above], index[~above]]
