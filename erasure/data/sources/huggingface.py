"""Hugging Face datasets: a hub dataset id, a folder made by ``save_to_disk``, or local data files.

Needs the optional ``datasets`` package (``pip install 'erasure[hf]'``).

Offline behaviour: a local path is always read with the hub switched off, so it never touches the
network. A hub id is loaded with :func:`datasets.load_dataset`; before that, one short request
(a few seconds at most) checks that the hub answers. When it does not, the load runs in the
library's offline mode, which reads a copy cached by an earlier run and otherwise fails at once —
instead of the library's retry loop, which is slow to end in a connection traceback
(bench/README.md). The offline switch is set only around the call and restored afterwards.
"""
from __future__ import annotations

import contextlib
import glob
import importlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from erasure import pretrained

from .base import DataLoadError, DataSource, Samples, files_fingerprint
from .tables import check_columns, frame_to_samples, labelled_samples, text_samples
from .unpickling import no_unpickling

log = logging.getLogger(__name__)

#: Data file extensions and the ``datasets`` builder that reads them.
FILE_BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json",
                 ".parquet": "parquet"}
#: The group every sample gets: the split it comes from.
SPLIT_GROUP = "split"
#: A text feature column with more distinct values than this is free text, not a category.
MAX_CATEGORIES = 1000
#: Seconds the hub reachability check may take.
HUB_CHECK_TIMEOUT = pretrained.HUB_CHECK_TIMEOUT


class HuggingFaceDataSource(DataSource):
    """A dataset of the Hugging Face ``datasets`` library.

    Args:
        path: where the data is, one of
            - a hub dataset id (``"ylecun/mnist"``, ``"uoft-cs/cifar10"``), downloaded into
              ``cache_dir`` on first use and read from there afterwards, offline too;
            - a folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``;
            - a folder of data files (e.g. a clone of a hub dataset repository, or ``train.csv``
              and ``test.csv``): its splits are named after the files, as the library does;
            - a csv / tsv / json / jsonl / parquet file, or a glob of them (one split, ``train``).
        name: the hub dataset's configuration (e.g. ``"cola"`` of ``"nyu-mll/glue"``).
        splits: the splits to load, concatenated in this order. Each sample's split is kept as
            the group ``"split"`` (codes in this order, ``group_values["split"]`` = these names),
            so a splitter can forget or hold out by split.
        revision: a hub branch, tag or commit, to pin the data.
        cache_dir: where the library caches downloads and prepared data (default: its own,
            ``~/.cache/huggingface/datasets`` or ``$HF_DATASETS_CACHE``).
        label_column: the class label. A ``ClassLabel`` column keeps its integer ids and gives
            the class names; text labels get a sorted label map; integers 0..C-1 stay as they are.
            Rows without a label (``-1`` or missing, as in unlabelled test splits) are dropped.
        feature_columns: the feature columns of a table. Default: when the data has an image
            column, the image alone; otherwise every column but the label and the groups.
            Numeric columns become float features as they are, text / boolean columns one-hot
            columns in sorted order, and fixed-length numeric lists (e.g. embeddings) one
            feature per element. Naming feature columns uses them even when there is an image.
        group_columns: columns carried as groups for forgetting by group (integers kept, text
            encoded in sorted order, ``ClassLabel`` ids kept with their names as group values).
        image_column: the image column (a ``datasets.Image`` feature). Default: the dataset's
            image column when it has exactly one. The images become the features, a float tensor
            ``(n, C, H, W)`` in [0, 1] (8-bit images divided by 255, 16-bit ones by 65535,
            grayscale with C = 1); every other column but the label and the groups is ignored.
        image_mode: convert every image to this PIL mode (``"L"`` grayscale, ``"RGB"``, ``"RGBA"``)
            — needed when a dataset mixes modes.
        image_size: resize every image to ``[height, width]`` (bilinear) — needed when a dataset
            mixes sizes.
        text_column: a column of free text (``"text"`` of ``"stanfordnlp/imdb"``), for text
            classification: each sample's text is kept as it is (``Samples.texts``, ``x`` empty)
            for the data manager's ``tokenizer``; no feature or image column is used (so
            ``feature_columns`` and ``image_column`` must be left out). Every value must be a
            string.

    Gated or private hub datasets use the token of ``hf auth login`` or ``$HF_TOKEN``.

    Never unpickles: tables are read as data, tensor and numpy entries as plain data, or refused.
    """

    path: str
    name: str | None = None
    splits: list[str] = ("train",)
    revision: str | None = None
    cache_dir: str | None = None
    label_column: str = "label"
    feature_columns: list[str] | None = None
    group_columns: list[str] = ()
    image_column: str | None = None
    image_mode: Literal["L", "RGB", "RGBA"] | None = None
    image_size: tuple[int, int] | None = None
    text_column: str | None = None

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("path must name a hub dataset id, a folder or a data file")
        if not self.splits:
            raise ValueError("splits must name at least one split")
        if len(set(self.splits)) != len(self.splits):
            raise ValueError(f"splits are repeated: {list(self.splits)}")
        if self.label_column in self.group_columns:
            raise ValueError(f"the label column '{self.label_column}' cannot also be a group")
        if SPLIT_GROUP in self.group_columns:
            raise ValueError(f"group '{SPLIT_GROUP}' is the split of each sample, added by the "
                             "source; it cannot be a group column")
        if self.feature_columns is not None:
            if not self.feature_columns:
                raise ValueError("feature_columns is empty: leave it out to use every column")
            clash = [c for c in self.feature_columns
                     if c == self.label_column or c in self.group_columns]
            if clash:
                raise ValueError(f"feature_columns {clash} are also the label or a group")
            if self.image_column is not None:
                raise ValueError("give either image_column (the image is the features) or "
                                 "feature_columns, not both")
        if self.text_column is not None:
            if self.feature_columns is not None or self.image_column is not None:
                raise ValueError("give either text_column (the text is the input) or "
                                 "feature_columns / image_column, not both")
            if self.text_column == self.label_column or self.text_column in self.group_columns:
                raise ValueError(f"text_column '{self.text_column}' is also the label or a group")
        if self.image_size is not None and min(self.image_size) < 1:
            raise ValueError(f"image_size must be two positive sizes, got {list(self.image_size)}")

    # ----------------------------------------------------------------------------- loading

    def fingerprint(self) -> str | None:
        """Local files and folders are fingerprinted; a hub id is pinned by ``revision``."""
        if not _looks_local(self.path):
            return None
        pattern = Path(self.path).expanduser()
        if any(c in self.path for c in "*?["):
            return files_fingerprint(sorted(pattern.parent.glob(pattern.name)))
        return files_fingerprint([pattern])

    def load(self) -> Samples:
        with no_unpickling(self._name(), "Use data files holding plain data (csv, json, parquet, "
                                         "arrow) or a save_to_disk folder made from them."):
            return self._load()

    def _load(self) -> Samples:
        datasets = _require_datasets()
        parts = self._read(datasets)
        columns = list(parts[0][1].column_names)
        text = self.text_column
        image = None if text is not None else self._image_column(parts[0][1], columns)
        used = [self.label_column, *self.group_columns]
        if text is not None:
            used.append(text)
        elif image is None:
            used += self.feature_columns or [c for c in columns if c not in used]
        for split, part in parts:
            check_columns(used + ([image] if image else []), list(part.column_names),
                          self._name(), f"split '{split}' of {self._what()}")
        table = self._concatenate(datasets, [part.select_columns(used) for _, part in parts])
        split_codes = torch.cat([torch.full((len(part),), i, dtype=torch.long)
                                 for i, (_, part) in enumerate(parts)])
        frame = table.to_pandas()
        keep = self._complete_rows(frame, table.features)
        frame = frame[keep].reset_index(drop=True)
        frame[self.label_column] = _integral(frame[self.label_column])
        split_codes = split_codes[torch.from_numpy(keep)]
        if len(frame) == 0:
            raise DataLoadError(f"{self._name()}: {self._what()} has no labelled, complete rows")
        if text is not None:
            samples = text_samples(frame, text, self.label_column, self._name(),
                                   group_columns=self.group_columns, what=self._what())
        elif image is None:
            samples = self._table_samples(frame, used[len(self.group_columns) + 1:])
        else:
            images = self._images(parts, image, np.flatnonzero(keep))
            samples = labelled_samples(images, frame, self.label_column, self.group_columns)
        self._apply_class_labels(samples, frame, table.features)
        samples.groups[SPLIT_GROUP] = split_codes
        samples.group_values[SPLIT_GROUP] = list(self.splits)
        return samples

    def _read(self, datasets: Any) -> list[tuple[str, Any]]:
        """The requested splits, in order, as ``datasets.Dataset`` objects."""
        local = Path(self.path).expanduser()
        if local.is_dir():
            loaded = self._read_folder(datasets, local)
        elif local.is_file() or glob.has_magic(self.path):
            loaded = self._read_files(datasets)
        elif _looks_local(self.path):
            raise DataLoadError(f"{self._name()}: no file or folder {str(local)!r}",
                                "Point path at a save_to_disk folder, a folder of data files, a "
                                f"data file ({', '.join(FILE_BUILDERS)}), or a hub dataset id "
                                "such as 'ylecun/mnist'.")
        else:
            loaded = self._read_hub(datasets)
        if isinstance(loaded, datasets.Dataset):
            loaded = {str(loaded.split) if loaded.split else "train": loaded}
        available = list(loaded)
        unknown = [s for s in self.splits if s not in available]
        if unknown:
            raise DataLoadError(f"{self._name()}: {self._what()} has no split "
                                f"{', '.join(repr(s) for s in unknown)}",
                                f"Available splits: {', '.join(available)}.")
        return [(s, loaded[s]) for s in self.splits]

    def _read_folder(self, datasets: Any, folder: Path) -> Any:
        self._local_only("a local folder", allow_name=True)
        if (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file():
            if self.name is not None:
                raise DataLoadError(f"{self._name()}: name {self.name!r} applies to hub datasets, "
                                    f"but {str(folder)!r} is a save_to_disk folder",
                                    "Remove name.")
            with _offline():
                try:
                    return datasets.load_from_disk(str(folder))
                except (OSError, ValueError) as e:
                    raise DataLoadError(f"{self._name()}: cannot read the save_to_disk folder "
                                        f"{str(folder)!r}: {e}") from e
        return self._load_local(datasets, str(folder), "a folder of data files", name=self.name)

    def _read_files(self, datasets: Any) -> Any:
        self._local_only("local data files", allow_name=False)
        files = sorted(glob.glob(os.path.expanduser(self.path)))
        files = [f for f in files if os.path.isfile(f)]
        if not files:
            raise DataLoadError(f"{self._name()}: no file matches {self.path!r}")
        builders = {FILE_BUILDERS.get(_extension(f)) for f in files}
        if None in builders or len(builders) > 1:
            kinds = sorted({_extension(f) or "(none)" for f in files})
            raise DataLoadError(f"{self._name()}: cannot read {self.path!r} (file types "
                                f"{', '.join(kinds)})",
                                f"Data files must all be one of: {', '.join(FILE_BUILDERS)}.")
        [builder] = builders
        options = {"delimiter": "\t"} if builder == "csv" and _extension(files[0]) == ".tsv" else {}
        return self._load_local(datasets, builder, "the data files", data_files=files, **options)

    def _load_local(self, datasets: Any, path: str, what: str, **kwargs: Any) -> Any:
        with _offline():
            try:
                return datasets.load_dataset(path, cache_dir=self._cache_option(), **kwargs)
            except Exception as e:  # the library's parse errors have no common base
                if isinstance(e, DataLoadError):
                    raise
                raise DataLoadError(f"{self._name()}: cannot read {what} {self.path!r}: "
                                    f"{type(e).__name__}: {e}") from e

    def _read_hub(self, datasets: Any) -> Any:
        """A hub dataset: online when the hub answers, else from the cache in offline mode."""
        kwargs = {"name": self.name, "revision": self.revision, "cache_dir": self._cache_option()}
        requested = _offline_requested()
        offline = requested or not _hub_reachable()
        endpoint = datasets.config.HF_ENDPOINT
        try:
            with _offline() if offline else contextlib.nullcontext():
                return datasets.load_dataset(self.path, **kwargs)
        except (ConnectionError, FileNotFoundError) as e:
            if offline and (isinstance(e, ConnectionError) or "cache" in str(e).lower()):
                reason = ("offline mode is set (HF_HUB_OFFLINE)" if requested
                          else f"the Hugging Face Hub ({endpoint}) cannot be reached")
                raise DataLoadError(
                    f"{self._name()}: hub dataset {self._hub_id()!r} is not in the cache folder "
                    f"{self._cache_folder()} and {reason}", self._provide_hint()) from None
            if isinstance(e, ConnectionError):
                raise DataLoadError(
                    f"{self._name()}: hub dataset {self._hub_id()!r} is not in the cache folder "
                    f"{self._cache_folder()} and the connection to {endpoint} failed "
                    f"({type(e).__name__}: {e})", self._provide_hint()) from None
            raise DataLoadError(
                f"{self._name()}: hub dataset {self._hub_id()!r} was not found ({e}); cache "
                f"folder {self._cache_folder()}",
                f"Check the id at {endpoint}/datasets/{self.path}; for a gated or private dataset "
                "log in with `hf auth login` or set HF_TOKEN.") from None
        except (ValueError, OSError, datasets.exceptions.DatasetsError) as e:
            # a configuration that does not exist, no cached copy of the configuration asked for,
            # a failed download, a corrupt cached file...
            raise DataLoadError(
                f"{self._name()}: cannot load hub dataset {self._hub_id()!r} (cache folder "
                f"{self._cache_folder()}): {type(e).__name__}: {e}", self._provide_hint()) from None

    # ------------------------------------------------------------------------- conversion

    def _image_column(self, dataset: Any, columns: list[str]) -> str | None:
        from datasets import Image

        images = [c for c in columns if isinstance(dataset.features[c], Image)]
        if self.image_column is not None:
            check_columns([self.image_column], columns, self._name(), self._what())
            if self.image_column not in images:
                raise DataLoadError(f"{self._name()}: column {self.image_column!r} of "
                                    f"{self._what()} is not an image column "
                                    f"({dataset.features[self.image_column]})",
                                    f"Image columns: {', '.join(images) or 'none'}; for other "
                                    "columns use feature_columns.")
            return self.image_column
        if self.feature_columns is not None:
            named = [c for c in self.feature_columns if c in images]
            if named:
                raise DataLoadError(f"{self._name()}: feature_columns {named} are image columns",
                                    "Set image_column instead (the image is then the features).")
            return None
        candidates = [c for c in images if c != self.label_column and c not in self.group_columns]
        if len(candidates) > 1:
            raise DataLoadError(f"{self._name()}: {self._what()} has several image columns "
                                f"({', '.join(candidates)})", "Set image_column to one of them.")
        return candidates[0] if candidates else None

    def _concatenate(self, datasets: Any, tables: list[Any]) -> Any:
        if len(tables) == 1:
            return tables[0]
        try:
            return datasets.concatenate_datasets(tables)
        except ValueError as e:
            raise DataLoadError(f"{self._name()}: splits {', '.join(self.splits)} of "
                                f"{self._what()} have different column types: {e}",
                                "Load the splits one at a time.") from e

    def _complete_rows(self, frame: Any, features: Any) -> np.ndarray:
        """Rows with a label (not missing, not ClassLabel's -1) and no missing used value."""
        from datasets import ClassLabel

        keep = ~frame.isna().any(axis=1).to_numpy()
        if isinstance(features[self.label_column], ClassLabel):
            keep &= frame[self.label_column].fillna(-1).to_numpy() >= 0
        dropped = int((~keep).sum())
        if dropped:
            log.info("%s: dropping %d of %d rows without a label or with missing values",
                     self._name(), dropped, len(frame))
        return keep

    def _table_samples(self, frame: Any, features: list[str]) -> Samples:
        frame, features = self._expand_arrays(frame, features)
        for column in features:
            if frame[column].dtype.kind not in "iufb":
                distinct = frame[column].nunique()
                if distinct > MAX_CATEGORIES:
                    raise DataLoadError(
                        f"{self._name()}: feature column {column!r} of {self._what()} holds text "
                        f"with {distinct} distinct values; one-hot encoding it would make "
                        f"{distinct} features",
                        "Leave it out of feature_columns: free text needs numeric features "
                        "first (e.g. an embedding column).")
        return frame_to_samples(frame, self.label_column, self._name(), features=features,
                                group_columns=self.group_columns, what=self._what())

    def _expand_arrays(self, frame: Any, features: list[str]) -> tuple[Any, list[str]]:
        """Fixed-length numeric list columns as one column per element (``name[i]``)."""
        import pandas as pd

        expanded: list[str] = []
        blocks: dict[str, Any] = {}
        for column in features:
            values = frame[column]
            first = values.iloc[0] if len(values) else None
            if values.dtype.kind != "O" or not isinstance(first, (list, tuple, np.ndarray)):
                expanded.append(column)
                continue
            try:
                array = np.stack([np.asarray(v, dtype=np.float64) for v in values])
            except (ValueError, TypeError) as e:
                raise DataLoadError(f"{self._name()}: column {column!r} of {self._what()} holds "
                                    f"lists that are not numbers of one length ({e})",
                                    "Leave it out of feature_columns.") from e
            array = array.reshape(len(values), -1)
            names = [f"{column}[{i}]" for i in range(array.shape[1])]
            blocks[column] = pd.DataFrame(array, columns=names, index=frame.index)
            expanded += names
        if blocks:
            frame = pd.concat([frame.drop(columns=list(blocks)), *blocks.values()], axis=1)
        return frame, expanded

    def _images(self, parts: list[tuple[str, Any]], column: str, rows: np.ndarray) -> torch.Tensor:
        """The kept rows' images as ``(n, C, H, W)`` floats in [0, 1]."""
        from PIL import Image as PILImage

        def decoded() -> Iterator[Any]:
            for _, part in parts:
                yield from part.select_columns([column])[column]

        wanted = iter(rows.tolist())
        target = next(wanted, None)
        out: np.ndarray | None = None
        first = None
        shapes, modes, count = set(), set(), 0
        for index, image in enumerate(decoded()):
            if index != target:
                continue
            target = next(wanted, None)
            if self.image_mode is not None and image.mode != self.image_mode:
                image = image.convert(self.image_mode)
            if self.image_size is not None:
                height, width = self.image_size
                if image.size != (width, height):
                    image = image.resize((width, height), PILImage.BILINEAR)
            array = np.asarray(image)
            array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
            if out is None:
                out = np.empty((len(rows), *array.shape), dtype=array.dtype)
                first = (image.mode, array.shape)
            if (image.mode, array.shape) != first:
                shapes.add(array.shape)
                modes.add(image.mode)
                continue
            out[count] = array
            count += 1
        if shapes:
            sizes = sorted({first[1], *shapes})
            raise DataLoadError(f"{self._name()}: the images of {self._what()} differ in mode or "
                                f"size (modes {', '.join(sorted({first[0], *modes}))}; shapes "
                                f"{', '.join('x'.join(map(str, s)) for s in sizes)})",
                                "Set image_mode (e.g. \"RGB\") and image_size (e.g. [32, 32]) to "
                                "convert them all.")
        return _scaled(out, first[0])

    def _apply_class_labels(self, samples: Samples, frame: Any, features: Any) -> None:
        """ClassLabel columns keep the dataset's own ids and names."""
        from datasets import ClassLabel

        label = features[self.label_column]
        if isinstance(label, ClassLabel):
            samples.y = torch.tensor(frame[self.label_column].to_numpy(dtype=np.int64))
            samples.class_names = list(label.names)
        for name in self.group_columns:
            if isinstance(features[name], ClassLabel):
                samples.groups[name] = torch.tensor(frame[name].to_numpy(dtype=np.int64))
                samples.group_values[name] = list(features[name].names)

    # ---------------------------------------------------------------------------- naming

    def _local_only(self, what: str, allow_name: bool) -> None:
        if self.revision is not None:
            raise DataLoadError(f"{self._name()}: revision {self.revision!r} applies to hub "
                                f"datasets, but {self.path!r} is {what}", "Remove revision.")
        if self.name is not None and not allow_name:
            raise DataLoadError(f"{self._name()}: name {self.name!r} applies to hub datasets, "
                                f"but {self.path!r} is {what}", "Remove name.")

    def _name(self) -> str:
        return f"HuggingFaceDataSource {self.path!r}"

    def _what(self) -> str:
        return f"dataset {self._hub_id()!r}"

    def _hub_id(self) -> str:
        return self.path + (f" ({self.name})" if self.name else "")

    def _cache_option(self) -> str | None:
        return os.path.expanduser(self.cache_dir) if self.cache_dir else None

    def _cache_folder(self) -> str:
        from datasets import config

        return str(Path(self._cache_option() or config.HF_DATASETS_CACHE).resolve())

    def _provide_hint(self) -> str:
        call = f"load_dataset({self.path!r}" + (f", {self.name!r}" if self.name else "") + ")"
        return (f"Run once with network access to download it into {self._cache_folder()} "
                "(set cache_dir to use another folder), or, on a machine with network, run "
                f"`datasets.{call}.save_to_disk(FOLDER)`, copy FOLDER here and set path to it.")


def _require_datasets() -> Any:
    from .base import require

    require("datasets", "hf", "HuggingFaceDataSource")
    import datasets
    import datasets.exceptions  # the error handling names it

    return datasets


def _looks_local(path: str) -> bool:
    """A path that cannot be a hub id (``namespace/name`` at most) or ends like a data file."""
    return (path.startswith((".", "/", "~")) or path.count("/") > 1 or "\\" in path
            or _extension(path) in FILE_BUILDERS)


def _extension(path: str) -> str:
    return Path(path).suffix.lower()


def _integral(column: Any) -> Any:
    """A float column of whole numbers (integers that had missing values) as integers."""
    if column.dtype.kind == "f" and len(column) and bool((column == column.round()).all()):
        return column.astype(np.int64)
    return column


def _scaled(images: np.ndarray, mode: str) -> torch.Tensor:
    """Pixels as floats in [0, 1] by the image type's range."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    if images.dtype == np.uint8:
        return tensor.float().div_(255.0)
    if images.dtype == np.uint16 or mode.startswith("I"):
        return tensor.float().div_(65535.0)
    return tensor.float()


def _offline_requested() -> bool:
    """The user switched the hub off (environment or the libraries' own flags)."""
    from datasets import config

    return (pretrained.offline_requested() or bool(config.HF_HUB_OFFLINE)
            or bool(config.HF_DATASETS_OFFLINE))


def _hub_reachable(timeout: float = HUB_CHECK_TIMEOUT) -> bool:
    """Whether the hub answers one request within ``timeout`` seconds
    (:func:`erasure.pretrained.hub_reachable`, at ``datasets``' endpoint)."""
    from datasets import config

    return pretrained.hub_reachable(timeout, config.HF_ENDPOINT)


def _offline():
    """Switches the hub libraries, ``datasets`` included, to offline mode for the duration of
    the block (:func:`erasure.pretrained.hub_offline`)."""
    importlib.import_module("datasets.config")  # loaded, so that its constants are switched too
    return pretrained.hub_offline()
