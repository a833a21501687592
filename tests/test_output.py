"""What a user sees of a run: its console piped into a file or on a terminal, the modes of the
files it writes, stdout into a closed pipe, and ``report --metrics`` with a typo."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from erasure.cli import parse_args
from erasure.results.write import write_atomic, write_json_atomic
from tests.helpers import digits_config

ROOT = Path(__file__).resolve().parent.parent
UNLEARNERS = [{"class": "Identity"}, {"class": "Finetuning", "parameters": {"epochs": 1}}]
#: the start of a console log line: ``2026-01-31 12:00:00,123 INFO erasure.runner: ...``
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


def write_config(folder: Path) -> Path:
    config = digits_config(epochs=2, unlearners=UNLEARNERS,
                           model={"class": "MLP", "parameters": {"hidden": [32]}})
    path = folder / "exp.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def main_py(*args: str, umask: int = 0o022, **kwargs) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` in a child process with ``umask``, its output captured."""
    kwargs.setdefault("capture_output", True)
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, text=True, timeout=300,
                          preexec_fn=lambda: os.umask(umask), **kwargs)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def piped(tmp_path_factory):
    """One run, umask 022, its stdout and stderr piped into files: (run folder, stdout, stderr)."""
    folder = tmp_path_factory.mktemp("output")
    config = write_config(folder)
    with open(folder / "stdout", "w") as out, open(folder / "stderr", "w") as err:
        done = main_py(str(config), "--output", str(folder / "run"), stdout=out, stderr=err,
                       capture_output=False)
    assert done.returncode == 0, (folder / "stderr").read_text()
    return folder / "run", (folder / "stdout").read_text(), (folder / "stderr").read_text()


# -- piped into a file ----------------------------------------------------------------------------


def test_piped_output_is_plain_lines_one_per_record(piped):
    run, stdout, stderr = piped
    for text in (stdout, stderr):
        assert "\r" not in text and "\x1b" not in text and "%|" not in text
    lines = stderr.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), lines  # no bar frame between them
    records = [line.split(": ", 1)[1] for line in lines if " erasure.runner: record " in line]
    assert [re.sub(r"in \d+\.\d s$", "in T s", r) for r in records] == [
        "record 1/2: Identity seed 0 finished in T s",
        "record 2/2: Finetuning seed 0 finished in T s"]
    assert stdout.startswith("unlearner   status ") and f"results: {run / 'results.json'}" in stdout
    # the run's log file holds the same progress lines
    assert sum(" erasure.runner: record " in line
               for line in (run / "run.log").read_text().splitlines()) == 2


# -- file modes: the user's umask, not mkstemp's 0600 ---------------------------------------------


def test_a_run_writes_its_files_with_the_umask(piped):
    run, _, _ = piped
    plot = run / "plots" / "forget_vs_retain.png"
    for path in (run / "results.json", run / "summary.csv", run / "summary.md",
                 run / "results.csv", plot, run / "run.log"):
        assert oct(mode(path)) == oct(0o644), path
    assert oct(mode(run / "plots")) == oct(0o755)
    assert not list(run.glob(".*.tmp"))  # no temporary file left behind


def test_report_rewrites_the_files_with_its_own_umask(piped, tmp_path):
    run = tmp_path / "run"  # a copy (modes kept): the shared run stays as the run wrote it
    shutil.copytree(piped[0], run)
    done = main_py("report", str(run), umask=0o027)
    assert done.returncode == 0, done.stderr
    for path in (run / "summary.csv", run / "summary.md", run / "results.csv",
                 run / "plots" / "forget_vs_retain.png"):
        assert oct(mode(path)) == oct(0o640), path
    assert oct(mode(run / "results.json")) == oct(0o644)  # report only reads it


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600),
                                             (0o002, 0o664)])
def test_write_atomic_honours_the_umask(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        write_json_atomic(tmp_path / "deep" / "results.json", {"x": 1})
        write_atomic(tmp_path / "deep" / "a.png", b"\x89PNG")
    finally:
        os.umask(previous)
    assert oct(mode(tmp_path / "deep" / "results.json")) == oct(expected)
    assert oct(mode(tmp_path / "deep" / "a.png")) == oct(expected)
    assert json.loads((tmp_path / "deep" / "results.json").read_text()) == {"x": 1}
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["a.png", "results.json"]


# -- stdout into a closed pipe --------------------------------------------------------------------


@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_report_into_a_closed_pipe_ends_quietly(piped, reader):
    """``true`` has gone before the report prints (its write fails for sure); ``head -1`` reads
    one line and leaves."""
    run, _, _ = piped
    command = (f"set -o pipefail; {sys.executable} main.py report {run} --no-plots | {reader}")
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout == ("| unlearner | seeds | accuracy.forget.unlearned | "
                           "accuracy.retain.unlearned | accuracy.test.unlearned |\n"
                           if reader == "head -1" else "")


# -- report --metrics -----------------------------------------------------------------------------


def test_report_refuses_an_unknown_metric_with_the_nearest_name(piped):
    run, _, _ = piped
    before = (run / "summary.csv").read_bytes()
    done = main_py("report", str(run), "--no-plots", "--metrics", "accuracy.forget.unlearnd",
                   "accuracy.test.unlearned")
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    assert ("unknown metric 'accuracy.forget.unlearnd' (did you mean "
            "'accuracy.forget.unlearned'?)") in done.stderr
    assert "accuracy.test.unlearned'" not in done.stderr.split("The run's metrics")[0]
    assert (run / "summary.csv").read_bytes() == before  # nothing rewritten
    known = main_py("report", str(run), "--no-plots", "--metrics", "accuracy.forget.unlearned")
    assert known.returncode == 0, known.stderr
    assert known.stdout.splitlines()[0] == "| unlearner | seeds | accuracy.forget.unlearned |"


# -- verbosity ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [["-q", "-v"], ["--quiet", "--debug"]])
def test_quiet_with_verbose_or_debug_is_a_usage_error(flags, capsys):
    with pytest.raises(SystemExit) as stop:
        parse_args(["exp.json", *flags])
    assert stop.value.code == 2
    assert "--quiet cannot be combined with --verbose or --debug" in capsys.readouterr().err


def test_console_levels_of_quiet_default_and_verbose():
    """The console logging of each verbosity, in a child (the root logger is fresh there)."""
    script = """
import logging, sys
from erasure.logs import console_logging
console_logging(**{%s})
for name in ("erasure.runner", "other"):
    log = logging.getLogger(name)
    log.debug("D " + name); log.info("I " + name); log.warning("W " + name)
"""
    shown = {}
    for kind, kwargs in [("quiet", "'quiet': True"), ("default", ""),
                         ("verbose", "'verbose': True")]:
        done = subprocess.run([sys.executable, "-c", script % kwargs], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        shown[kind] = [line.split(": ", 1)[1] for line in done.stderr.splitlines()]
    assert shown["quiet"] == ["W erasure.runner", "W other"]
    assert shown["default"] == ["I erasure.runner", "W erasure.runner", "I other", "W other"]
    assert shown["verbose"] == ["D erasure.runner", "I erasure.runner", "W erasure.runner",
                                "I other", "W other"]


# -- on a terminal --------------------------------------------------------------------------------


def test_on_a_terminal_log_lines_never_share_a_line_with_a_bar(tmp_path):
    """stderr on a pseudo-terminal: bars are drawn, and every log line starts a line of its own
    (after a newline, or after the carriage return with which a bar is cleared)."""
    import fcntl
    import pty
    import struct
    import termios

    config = write_config(tmp_path)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    try:
        child = subprocess.Popen([sys.executable, "main.py", str(config), "--no-plots", "--output",
                                  str(tmp_path / "run")], cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert child.wait(timeout=300) == 0
    finally:
        os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert "%|" in text  # bars were drawn
    starts = [m.start() for m in LOG_LINE.finditer(text)]
    assert len(starts) >= 5
    after = [text[max(i - 30, 0):i] for i in starts if i > 0 and text[i - 1] not in "\r\n"]
    assert after == []  # what a log line would follow on its line: a bar
    for i in starts:
        line = text[i:text.index("\n", i)]
        assert "%|" not in line, line
    assert "record 2/2: Finetuning seed 0 finished in" in text


def test_the_progress_line_says_failed_and_leaves_out_an_unknown_start(caplog):
    """A cluster reports no start of a record: its line has no duration."""
    import logging
    import time

    from erasure.runner import _log_record

    with caplog.at_level(logging.INFO, logger="erasure.runner"):
        _log_record({"name": "Scrub", "seed": 3, "status": "failed"}, 4, 9,
                    time.perf_counter() - 2.0)
        _log_record({"name": "SSD", "seed": 1, "status": "finished"}, 5, 9, None)
    first, second = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(r"record 4/9: Scrub seed 3 failed in \d+\.\d s", first)
    assert second == "record 5/9: SSD seed 1 finished"
