"""The benchmarks run: each, at its smallest (``--smoke``), in its own process, ends with a line
``ratio: <number>`` (bench/tuning.py, a quality benchmark, with its tolerance count instead). No
timing is asserted (the numbers of a smoke run mean nothing)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RATIO = re.compile(r"^ratio: (\d+(\.\d+)?|nan|inf)$")


@pytest.mark.parametrize("script", ["overhead.py", "pipeline.py", "gpu.py", "defaults.py",
                                    "scale.py"])
def test_bench_smoke_run_ends_with_a_ratio(script, tmp_path):
    env = {**os.environ, "ERASURE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--smoke", "--device", "cpu"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert RATIO.match(lines[-1]), lines[-5:]
    assert float(lines[-1].split()[1]) > 0
    assert any(line.startswith("machine:") for line in lines)


def test_validate_bench_smoke_run_ends_with_a_ratio():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "validate.py"), "--smoke"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert RATIO.match(lines[-1]), lines[-5:]
    assert float(lines[-1].split()[1]) > 0
    assert lines[0].startswith("machine:")
    assert any(line.startswith("--validate (process)") for line in lines)


TOLERANCE = re.compile(r"^methods within tolerance: (\d+)/(\d+) \(defaults: (\d+)\)$")


def test_tuning_bench_quick_run_ends_with_the_tolerance_count(tmp_path):
    env = {**os.environ, "ERASURE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "tuning.py"), "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("machine:")
    match = TOLERANCE.match(lines[-1])
    assert match, lines[-5:]
    tuned, total, defaults = map(int, match.groups())
    assert total == 3 and tuned <= total and defaults <= total
    assert any(line.startswith("digits MLP (random): tuning 3 methods × 3 trials") for line in lines)
