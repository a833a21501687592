"""Running a prepared plan: every seed, every unlearner, one results file kept valid throughout.

Each finished (unlearner, seed) record is written to ``results.json`` atomically as soon as it
exists, so a killed run never leaves a corrupt file and ``resume`` picks up where it stopped.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Iterator

from erasure import __version__, execution, progress
from erasure.config import ConfigError
from erasure.execution import ModelsReady, RecordStarted
from erasure.logs import FILE_ONLY, signals_routed
from erasure.plan import Globals, Plan, default_output, versions
from erasure.results import RESULTS_FILE, check_writable, write_json_atomic
from erasure.results.claim import FolderBusy, claim_run_folder
from erasure.tuning.settings import STUDY_FILE

log = logging.getLogger(__name__)

#: the log file written beside the results
LOG_FILE = "run.log"


class Interrupted(BaseException):
    """The run was stopped by SIGINT or SIGTERM. The results file on disk is valid JSON with
    status ``interrupted``, every finished record, and the names of the missing ones.

    Attributes:
        signal_name: ``SIGINT`` or ``SIGTERM``.
        results: the results file, or None when the run stopped before writing one.
        exit_status: the conventional status of a process ended by that signal (130 or 143).
    """

    def __init__(self, signal_name: str, results: Path | None = None) -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.signal_name = signal_name
        self.results = results
        self.exit_status = 128 + int(getattr(signal, signal_name))


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread while the run goes on."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(number: int, frame: Any) -> None:
        error = Interrupted(signal.Signals(number).name)
        if not execution.defer(error):  # inside Ray's calls, raised when they return
            raise error

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with signals_routed():
            yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


class _RunLog(logging.Handler):
    """Everything the framework logs (INFO and up) during a run, kept in memory until the run
    folder exists (a run refused for a config problem creates nothing), then in ``run.log``."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.pending: list[logging.LogRecord] = []
        self.file: logging.FileHandler | None = None
        self.broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.broken:
            return
        if self.file is None:
            self.pending.append(record)
        else:
            self.file.emit(record)

    def open(self, path: Path) -> None:
        if self.file is None and not self.broken:
            try:
                self.file = logging.FileHandler(path, encoding="utf-8")
            except OSError as e:
                self.broken = True
                log.warning("the run's log cannot be written to %s: %s", path, e.strerror or e)
                return
            self.file.setFormatter(self.formatter)
            self.file.handleError = self._failed
            for record in self.pending:
                self.file.emit(record)
            self.pending.clear()

    def _failed(self, record: logging.LogRecord) -> None:
        # a full disk: the results report the failure that matters; the log stops quietly
        self.broken = True
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        super().close()


@contextlib.contextmanager
def _run_log() -> Iterator[_RunLog]:
    handler = _RunLog()
    root = logging.getLogger("erasure")
    level = root.level
    root.addHandler(handler)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def comparable(resolved: dict) -> dict:
    """The parts of a resolved config that decide the records (not where output or cache go)."""
    out = dict(resolved)
    out["globals"] = {k: v for k, v in resolved.get("globals", {}).items()
                      if k not in Globals.NOT_TRAINING or k in ("seed", "seeds", "tune")}
    return out


def _previous(results: Path, plan: Plan) -> dict[str, Any] | None:
    """The document to resume from, checked to come from the same experiment.

    Raises:
        ConfigError: the file is not a results document, it comes from another config, or the
            predictor's checkpoint is not the one its records were made with.
    """
    if not results.exists():
        log.info("nothing to resume in %s: starting afresh", results.parent)
        return None
    try:
        document = json.loads(results.read_text(encoding="utf-8"))
        document["records"]
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError.single("--resume", f"{results} is not a results file ({e})") from e
    if comparable(document.get("config", {})) != comparable(plan.resolved):
        raise ConfigError.single(
            "--resume", f"the results in {results.parent} come from a different config",
            "Resume with the same config (and --seed/--seeds/--set), or write to another folder.")
    checkpoint = plan.checkpoint
    for seed, models in (document.get("models") or {}).items():
        then = (models.get("original") or {}).get("sha256")
        if checkpoint is not None and then is not None and then != checkpoint.sha256:
            raise ConfigError.single(
                "predictor.parameters.checkpoint",
                f"{checkpoint.path} changed since the results in {results.parent} were written "
                f"(sha256 {then[:12]}… then, {checkpoint.sha256[:12]}… now): the records of seed "
                f"{seed} come from another original",
                "Restore the checkpoint, or start afresh (--overwrite, or another folder).")
    return document


class OutputFailed(Exception):
    """The results could not be written (disk full, folder removed, permissions changed…).

    Attributes:
        results: the results file holding the last records written, or None when none was.
    """

    def __init__(self, message: str, results: Path | None = None) -> None:
        super().__init__(message)
        self.results = results


def run(plan: Plan, *, output: str | Path | None = None, overwrite: bool = False,
        resume: bool = False, report: bool = False, plots: bool = True,
        plot_formats: str | Sequence[str] | None = None) -> Path:
    """Runs a prepared experiment — every seed in ``globals.seeds`` (else ``globals.seed``) —
    and writes its results.

    The run claims its folder first (:mod:`erasure.results.claim`): two runs never write into one.
    Every finished record is written at once (atomically), so an interrupted run keeps what it
    finished. A failing unlearner or measure is recorded with its reason and the rest go on.

    Args:
        output: the run folder (default: ``globals.output``, else ``output/<config name>``).
        overwrite: write into a folder that already holds results (else ``<folder>-2``…).
        resume: continue the run in ``output``: its finished records are kept, the missing
            ones run (models come from the cache); the result equals an uninterrupted run.
        report: also write the summary tables (and plots) into the folder at the end.
        plots: with ``report``, draw the plots too (``False``: the tables only; ``python main.py
            report RUN_DIR`` draws them later).
        plot_formats: the plots' formats with ``report`` (``"png,pdf,svg"`` or a list; default
            PNG; an unknown one raises ValueError before any work).

    Returns:
        The path of the results file.

    Raises:
        ConfigError: the output folder is not writable or another live run writes to it (with
            ``overwrite``/``resume``), the data fails a check (before any training), or
            ``resume`` finds results of another config.
        Interrupted: SIGINT or SIGTERM arrived; the results file (if one was started) is
            complete JSON with status ``interrupted`` and the missing records listed.
        OutputFailed: writing the results failed; the last records written are kept.
    """
    started = time.perf_counter()
    if report and plot_formats is not None:
        from erasure.results.plots import plot_formats as check_formats

        plot_formats = check_formats(plot_formats)
    folder = Path(output) if output else default_output(plan.config_file, plan.settings)
    reason = check_writable(folder)
    if reason:
        raise ConfigError.single("globals.output", f"cannot write results: {reason}")
    try:
        folder, claim = claim_run_folder(folder, overwrite=overwrite, resume=resume)
    except FolderBusy as e:
        raise ConfigError.single("--output", str(e), "Wait for it to finish, or write to another "
                                                      "folder.") from None
    except OSError as e:
        raise ConfigError.single("globals.output", f"cannot write results: {e}") from None
    try:
        return _run(plan, folder, resume, report, started, plot_formats, plots)
    finally:
        claim.release()


def _run(plan: Plan, folder: Path, resume: bool, report: bool, started: float,
         plot_formats: Sequence[str] | None = None, plots: bool = True) -> Path:
    results = folder / RESULTS_FILE
    previous = _previous(results, plan) if resume else None
    if not resume:  # a new run (or --overwrite) starts its studies afresh; --resume continues
        with contextlib.suppress(OSError):
            (folder / STUDY_FILE).unlink(missing_ok=True)
    seeds = plan.settings.all_seeds()
    done = {(r["name"], r.get("seed", seeds[0])): r for r in (previous or {}).get("records", [])}
    order = [(name, seed) for seed in seeds for name in plan.names]
    document: dict[str, Any] | None = previous
    written: Path | None = results if previous is not None else None
    on_disk = previous["status"] if previous is not None else None  # the status written last

    def save() -> None:
        nonlocal written, on_disk
        try:
            write_json_atomic(results, document)
        except OSError as e:
            raise OutputFailed(f"cannot write {results}: {e.strerror or e}", written) from e
        written, on_disk = results, document["status"]

    def mark(reason: str) -> None:
        """Marks the results on disk interrupted (unless they are finished), if the disk takes it."""
        nonlocal written, on_disk
        if document is None or on_disk == "finished":
            return
        document.update(status="interrupted", interrupted_by=reason, missing_records=[
            f"{n} (seed {s})" if len(seeds) > 1 else n for n, s in order if (n, s) not in done])
        with contextlib.suppress(OSError):
            write_json_atomic(results, document)
            written, on_disk = results, "interrupted"

    with _signals_as_interrupts(), _run_log() as run_log:
        try:
            todo = {key for key in order if key not in done}
            work = {seed: [i for i, name in enumerate(plan.names) if (name, seed) in todo]
                    for seed in seeds}
            work = {seed: indices for seed, indices in work.items() if indices}
            bar = None  # drawn once the data and models are ready (a data error shows alone)
            began: dict[tuple[int, int], float] = {}  # (seed, index) -> when it started
            with contextlib.closing(execution.events(plan, work, folder)) as events:
                for event in events:
                    if isinstance(event, ModelsReady):
                        if document is None:
                            document = _header(plan, event.device, event.sizes, seeds)
                        document["status"] = "running"
                        for part, value in (("timings", event.timings), ("models", event.models)):
                            document[part][str(event.seed)] = value
                            document[part] = _by_seed(document[part], seeds)
                        save()
                        run_log.open(folder / LOG_FILE)
                        log.info("writing results to %s", results)
                        if bar is None:
                            bar = progress.bar(total=len(order), desc="records")
                            bar.update(len(order) - len(todo))
                    elif isinstance(event, RecordStarted):
                        began[(event.seed, event.index)] = time.perf_counter()
                        bar.set_description_str(f"{plan.names[event.index]} (seed {event.seed})")
                    else:
                        record = {**event.record, "seed": event.seed}
                        done[(record["name"], event.seed)] = record
                        document["records"] = [done[k] for k in order if k in done]
                        save()
                        bar.update(1)
                        _log_record(record, len(done), len(order),
                                    began.pop((event.seed, event.index), None))
            if bar is not None:
                bar.close()
            document["records"] = [done[k] for k in order]
            for key in ("missing_records", "interrupted_by"):
                document.pop(key, None)
            document["timings"]["total"] = time.perf_counter() - started
            document["status"] = "finished"
            save()
            if report:
                from erasure.results.rebuild import write_reports

                # logs and skips what it cannot write
                write_reports(document, folder, plots=plots, plot_formats=plot_formats)
        except Interrupted as e:
            if document is None:
                raise
            mark(e.signal_name)
            log.warning("%s: stopped after %d of %d records; results so far in %s",
                        e, len(done), len(order), results)
            raise Interrupted(e.signal_name, written) from None
        except OutputFailed as e:
            mark("OutputFailed")
            log.error("%s", e, extra=FILE_ONLY)  # the command line says it once, on stderr
            raise
        except BaseException as e:  # anything else stops the run: what it finished is kept
            mark(type(e).__name__)
            raise
    return results


def _log_record(record: dict[str, Any], count: int, total: int, began: float | None) -> None:
    """The progress line of a record, at INFO: ``record 2/5: Finetuning seed 0 finished in
    0.1 s`` — what a log piped into a file shows instead of bars (the time from its start, when
    the executor reports one: a cluster runs records at once and says only when each ends)."""
    took = f" in {time.perf_counter() - began:.1f} s" if began is not None else ""
    log.info("record %d/%d: %s seed %s %s%s", count, total, record["name"], record["seed"],
             record["status"], took)


def _by_seed(parts: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """Per-seed entries in the order of the seeds, whatever order they arrived in."""
    order = {str(seed): i for i, seed in enumerate(seeds)}
    return dict(sorted(parts.items(), key=lambda item: order.get(item[0], len(order))))


def _header(plan: Plan, device: str, sizes: dict[str, int], seeds: list[int]) -> dict[str, Any]:
    return {
        "erasure_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "status": "running",
        "config_file": str(plan.config_file) if plan.config_file else None,
        "config": plan.resolved,
        "seeds": seeds,
        "device": device,
        "versions": versions(),
        "partitions": sizes,
        "timings": {},
        "models": {},
        "records": [],
    }
