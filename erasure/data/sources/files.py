"""Local files: a CSV / parquet table (TableDataSource) and a folder of images with a labels
file (ImageFolderDataSource)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .base import DataLoadError, DataSource, Samples, files_fingerprint, require
from .tables import (check_columns, complete_rows, frame_to_samples, labelled_samples,
                     text_samples)

#: Table formats by file extension, and the default separator of the text ones.
SEPARATORS = {".csv": ",", ".tsv": "\t"}
PARQUET = (".parquet", ".pq")


class TableDataSource(DataSource):
    """A table in a local file, one row per sample: CSV (``.csv``), tab-separated (``.tsv``) or
    parquet (``.parquet``, ``.pq``; needs ``pyarrow``), told apart by the extension.

    Numeric columns become features as they are (set the data manager's ``standardize`` to
    ``"train"`` to standardise them with training statistics only); text and boolean columns are
    one-hot encoded, values in sorted order. A text label column gets a sorted label map.

    Args:
        path: the file (``~`` is expanded; a relative path is read from the working folder).
        label_column: the column to predict.
        feature_columns: the feature columns (default: every column but the label and the groups).
        group_columns: columns carried as groups (for forgetting by group, e.g. a user id), not
            as features.
        drop_missing: drop rows with a missing value in a used column; otherwise they are an error.
        separator: the field separator of a text table (default ``,`` for ``.csv``, a tab for
            ``.tsv``).
        text_column: a column of free text, for text classification: each row's text is kept as
            it is (``Samples.texts``, ``x`` empty) for the data manager's ``tokenizer``, and no
            feature column is used (so ``feature_columns`` must be left out). Every value must
            be a string.

    Never unpickles: csv and parquet are read as data (pandas' pickle reader is never used).
    """

    path: str
    label_column: str = "label"
    feature_columns: list[str] | None = None
    group_columns: list[str] = ()
    drop_missing: bool = True
    separator: str | None = None
    text_column: str | None = None

    def __post_init__(self) -> None:
        _check_table_name(self.path, "path", self.separator)
        if self.feature_columns is not None and not self.feature_columns:
            raise ValueError("feature_columns is empty: leave it out to use every other column")
        if self.text_column is not None:
            if self.feature_columns is not None:
                raise ValueError("give either text_column (the text is the input) or "
                                 "feature_columns, not both")
            if self.text_column == self.label_column or self.text_column in self.group_columns:
                raise ValueError(f"text_column '{self.text_column}' is also the label or a group")

    def fingerprint(self) -> str:
        return files_fingerprint([Path(self.path)])

    def load(self) -> Samples:
        path = Path(self.path).expanduser()
        source = f"TableDataSource '{self.path}'"
        frame = read_table(path, self.separator, source, "files")
        if self.text_column is not None:
            what = f"the table {path}"
            columns = [self.label_column, *self.group_columns, self.text_column]
            check_columns(columns, [str(c) for c in frame.columns], source, what)
            frame = complete_rows(frame, columns, source, what, self.drop_missing)
            if len(frame) == 0:
                raise DataLoadError(f"{source}: {what} has no complete rows")
            return text_samples(frame, self.text_column, self.label_column, source,
                                group_columns=self.group_columns, what=what)
        return frame_to_samples(frame, self.label_column, source, features=self.feature_columns,
                                group_columns=self.group_columns, what=f"the table {path}",
                                drop_missing=self.drop_missing)


class ImageFolderDataSource(DataSource):
    """A folder of images and a labels table naming each image's file and label (and optionally
    its groups), one row per sample, in the table's order::

        file,label,writer
        img/0001.png,cat,17
        img/0002.png,dog,4

    Images are read with Pillow as 8-bit grayscale or RGB (an alpha channel is dropped) and
    returned as floats in [0, 1], shape ``(n, C, H, W)`` with ``C`` 1 or 3.

    Args:
        folder: the image folder; file names in the labels table are relative to it.
        labels_file: the labels table (CSV, TSV or parquet), relative to ``folder`` unless
            absolute.
        file_column: the labels table's column of image file names.
        label_column: the labels table's column of labels (text labels get a sorted label map).
        group_columns: columns of the labels table carried as groups (for forgetting by group).
        size: ``[height, width]`` to resize every image to (bilinear); without it every image must
            have the same size.
        grayscale: read images as one channel; otherwise as three (RGB).
        drop_missing: drop rows of the labels table with a missing file name, label or group;
            otherwise they are an error.
        separator: the field separator of a text labels table (default from its extension).

    Never unpickles: the labels table is read as data, the images with Pillow.
    """

    folder: str
    labels_file: str = "labels.csv"
    file_column: str = "file"
    label_column: str = "label"
    group_columns: list[str] = ()
    size: list[int] | None = None
    grayscale: bool = False
    drop_missing: bool = True
    separator: str | None = None

    def __post_init__(self) -> None:
        _check_table_name(self.labels_file, "labels_file", self.separator)
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"size must be [height, width] with both at least 1, got {self.size}")

    def fingerprint(self) -> str:
        folder = Path(self.folder).expanduser()
        return files_fingerprint([folder, folder / Path(self.labels_file).expanduser()])

    def load(self) -> Samples:
        require("PIL", "files", "ImageFolderDataSource")
        folder = Path(self.folder).expanduser()
        source = f"ImageFolderDataSource '{self.folder}'"
        if not folder.is_dir():
            raise DataLoadError(f"{source}: no folder {folder.resolve()}",
                                "Set folder to the folder that holds the images.")
        table_path = folder / Path(self.labels_file).expanduser()
        frame = read_table(table_path, self.separator, source, "files")
        columns = [self.file_column, self.label_column, *self.group_columns]
        check_columns(columns, [str(c) for c in frame.columns], source, f"the labels file {table_path}")
        frame = complete_rows(frame, columns, source, str(table_path), self.drop_missing)
        if len(frame) == 0:
            raise DataLoadError(f"{source}: the labels file {table_path} lists no image")
        files = [folder / str(name) for name in frame[self.file_column]]
        missing = [f for f in files if not f.is_file()]
        if missing:
            shown = ", ".join(str(f.relative_to(folder)) for f in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DataLoadError(f"{source}: {len(missing)} of the {len(files)} images listed in "
                                f"{table_path} are not in {folder}: {shown}{more}",
                                f"Column '{self.file_column}' must hold file names relative to "
                                "the folder.")
        x = torch.from_numpy(np.stack(self._images(files, folder, source))).float().div_(255)
        x = x.unsqueeze(1) if self.grayscale else x.permute(0, 3, 1, 2).contiguous()
        return labelled_samples(x, frame, self.label_column, self.group_columns)

    def _images(self, files: list[Path], folder: Path, source: str) -> list[np.ndarray]:
        from PIL import Image, UnidentifiedImageError

        mode = "L" if self.grayscale else "RGB"
        arrays, first = [], None
        for path in files:
            try:
                with Image.open(path) as image:
                    image = image.convert(mode)
                    if self.size is not None:
                        height, width = self.size
                        image = image.resize((width, height), Image.Resampling.BILINEAR)
                    array = np.asarray(image, dtype=np.uint8)
            except (OSError, UnidentifiedImageError) as e:
                raise DataLoadError(f"{source}: cannot read the image {path} ({e})") from e
            if first is None:
                first = (path, array.shape)
            elif array.shape != first[1]:
                raise DataLoadError(
                    f"{source}: images differ in size: {first[0].relative_to(folder)} is "
                    f"{_size(first[1])}, {path.relative_to(folder)} is {_size(array.shape)}",
                    "Set size to [height, width] to resize every image to it.")
            arrays.append(array)
        return arrays


def read_table(path: Path, separator: str | None, source: str, extra: str) -> Any:
    """A CSV / TSV / parquet file as a DataFrame, or one :class:`DataLoadError` naming the path."""
    pd = require("pandas", extra, source)
    if not path.is_file():
        raise DataLoadError(f"{source}: no file {path.resolve()}",
                            f"Check the path (a relative path is read from {Path.cwd()}).")
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET:
            require("pyarrow", extra, source)
            return pd.read_parquet(path)
        return pd.read_csv(path, sep=separator or SEPARATORS.get(suffix, ","))
    except (OSError, ValueError) as e:  # pandas' parser errors are ValueErrors
        raise DataLoadError(f"{source}: cannot read the table {path} ({type(e).__name__}: {e})") from e


def _check_table_name(name: str, parameter: str, separator: str | None) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in (*SEPARATORS, *PARQUET):
        raise ValueError(f"{parameter} '{name}' must end with one of "
                         f"{', '.join((*SEPARATORS, *PARQUET))}")
    if separator == "":
        raise ValueError("separator is empty")
    if separator is not None and suffix in PARQUET:
        raise ValueError(f"separator applies to CSV/TSV files, not to the parquet file '{name}'")


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[0]}×{shape[1]}"
