"""The test suite, run again and again: in a random order, at one and at two torch/BLAS threads.

    python bench/suite_stability.py [--repeats 3] [--threads 1 2] [-- PYTEST ARGS...]

Each run is a fresh ``python -m pytest -q --shuffle-seed SEED`` process (seeds 1, 2, 3…, the same for
every thread count) with ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``ERASURE_TEST_THREADS``
set to the thread count. Prints one line per run (threads, seed, passed, failed, seconds, the
failing tests) and, last, ``failed runs: <n> of <runs>``; exits 1 when any run failed. A float
compared without a tolerance that holds across thread counts and orders shows up here.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: one suite run takes 3–5 minutes on the project's 2-core machine; a hung one is a failure
TIMEOUT = 1800
SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped)")


def run_suite(threads: int, seed: int, extra: list[str]) -> tuple[dict[str, int], list[str], float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "ERASURE_TEST_THREADS": str(threads)}
    tick = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--shuffle-seed", str(seed), *extra], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {}, [f"no result within {TIMEOUT} s"], time.perf_counter() - tick
    seconds = time.perf_counter() - tick
    lines = done.stdout.strip().splitlines()
    counts = {word: int(n) for n, word in SUMMARY.findall(lines[-1] if lines else "")}
    failing = [line.split(" ", 1)[1].split(" - ")[0] for line in lines
               if line.startswith(("FAILED ", "ERROR "))]
    if done.returncode != 0 and not failing:
        failing = [f"pytest exited {done.returncode}"]
    return counts, failing, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per thread count")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("pytest_args", nargs="*", help="after --: passed on to pytest")
    args = parser.parse_args()
    load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"
    print(f"machine: {os.cpu_count()} CPUs, load {load}, python "
          f"{sys.version.split()[0]}")
    failed_runs = 0
    runs = 0
    for threads in args.threads:
        for seed in range(1, args.repeats + 1):
            counts, failing, seconds = run_suite(threads, seed, args.pytest_args)
            runs += 1
            failed_runs += bool(failing)
            print(f"threads {threads}  seed {seed}  passed {counts.get('passed', 0)}  failed "
                  f"{counts.get('failed', 0) + counts.get('error', 0) + counts.get('errors', 0)}"
                  f"  {seconds:.0f} s  {' '.join(failing)}".rstrip(), flush=True)
    print(f"failed runs: {failed_runs} of {runs}")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    sys.exit(main())
