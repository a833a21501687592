"""Turning a table (a pandas DataFrame) into samples: the part every tabular source shares.

Numeric columns become float features as they are (standardise them with the data manager's
``standardize``, which uses the training partition's statistics only). Text, category and boolean
columns are one-hot encoded with their values in sorted order. A text label column gets a sorted
label map, so the same table gives the same labels in every process.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import numpy as np
import torch

from .base import DataLoadError, Samples, encode

log = logging.getLogger(__name__)


def check_columns(wanted: Sequence[str], available: Sequence[str], source: str, what: str) -> None:
    """Raises :class:`DataLoadError` naming the missing columns and listing the available ones."""
    missing = [c for c in wanted if c not in available]
    if missing:
        raise DataLoadError(
            f"{source}: {what} has no column {', '.join(repr(c) for c in missing)}",
            f"Available columns: {', '.join(str(c) for c in available)}.")


def frame_to_samples(frame: Any, label: str, source: str, *, features: Optional[Sequence[str]] = None,
                     group_columns: Sequence[str] = (), what: str = "the table",
                     drop_missing: bool = True) -> Samples:
    """Samples from a DataFrame.

    Args:
        frame: the table, one row per sample.
        label: the label column.
        source: the source's name, for messages ("CsvDataSource 'users.csv'").
        features: the feature columns (default: every column but the label and the groups).
        group_columns: columns carried as groups (for forgetting by group), not as features.
        what: how messages call the table.
        drop_missing: drop rows with a missing value in a used column (their count is logged);
            otherwise such rows are an error.

    Raises:
        DataLoadError: a named column does not exist, the table is empty, or (without
            ``drop_missing``) a used column has missing values.
    """
    columns = [str(c) for c in frame.columns]
    check_columns([label, *group_columns, *(features or ())], columns, source, what)
    if features is None:
        features = [c for c in columns if c != label and c not in group_columns]
    if not features:
        raise DataLoadError(f"{source}: {what} has no feature column besides the label",
                            f"Available columns: {', '.join(columns)}.")
    frame = complete_rows(frame, [label, *group_columns, *features], source, what, drop_missing)
    if len(frame) == 0:
        raise DataLoadError(f"{source}: {what} has no complete rows")
    x = torch.cat([feature_block(frame[c]) for c in features], dim=1)
    return labelled_samples(x, frame, label, group_columns)


def text_samples(frame: Any, text: str, label: str, source: str, *,
                 group_columns: Sequence[str] = (), what: str = "the table") -> Samples:
    """Samples of raw texts from a DataFrame's complete rows: ``x`` is empty (``(n, 0)``), each
    row's text in ``texts``, for the data manager's tokenizer to turn into token ids.

    Raises:
        DataLoadError: the text column holds a value that is not text (a number, a list).
    """
    values = frame[text].tolist()
    wrong = next((i for i, v in enumerate(values) if not isinstance(v, str)), None)
    if wrong is not None:
        value = _plain(values[wrong])
        raise DataLoadError(f"{source}: text column {text!r} of {what} holds a value that is not "
                            f"text: {type(value).__name__} {value!r} (row {wrong})",
                            "Set text_column to a column of strings.")
    samples = labelled_samples(torch.zeros(len(values), 0), frame, label, group_columns)
    samples.texts = [str(v) for v in values]
    return samples


def complete_rows(frame: Any, columns: Sequence[str], source: str, what: str,
                  drop_missing: bool) -> Any:
    """The table's ``columns`` (names as text, each once), less the rows with a missing value
    (their count is logged) — or, without ``drop_missing``, :class:`DataLoadError` if any."""
    frame = frame.rename(columns=str)[list(dict.fromkeys(columns))]
    incomplete = frame.isna().any(axis=1)
    if incomplete.any():
        if not drop_missing:
            raise DataLoadError(f"{source}: {int(incomplete.sum())} rows of {what} have missing values",
                                "Set drop_missing to true to drop them.")
        log.info("%s: dropping %d of %d rows with missing values", source, int(incomplete.sum()),
                 len(frame))
        frame = frame[~incomplete]
    return frame


def labelled_samples(x: torch.Tensor, frame: Any, label: str,
                     group_columns: Sequence[str] = ()) -> Samples:
    """Samples of features ``x`` with the labels (see :func:`labels`) and the groups (see
    :func:`integer_or_encoded`) of the table's rows, one row per sample."""
    y, class_names = labels(frame[label].tolist())
    groups, group_values = {}, {}
    for name in group_columns:
        groups[name], values = integer_or_encoded(frame[name].tolist())
        if values is not None:
            group_values[name] = values
    return Samples(x=x, y=y, groups=groups, group_values=group_values, class_names=class_names)


def labels(values: list[Any]) -> tuple[torch.Tensor, list[str]]:
    """Labels 0..C-1: integers that already are 0..C-1 stay, anything else gets a sorted map."""
    values = [_plain(v) for v in values]
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        distinct = sorted(set(values))
        if distinct == list(range(len(distinct))):
            return torch.tensor(values, dtype=torch.long), [str(v) for v in distinct]
    codes, distinct = encode(values)
    return codes, [str(v) for v in distinct]


def integer_or_encoded(values: list[Any]) -> tuple[torch.Tensor, Optional[list[Any]]]:
    """Integer values as they are (a user id stays 17); anything else as sorted codes + values."""
    values = [_plain(v) for v in values]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return torch.tensor(values, dtype=torch.long), None
    if all(isinstance(v, float) and float(v).is_integer() for v in values):
        return torch.tensor([int(v) for v in values], dtype=torch.long), None
    codes, distinct = encode(values)
    return codes, distinct


def feature_block(column: Any) -> torch.Tensor:
    """One numeric column as ``(n, 1)`` floats, or a categorical one as sorted one-hot columns."""
    kind = column.dtype.kind
    if kind in "iuf":
        return torch.tensor(column.to_numpy(dtype=np.float64), dtype=torch.float32).reshape(-1, 1)
    codes, distinct = encode(_plain(v) for v in column.tolist())
    return torch.nn.functional.one_hot(codes, len(distinct)).float()


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, so sorting and equality behave the same everywhere."""
    return value.item() if isinstance(value, np.generic) else value
