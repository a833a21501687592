"""Logs a finished (or interrupted) run as TensorBoard event files, written with
``torch.utils.tensorboard`` (needs the ``tensorboard`` package).

Under the log folder (default ``<run folder>/tensorboard``; ``tensorboard --logdir`` it):

- one folder per record, named after it (``<record>/seed_<N>`` with several seeds; characters
  other than letters, digits and ``_ - . = , [ ]`` become ``_``): every finite metric as the
  scalar ``metrics/<key>`` at step 0, the curve, if the record has one, as ``curve/<key>`` at
  step = epoch, and the record's parameters (:class:`erasure.tracking.TrackedRecord`) with its
  metrics in the HParams tab;
- ``_run/``: the report's plots as images ``plots/<file name>`` (PNG only) and ``summary.md`` as
  the text ``summary``.

Each call replaces the event files of the folders it writes (logging a run twice does not
double its points); other files there are left alone.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from erasure.tracking import plot_files, tracked_records

#: The folder of the run-level images and text, beside the records' folders.
RUN_FOLDER = "_run"
#: The default log folder inside the run folder.
DEFAULT_FOLDER = "tensorboard"
EVENTS_PREFIX = "events.out.tfevents."

__all__ = ["DEFAULT_FOLDER", "RUN_FOLDER", "folder_name", "log_run"]


def folder_name(name: str) -> str:
    """A record's name as a folder name (``Finetuning[lr=0.1]`` stays as it is)."""
    name = re.sub(r"[^\w.=,\-\[\]]", "_", name)
    return "_" + name if name in ("", ".", "..", RUN_FOLDER) else name


def _hparam(value: Any) -> Any:
    """A value the HParams plugin takes: numbers, strings and bools as they are, else JSON."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value)


def _fresh(folder: Path) -> Path:
    """``folder``, created, without event files of an earlier call."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(EVENTS_PREFIX + "*"):
        old.unlink()
    return folder


def log_run(document: dict[str, Any], run_dir: Path, *,
            folder: str | os.PathLike | None = None) -> str:
    """Writes the event files of the run in ``run_dir`` (its results ``document``; see the
    module); returns a line saying where. Raises OSError when the folder is not writable."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    root = Path(folder) if folder is not None else run_dir / DEFAULT_FOLDER
    records = tracked_records(document)
    several = len({r.seed for r in records}) > 1
    used: set[str] = set()
    for record in records:
        name = folder_name(record.name)
        if several:
            name = f"{name}/seed_{record.seed}"
        while name in used:  # two names that differ only in replaced characters
            name += "_"
        used.add(name)
        with SummaryWriter(log_dir=str(_fresh(root / name))) as writer:
            for key, value in record.metrics.items():
                writer.add_scalar(f"metrics/{key}", value, 0)
            for key, points in record.curve.items():
                for epoch, value in points:
                    writer.add_scalar(f"curve/{key}", value, epoch)
            params = {**record.params, **{f"tag.{k}": v for k, v in record.tags.items()}}
            for summary in hparams({k: _hparam(v) for k, v in params.items()},
                                   {f"metrics/{k}": v for k, v in record.metrics.items()}):
                writer.file_writer.add_summary(summary)
    plots = [p for p in plot_files(run_dir) if p.suffix == ".png"]
    summary = run_dir / "summary.md"
    if plots or summary.is_file():
        from matplotlib.image import imread

        with SummaryWriter(log_dir=str(_fresh(root / RUN_FOLDER))) as writer:
            for plot in plots:
                image = imread(plot)  # float RGB(A) in [0, 1], height × width × channels
                writer.add_image(f"plots/{plot.stem}", image[..., :3], 0, dataformats="HWC")
            if summary.is_file():
                writer.add_text("summary", summary.read_text(encoding="utf-8"), 0)
    return (f"tensorboard: {len(records)} records and {len(plots)} plots written into {root} "
            f"(see them with: tensorboard --logdir {root})")
