"""Logging helpers shared by the pipeline: one-line failure reasons for the results, tracebacks
for the run's log file only, and the command line's console (log lines on stderr, written
through the progress bars on a terminal)."""
from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import traceback
from typing import Iterator

#: ``log.info(..., extra=FILE_ONLY)``: written to ``run.log``, never shown on the console
FILE_ONLY = {"file_only": True}

_signals_routed: contextvars.ContextVar[bool] = contextvars.ContextVar("signals_routed",
                                                                      default=False)


@contextlib.contextmanager
def signals_routed() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise the runner's own exception, so a
    ``KeyboardInterrupt`` can only come from code (see :func:`user_errors`)."""
    token = _signals_routed.set(True)
    try:
        yield
    finally:
        _signals_routed.reset(token)


def user_errors() -> tuple[type[BaseException], ...]:
    """What a failing unlearner or measure may raise and still be recorded as failed while the
    run goes on: any exception and ``sys.exit()``; a ``KeyboardInterrupt`` too while the runner
    routes real signals elsewhere (a Ctrl-C in a notebook driving a ``Session`` still stops it)."""
    return (Exception, SystemExit, KeyboardInterrupt) if _signals_routed.get() \
        else (Exception, SystemExit)

#: longest failure reason kept in a results file (the whole one is in ``run.log``)
MAX_REASON = 300


def reason(error: BaseException) -> str:
    """``"TypeName: first line of the message"``, at most :data:`MAX_REASON` characters — what a
    results file and the summary keep of a failure."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    if len(lines) > 1:
        text += " …"
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 1] + "…"


def log_failure(log: logging.Logger, what: str, error: BaseException) -> str:
    """Logs ``what failed: reason`` as a warning and the whole traceback to the run's log file
    only; returns the reason."""
    text = reason(error)
    log.warning("%s failed: %s", what, text)
    log.info("%s failed:\n%s", what, "".join(traceback.format_exception(error)).rstrip(),
             extra=FILE_ONLY)
    return text


def console_filter(record: logging.LogRecord) -> bool:
    """A handler filter that drops the records meant for the log file only."""
    return not getattr(record, "file_only", False)


#: how the console and ``run.log`` show a log line
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _ThroughBars(logging.StreamHandler):
    """A console handler for a terminal showing progress bars: each line is written with
    ``tqdm.write``, which clears the bars, prints the line and draws them again below it, so a
    log line never shares a line with a bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
            self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def console_logging(*, quiet: bool = False, verbose: bool = False,
                    bars: bool = False) -> logging.Handler:
    """Sets up the command line's console: log lines on stderr, ``INFO`` and up (``quiet``:
    warnings and errors only; ``verbose``: erasure's ``DEBUG`` lines too, other packages' kept
    at ``INFO``), never the lines meant for ``run.log`` only; with ``bars`` (stderr is a terminal
    showing progress bars), written through the bars. Like ``logging.basicConfig``, it changes
    nothing when the root logger already has handlers (a test's capture). Returns the handler."""
    console = _ThroughBars(sys.stderr) if bars else logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    console.addFilter(console_filter)  # tracebacks of failed records: in run.log only
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format=FORMAT,
                        handlers=[console])
    if verbose and console in logging.getLogger().handlers:
        logging.getLogger("erasure").setLevel(logging.DEBUG)
    return console
