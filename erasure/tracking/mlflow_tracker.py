"""Logs a finished (or interrupted) run to MLflow: one parent run per erasure run, one nested
run per record.

The store is MLflow's own choice: the URI in ``MLFLOW_TRACKING_URI`` when set, else MLflow's
default (3.x: ``sqlite:///mlflow.db`` in the working folder, artifacts under ``./mlruns/``), which
``mlflow ui`` started in the same folder shows.

- parent run: named after the run folder; params :func:`erasure.tracking.run_params`; tags
  ``erasure.run_dir``, ``erasure.status``, ``erasure.version``, ``erasure.config_file``; the
  summary as its description; artifacts ``results.json``, ``summary.md``, ``summary.csv`` and
  ``plots/``. Ends FINISHED, or KILLED for an interrupted run.
- a nested run per record, named after it (``(seed N)`` added with several seeds): params the
  record's flattened resolved config and the run-level ones; every finite metric at step 0; the
  curve, if the record has one, as ``curve.<metric key>`` at step = epoch; tags ``erasure.status``,
  ``erasure.seed``, ``erasure.unlearner``, ``erasure.error``… Ends FINISHED, or FAILED for a
  failed record.

MLflow names allow letters, digits, ``_ - . space`` only (and ``/``, ``:``): every other
character of a key becomes ``_`` (:func:`safe_key`); a param value is cut at 6000 characters.
Logging a run twice makes a second parent run.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from erasure.tracking import RUN_FILES, experiment_name, plot_files, run_params, tracked_records

#: MLflow's limits (mlflow.utils.validation) on one log_batch call (100 params, 100 tags, 1000
#: entities in all: 800 metrics leave room for the rest) and on names and values.
MAX_PARAMS, MAX_METRICS, MAX_KEY, MAX_PARAM_VALUE, MAX_TAG_VALUE = 100, 800, 250, 6000, 8000

__all__ = ["log_run", "param_value", "safe_key"]

if TYPE_CHECKING:  # imported where used: importing this module costs no MLflow import
    from mlflow import MlflowClient
    from mlflow.entities import Metric, RunTag


def safe_key(key: str) -> str:
    """``key`` as a valid MLflow metric/param/tag name: characters other than letters, digits,
    ``_ - .`` and space become ``_`` (so ``Finetuning[lr=0.1]`` → ``Finetuning_lr_0.1_``); a
    name MLflow would read as a relative path (``..x``) gets a leading ``_``; cut at 250."""
    key = re.sub(r"[^\w.\- ]", "_", key)
    if not key or key.startswith(".."):
        key = "_" + key
    return key[:MAX_KEY]


def param_value(value: Any) -> str:
    """A config value as MLflow param text: strings as they are, anything else as JSON
    (``true``, ``null``, ``[1, 2]``), cut at 6000 characters."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:MAX_PARAM_VALUE]


def _tag(key: str, value: Any) -> RunTag:
    from mlflow.entities import RunTag

    return RunTag(f"erasure.{safe_key(key)}", str(value)[:MAX_TAG_VALUE])


def _log(client: MlflowClient, run_id: str, params: dict[str, Any] | None = None,
         metrics: list[Metric] | None = None, tags: list[RunTag] | None = None) -> None:
    """log_batch in chunks within MLflow's limits."""
    from mlflow.entities import Param

    param_list = [Param(k, v) for k, v in {safe_key(k): param_value(v)
                                           for k, v in (params or {}).items()}.items()]
    metrics, tags = metrics or [], tags or []
    while param_list or metrics or tags:
        client.log_batch(run_id, metrics=metrics[:MAX_METRICS], params=param_list[:MAX_PARAMS],
                         tags=tags[:MAX_PARAMS])
        param_list, metrics, tags = (param_list[MAX_PARAMS:], metrics[MAX_METRICS:],
                                     tags[MAX_PARAMS:])


def _experiment(client: MlflowClient, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return client.create_experiment(name)
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def log_run(document: dict[str, Any], run_dir: Path, *, experiment: str | None = None) -> str:
    """Logs the run in ``run_dir`` (its results ``document``) to MLflow (see the module); returns
    a line saying where. Raises MLflow's errors (an unreachable server…)."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient()
    name = experiment or experiment_name(document, run_dir)
    experiment_id = _experiment(client, name)
    run_dir = run_dir.resolve()
    version = document.get("erasure_version", "")
    common = [_tag("run_dir", run_dir), _tag("version", version)]
    parent_tags = {"erasure.status": str(document.get("status", "")),
                   "erasure.config_file": str(document.get("config_file") or "")}
    summary = run_dir / "summary.md"
    if summary.is_file():
        parent_tags["mlflow.note.content"] = summary.read_text(encoding="utf-8")[:MAX_TAG_VALUE]
    parent = client.create_run(experiment_id, run_name=run_dir.name, tags=parent_tags)
    parent_id = parent.info.run_id
    _log(client, parent_id, params=run_params(document), tags=common)
    for file in RUN_FILES:
        if (run_dir / file).is_file():
            client.log_artifact(parent_id, str(run_dir / file))
    for plot in plot_files(run_dir):
        where = plot.parent.relative_to(run_dir).as_posix()
        client.log_artifact(parent_id, str(plot), where)
    records = tracked_records(document)
    now = int(time.time() * 1000)
    for record in records:
        child = client.create_run(experiment_id, run_name=record.label,
                                  tags={"mlflow.parentRunId": parent_id})
        metrics = [Metric(safe_key(k), v, now, 0) for k, v in record.metrics.items()]
        metrics += [Metric(safe_key(f"curve.{k}"), v, now, epoch)
                    for k, points in record.curve.items() for epoch, v in points]
        tags = common + [_tag(k, v) for k, v in record.tags.items()]
        _log(client, child.info.run_id, params=record.params, metrics=metrics, tags=tags)
        client.set_terminated(child.info.run_id,
                              "FINISHED" if record.status == "finished" else "FAILED")
    client.set_terminated(parent_id,
                          "FINISHED" if document.get("status") == "finished" else "KILLED")
    return (f"mlflow: {len(records)} records logged as runs nested in run '{run_dir.name}' "
            f"({parent_id}) of experiment '{name}' at {mlflow.get_tracking_uri()}")
