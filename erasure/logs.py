"""Logging helpers shared by the pipeline: one-line failure reasons for the results, tracebacks
for the run's log file only."""
from __future__ import annotations

import logging
import traceback

#: ``log.info(..., extra=FILE_ONLY)``: written to ``run.log``, never shown on the console
FILE_ONLY = {"file_only": True}

#: what a failing unlearner or measure may raise and still be recorded as failed while the run
#: goes on: ``sys.exit()`` and a ``KeyboardInterrupt`` raised by its code included (a real
#: SIGINT or SIGTERM raises the runner's ``Interrupted`` instead, and stops the run)
USER_ERRORS = (Exception, SystemExit, KeyboardInterrupt)

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
