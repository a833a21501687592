"""The benchmarks run: each, at its smallest (``--smoke``), ends with a line ``ratio: <number>``
(bench/tuning.py, a quality benchmark, with its tolerance count instead). No timing is asserted
(the numbers of a smoke run mean nothing).

Each script runs in this process, as ``python bench/SCRIPT.py`` would run it (``__main__``, its
arguments in ``sys.argv``, ``bench/`` on the path), so that none pays a fresh interpreter's
imports; what a script changes for the whole process (torch's threads, the root logger) is put
back after it. bench/scale.py joins the tests' Ray instance instead of starting its own."""
from __future__ import annotations

import logging
import re
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RATIO = re.compile(r"^ratio: (\d+(\.\d+)?|nan|inf)$")


def run_script(script: str, args: list[str], monkeypatch, capsys) -> list[str]:
    """The lines ``python bench/<script> <args>`` prints, run in this process; fails on a
    non-zero exit."""
    import torch

    path = ROOT / "bench" / script
    threads, root = torch.get_num_threads(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(sys, "argv", [str(path), *args])
    monkeypatch.syspath_prepend(str(path.parent))
    capsys.readouterr()
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as stop:
        assert stop.code in (None, 0), capsys.readouterr().err[-3000:]
    finally:
        torch.set_num_threads(threads)
        root.handlers[:] = handlers
        root.setLevel(level)
    return capsys.readouterr().out.strip().splitlines()


@pytest.mark.parametrize("script", ["overhead.py", "pipeline.py", "gpu.py", "defaults.py",
                                    "scale.py", "scale_images.py"])
def test_bench_smoke_run_ends_with_a_ratio(script, tmp_path, monkeypatch, capsys, request):
    if script == "scale.py":
        request.getfixturevalue("ray_instance")
    monkeypatch.setenv("ERASURE_CACHE_DIR", str(tmp_path / "cache"))
    # pipeline.py: the like-for-like run alone (the SmallCNN variant takes the same path)
    extra = ["--erasure-config", "bench/erasure_fashion28.jsonc"] if script == "pipeline.py" else []
    lines = run_script(script, ["--smoke", "--device", "cpu", *extra], monkeypatch, capsys)
    assert RATIO.match(lines[-1]), lines[-5:]
    assert float(lines[-1].split()[1]) > 0
    assert any(line.startswith("machine:") for line in lines)
    if script == "pipeline.py":  # the FashionCNN run against its arithmetic floor
        assert any(re.match(r"floor: \S+ s for FashionCNN; experiment ", line) for line in lines)
        assert any(line.startswith("like for like: ") for line in lines)


def test_validate_bench_smoke_run_ends_with_a_ratio(monkeypatch, capsys):
    lines = run_script("validate.py", ["--smoke"], monkeypatch, capsys)
    assert RATIO.match(lines[-1]), lines[-5:]
    assert float(lines[-1].split()[1]) > 0
    assert lines[0].startswith("machine:")
    assert any(line.startswith("--validate (process)") for line in lines)


def test_cli_bench_smoke_run_ends_with_a_ratio(monkeypatch, capsys):
    lines = run_script("cli.py", ["--smoke"], monkeypatch, capsys)  # its commands: processes
    assert RATIO.match(lines[-1]), lines[-5:]
    assert float(lines[-1].split()[1]) > 0
    assert lines[0].startswith("machine:")
    for command in ("--help ", "--validate ", "list ", "schema ", "import erasure ",
                    "import torch, os._exit "):
        assert any(line.startswith(command) for line in lines), command


TOLERANCE = re.compile(r"^methods within tolerance: (\d+)/(\d+) \(defaults: (\d+)\)$")


def test_tuning_bench_quick_run_ends_with_the_tolerance_count(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ERASURE_CACHE_DIR", str(tmp_path / "cache"))
    lines = run_script("tuning.py", ["--quick"], monkeypatch, capsys)
    assert lines[0].startswith("machine:")
    match = TOLERANCE.match(lines[-1])
    assert match, lines[-5:]
    tuned, total, defaults = map(int, match.groups())
    assert total == 3 and tuned <= total and defaults <= total
    assert any(line.startswith("digits MLP (random): tuning 3 methods × 3 trials") for line in lines)


def test_same_results_tells_equal_runs_from_changed_ones(tmp_path, monkeypatch, capsys):
    import json

    monkeypatch.setenv("ERASURE_CACHE_DIR", str(tmp_path / "cache"))
    run_script("scale_images.py", ["--smoke", "--output", str(tmp_path / "a")], monkeypatch, capsys)
    document = json.loads((tmp_path / "a" / "results.json").read_text())
    metrics = document["records"][1]["metrics"]
    metrics["runtime.unlearn"] += 1.0  # the machine's: never compared
    (tmp_path / "b.json").write_text(json.dumps(document))
    lines = run_script("same_results.py", [str(tmp_path / "a"), str(tmp_path / "b.json")],
                       monkeypatch, capsys)
    assert lines[-1] == "same: yes"
    key = next(k for k in metrics if k.startswith("accuracy."))
    metrics[key] += 1e-7
    (tmp_path / "b.json").write_text(json.dumps(document))
    with pytest.raises(AssertionError):  # exits 1, with the difference printed
        run_script("same_results.py", [str(tmp_path / "a"), str(tmp_path / "b.json")],
                   monkeypatch, capsys)
