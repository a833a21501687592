"""The bad-input corpus (tests/bad_configs/, described in its README.md).

Every broken input goes through the real command line and must: exit with status 2, print each
expected problem (its config path and message) on stderr, print no traceback, write nothing to
the output folder — and fail before any model is trained.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from erasure.cli import EXIT_CONFIG, main
from erasure.config import load_config
from erasure.models import Predictor
from erasure.plan import prepare

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "bad_configs"
#: the path written for a problem that has no place in the config (an unreadable file)
NO_PATH = "-"


@dataclass
class Case:
    """One bad input and what the user must be told.

    Attributes:
        name: the case's name (its file name without ``.jsonc``, or its key in cases.json).
        config: the path given on the command line (it may not exist, or be a folder).
        expect: ``(config path, message substring)`` pairs; the path is ``-`` for a problem
            printed without one.
        args: the command-line arguments after the config, ``{out}`` and ``{config}`` replaced.
        requires: ``torch_geometric`` (skipped without it), ``no-cuda`` (skipped with a CUDA
            GPU) or ``no-mps`` (skipped with an Apple MPS GPU).
        known_bug: why the framework does not answer this input yet (the case is a strict
            xfail: once fixed it fails as XPASS, a reminder to drop the ``known-bug:`` line).
    """

    name: str
    config: Path
    expect: list[tuple[str, str]]
    args: list[str] = field(default_factory=lambda: ["--output", "{out}"])
    requires: list[str] = field(default_factory=list)
    known_bug: str = ""


def _expectation(text: str, where: str) -> tuple[str, str]:
    path, sep, message = text.strip().partition(": ")
    if not sep or not path or not message:
        raise ValueError(f"{where}: an expectation is '<config path>: <message>', got {text!r}")
    return path, message


def header_case(file: Path) -> Case:
    """A case from a ``.jsonc`` file's leading ``//`` comment lines (``expect:``, ``args:``,
    ``requires:``)."""
    case = Case(file.stem, file, [])
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.startswith("//"):
            break
        key, sep, value = line[2:].strip().partition(":")
        if not sep:
            continue
        if key == "expect":
            case.expect.append(_expectation(value, file.name))
        elif key == "args":
            case.args = value.split()
        elif key == "requires":
            case.requires = value.split()
        elif key == "known-bug":
            case.known_bug = value.strip()
    return case


def manifest_cases() -> list[Case]:
    """The cases that cannot carry a header (empty, binary, missing, a folder): cases.json."""
    manifest = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
    return [Case(name, CORPUS / entry["config"],
                 [_expectation(e, f"cases.json {name}") for e in entry["expect"]],
                 entry.get("args", ["--output", "{out}"]), entry.get("requires", []))
            for name, entry in manifest.items() if not name.startswith("_")]


CASES = [header_case(f) for f in sorted(CORPUS.glob("*.jsonc"))] + manifest_cases()


def problem_entries(err: str) -> list[str]:
    """The printed problems: each ``  - path: message`` line with its indented hint lines."""
    return [entry.rstrip() for entry in re.split(r"^  - ", err, flags=re.MULTILINE)[1:]]


def missing_expectations(case: Case, err: str) -> list[str]:
    entries = problem_entries(err)
    missing = []
    for path, message in case.expect:
        if path == NO_PATH:
            found = any(message in entry for entry in entries)
        else:
            head = f"{path}: "
            found = any(entry.startswith(head) and message in entry[len(head):]
                        for entry in entries)
        if not found:
            missing.append(f"{path}: {message}")
    return missing


def corpus_snapshot() -> dict[str, bytes]:
    return {str(p.relative_to(CORPUS)): p.read_bytes()
            for p in sorted(CORPUS.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture
def no_training(monkeypatch):
    """Every bad input must be refused before any model is trained."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was trained: this bad input was found too late")

    monkeypatch.setattr(Predictor, "train", refuse)


def skip_unless_available(case: Case) -> None:
    for need in case.requires:
        if need == "no-cuda":
            if torch.cuda.is_available():
                pytest.skip("this machine has a CUDA GPU")
        elif need == "no-mps":
            if torch.backends.mps.is_available():
                pytest.skip("this machine has an Apple MPS GPU")
        else:
            pytest.importorskip(need)


# -- the corpus itself -----------------------------------------------------------------------

def test_the_corpus_is_large_and_every_case_expects_something():
    assert len(CASES) >= 45
    assert len({c.name for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.expect, f"{case.name} expects no message"
        assert all(r in ("no-cuda", "no-mps", "torch_geometric") for r in case.requires), \
            case.name


@pytest.mark.parametrize("base", ["digits", "karate"])
def test_the_base_configs_the_cases_break_are_valid(base):
    """Each case breaks one thing of a valid config; the base itself must pass."""
    if base == "karate":
        pytest.importorskip("torch_geometric")
    path = CORPUS / "_base" / f"{base}.jsonc"
    plan = prepare(load_config(path), config_file=path)
    assert len(plan.unlearners) == 1


# -- every case through the command line -----------------------------------------------------

def as_param(case: Case):
    marks = [pytest.mark.xfail(strict=True, reason=case.known_bug)] if case.known_bug else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [as_param(c) for c in CASES])
def test_bad_input_exits_2_with_its_message_and_writes_nothing(case, tmp_path, capsys,
                                                               monkeypatch, no_training):
    skip_unless_available(case)
    before = corpus_snapshot()
    monkeypatch.chdir(tmp_path)  # where a default output folder (output/<name>) would go
    out = tmp_path / "out"
    args = [a.format(out=out, config=case.config) for a in case.args]

    status = main([str(case.config), *args])

    captured = capsys.readouterr()
    assert status == EXIT_CONFIG == 2, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""
    assert "error: " in captured.err, captured.err  # (after a progress bar, if one started)
    missing = missing_expectations(case, captured.err)
    assert not missing, f"not printed: {missing}\n--- stderr:\n{captured.err}"
    assert not any(tmp_path.iterdir())  # neither the output folder nor anything else
    assert corpus_snapshot() == before  # nothing written beside or under the config either


# -- the real process ------------------------------------------------------------------------

SUBPROCESS_CASES = ["syntax_missing_brace", "data_forget_class_absent"]


def test_main_py_exits_2_without_a_traceback(tmp_path):
    """The real entry point, in its own process: the exit status the shell sees."""
    cases = {c.name: c for c in CASES}
    runs = []
    for name in SUBPROCESS_CASES:  # started together: most of the time is importing torch
        out = tmp_path / name
        runs.append((cases[name], out, subprocess.Popen(
            [sys.executable, "main.py", str(cases[name].config), "--output", str(out)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for case, out, process in runs:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, stderr
        assert "Traceback" not in stdout + stderr
        assert stdout == ""
        assert not missing_expectations(case, stderr), stderr
        assert not out.exists()
