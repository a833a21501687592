"""UCIDataSource: a dataset of the UCI Machine Learning Repository, fetched once with
``ucimlrepo`` and read from a plain local cache (CSV + JSON) ever after."""
from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import DataLoadError, DataSource, Samples, files_fingerprint, require
from .tables import check_columns, frame_to_samples

log = logging.getLogger(__name__)

#: Files of one cached dataset, in ``<cache_dir>/<id>/``.
DATA_FILE = "data.csv"
METADATA_FILE = "metadata.json"
#: UCI variable types whose values are categories even when they are stored as numbers.
CATEGORICAL_TYPES = ("Categorical", "Binary")


class UCIDataSource(DataSource):
    """A tabular dataset of the `UCI Machine Learning Repository <https://archive.ics.uci.edu>`_
    by its id (``17`` is Breast Cancer Wisconsin (Diagnostic), ``2`` is Adult, ``53`` is Iris).

    The cache folder is read first: a dataset fetched once is reused offline, and no network call
    is made while ``<cache_dir>/<id>/`` holds it. Otherwise the dataset is fetched with
    ``ucimlrepo.fetch_ucirepo(id=...)`` (needs ``pip install 'erasure[uci]'`` and network access),
    written to the cache, and read back from it — so the first run and every later run see the
    very same table.

    Features: columns that UCI types ``Categorical`` or ``Binary`` (even when stored as integers)
    and any text column are one-hot encoded, values in sorted order; numeric columns stay raw. Set
    the data manager's ``standardize`` to ``"train"`` to standardise them with the training
    partition's statistics only.

    Cache format (write it yourself to use a dataset on a machine that never had network access)::

        <cache_dir>/<id>/data.csv        one row per sample, a header row with the column names,
                                         missing values as empty cells (or "?")
        <cache_dir>/<id>/metadata.json   {"id": 17,
                                          "name": "Breast Cancer Wisconsin (Diagnostic)",
                                          "features": ["radius1", "texture1", ...],
                                          "targets": ["Diagnosis"],
                                          "ids": ["ID"],               (optional)
                                          "categorical": ["clinic"],   (optional)
                                          "variables": [...],          (optional: UCI's table)
                                          "uci_metadata": {...}}       (optional: UCI's record)

    ``features`` and ``targets`` are required; ``categorical`` names the columns to one-hot
    encode although they hold numbers (when it is absent, the ``variables`` records of type
    Categorical or Binary are). Nothing is pickled.

    Args:
        id: the dataset's id in the UCI repository (its page's URL ends with it).
        label_column: the column to predict (default: the dataset's first target).
        feature_columns: the feature columns (default: every UCI feature, less the label and the
            group columns).
        group_columns: columns carried as groups (for forgetting by group) rather than features;
            any column of ``data.csv`` (features, targets or ids).
        drop_missing: drop rows with a missing value in a used column (UCI tables often have
            some); otherwise such rows are an error.
        na_values: cell values that mean "missing" besides an empty cell (UCI uses ``"?"``).
        cache_dir: where fetched datasets are kept (``~`` is expanded).
        timeout: seconds to wait on the network before giving up (per connection step), so an
            unreachable server fails in seconds, never in minutes.

    Never unpickles: the cache is a csv table and a json file, read as data.
    """

    id: int
    label_column: str | None = None
    feature_columns: list[str] | None = None
    group_columns: list[str] = ()
    drop_missing: bool = True
    na_values: list[str] = ("?",)
    cache_dir: str = "~/.cache/erasure/uci"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.id < 1:
            raise ValueError(f"id must be a positive UCI dataset id, got {self.id}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.feature_columns is not None and not self.feature_columns:
            raise ValueError("feature_columns is empty: leave it out to use every feature")

    @property
    def folder(self) -> Path:
        """The cache folder of this dataset."""
        return Path(self.cache_dir).expanduser() / str(self.id)

    def fingerprint(self) -> str:
        return files_fingerprint([self.folder])

    def load(self) -> Samples:
        require("pandas", "uci", "UCIDataSource")
        folder = self.folder
        if folder.exists():
            return self._read(folder)
        result = self._fetch(folder)
        try:
            _write(result, self.id, folder)
        except OSError as e:
            log.warning("UCIDataSource: cannot write the cache folder %s (%s); the dataset will "
                        "be downloaded again next time", folder, e)
            with tempfile.TemporaryDirectory() as scratch:
                once = Path(scratch) / str(self.id)
                _write(result, self.id, once)
                return self._read(once)
        return self._read(folder)

    # -- reading the cache ---------------------------------------------------------------------

    def _read(self, folder: Path) -> Samples:
        import pandas as pd

        source = f"UCIDataSource (UCI id {self.id})"
        meta = self._metadata(folder)
        table = folder / DATA_FILE
        groups = list(self.group_columns)
        label = self.label_column or (meta["targets"][0] if meta["targets"] else None)
        features = list(self.feature_columns or
                        [c for c in meta["features"] if c != label and c not in groups])
        categorical = set(meta.get("categorical", _categorical(meta.get("variables", []))))
        try:
            frame = pd.read_csv(table, na_values=list(self.na_values),
                                dtype={c: str for c in features if c in categorical})
        except (OSError, ValueError) as e:
            raise DataLoadError(f"{source}: cannot read {table} ({e})", _rewrite_hint(folder)) from e
        columns = [str(c) for c in frame.columns]
        if label is None:
            raise DataLoadError(f"{source}: the dataset has no target column; set label_column",
                                f"Available columns: {', '.join(columns)}.")
        used = [label, *groups, *features]
        check_columns(used, columns, source, f"the cached table {table}")
        frame = frame[list(dict.fromkeys(used))]
        if frame[label].dtype.kind == "f":
            known = frame[label].dropna()
            if len(known) and (known == known.round()).all():
                # integer classes with missing cells were read as floats: keep them integers
                frame[label] = frame[label].astype("Int64")
        return frame_to_samples(frame, label, source, features=features, group_columns=groups,
                                what=f"the cached table {table}",
                                drop_missing=self.drop_missing)

    def _metadata(self, folder: Path) -> dict[str, Any]:
        path = folder / METADATA_FILE
        missing = [name for name in (DATA_FILE, METADATA_FILE) if not (folder / name).is_file()]
        if missing:
            raise DataLoadError(
                f"UCIDataSource: the cache folder {folder} of UCI id {self.id} lacks "
                f"{' and '.join(missing)}",
                f"Delete the folder to download the dataset again, or write the missing files "
                f"({_FORMAT}).")
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DataLoadError(f"UCIDataSource: cannot read {path} ({e})", _rewrite_hint(folder)) from e
        if not isinstance(meta, dict):
            meta = {}
        problems = [key for key in ("features", "targets") if not isinstance(meta.get(key), list)
                    or not all(isinstance(c, str) for c in meta[key])]
        if problems:
            raise DataLoadError(f"UCIDataSource: {path} needs the lists "
                                f"{', '.join(repr(k) for k in problems)} of column names",
                                _rewrite_hint(folder))
        return meta

    # -- downloading ---------------------------------------------------------------------------

    def _fetch(self, folder: Path) -> Any:
        """``fetch_ucirepo``'s result, or one :class:`DataLoadError` for any failure."""
        ucimlrepo = require("ucimlrepo", "uci", "UCIDataSource")
        log.info("UCIDataSource: UCI id %d is not in %s; fetching it", self.id, folder)
        try:
            with _socket_timeout(self.timeout):
                result = ucimlrepo.fetch_ucirepo(id=self.id)
        except Exception as e:  # whatever the fetch raises becomes one clear message
            if type(e).__name__ == "DatasetNotFoundError":
                raise DataLoadError(
                    f"UCIDataSource: UCI id {self.id} cannot be fetched from the UCI repository: {e}",
                    "Check the id on https://archive.ics.uci.edu (only datasets marked "
                    "'Import in Python' can be fetched).") from e
            raise DataLoadError(
                f"UCIDataSource: UCI id {self.id} is not in the cache folder {folder} and "
                f"could not be downloaded ({type(e).__name__}: {e})",
                f"Run once with network access to download and cache it, or write the cache "
                f"files yourself ({_FORMAT}).") from e
        return result


_FORMAT = (f"<cache_dir>/<id>/{DATA_FILE}: the table with a header row; "
           f"<cache_dir>/<id>/{METADATA_FILE}: {{\"features\": [...], \"targets\": [...], "
           f"\"categorical\": [...]}}; see UCIDataSource's docstring")


def _rewrite_hint(folder: Path) -> str:
    return f"Delete {folder} to download the dataset again, or rewrite it ({_FORMAT})."


def _categorical(variables: list[dict[str, Any]]) -> list[str]:
    return [v["name"] for v in variables if v.get("type") in CATEGORICAL_TYPES]


def _write(result: Any, id: int, folder: Path) -> None:
    """Writes a ``fetch_ucirepo`` result as ``data.csv`` + ``metadata.json``, atomically (a
    half-written folder never looks like a cached dataset)."""
    import pandas as pd

    data = result.data
    blocks = {role: data.get(role) for role in ("ids", "features", "targets")}
    names = {role: [str(c) for c in block.columns] if block is not None else []
             for role, block in blocks.items()}
    table = pd.concat([b for b in blocks.values() if b is not None], axis=1)
    table = table.loc[:, ~table.columns.duplicated()]
    variables = result.variables
    records = (json.loads(variables.to_json(orient="records"))
               if variables is not None and len(variables) else [])
    meta = {
        "id": id,
        "name": (result.metadata or {}).get("name"),
        "features": names["features"],
        "targets": names["targets"],
        "ids": names["ids"],
        "categorical": _categorical(records),
        "variables": records,
        "uci_metadata": result.metadata,
    }
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = _new_folder(folder.parent, f".{id}.partial-")
    try:
        table.to_csv(partial / DATA_FILE, index=False)
        (partial / METADATA_FILE).write_text(json.dumps(meta, indent=1, default=str),
                                             encoding="utf-8")
        os.replace(partial, folder)
    except OSError:
        if folder.is_dir() and (folder / METADATA_FILE).is_file():
            return  # another process cached it at the same time
        raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` made with the umask's mode (``tempfile.mkdtemp`` makes it
    ``0o700``, and the rename would keep a shared cache private to one user)."""
    while True:
        partial = parent / f"{prefix}{os.urandom(4).hex()}"
        try:
            partial.mkdir()
            return partial
        except FileExistsError:
            continue


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """``ucimlrepo`` opens its URLs without a timeout; the process default applies to them."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)
