"""The results of a run as a pandas DataFrame (pandas is optional: imported when asked for)."""
from __future__ import annotations

import os
from typing import Any

from .long_form import rows
from .rebuild import load_results


def load(run: str | os.PathLike | dict[str, Any]):
    """The results of a run as a pandas DataFrame, one row per number — the rows and columns of
    ``results.csv`` (:mod:`erasure.results.long_form`), read from ``results.json``, the source of
    truth (the CSV is not read):

        >>> df = erasure.results.load("output/example")
        >>> df[df.metric == "accuracy.forget.unlearned"].groupby("record").value.mean()

    Args:
        run: a run folder, its ``results.json``, or a results document already read.

    Returns:
        A DataFrame; ``seed`` is int64 (nullable ``Int64`` in a document whose records have no
        seed), ``value`` float64 (NaN for ``null`` and for a failed record's row), the text
        columns pandas' text type (``str`` from pandas 3, ``object`` before; missing: NaN),
        a sweep column what pandas makes of its values (a number column when they are all
        numbers, NaN outside the sweep).

    Raises:
        ImportError: pandas is not installed (``pip install pandas``).
        ResultsError: (a ValueError) no readable results document there.
    """
    try:
        import pandas as pd  # noqa: PLC0415 (an optional dependency)
    except ImportError as e:
        raise ImportError(f"erasure.results.load needs pandas, which cannot be imported here "
                          f"({e}); install it with: pip install pandas (or read results.csv, "
                          "or results.json, which is plain JSON)") from None
    document = run if isinstance(run, dict) else load_results(run)
    columns, table = rows(document)
    frame = pd.DataFrame(table, columns=columns)
    frame["seed"] = frame["seed"].astype("int64" if frame["seed"].notna().all() else "Int64")
    frame["value"] = frame["value"].astype("float64")
    return frame
