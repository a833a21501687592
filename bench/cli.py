#!/usr/bin/env python
"""What a user waits for at the command line: ``--help``, ``--validate`` of the example,
``list`` and ``schema``, each in a fresh process (Python's start and every import included),
against the floors: ``import erasure`` and ``import torch``.

Each command runs ``--repeats`` times, the commands interleaved (A B C … A B C …) so that a
change in the machine's load touches them alike; its peak RSS is the child's own (``os.wait4``).
``import torch`` is timed twice: ending as usual, and ending with ``os._exit`` as the command
line does (:func:`erasure.cli.exit_now`), which skips the interpreter's teardown of torch.

Prints seconds (median and min) and peak RSS per command and, last,
``ratio: <--validate median seconds ÷ 2.0>`` (the goal: ≤ 1).

Usage::

    python bench/cli.py [--repeats 5] [--config configs/example.jsonc] [--smoke]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import benchutil

#: the goal for --validate of the example, in seconds, on an idle 2-core CPU
GOAL_SECONDS = 2.0


def commands(config: str, schema_file: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "--help": [python, "main.py", "--help"],
        "--validate": [python, "main.py", config, "--validate"],
        "list": [python, "main.py", "list"],
        "list unlearners": [python, "main.py", "list", "unlearners"],
        "schema": [python, "main.py", "schema", "--output", schema_file],
        "import erasure": [python, "-c", "import erasure"],
        "import torch": [python, "-c", "import torch"],
        "import torch, os._exit": [python, "-c", "import os, torch; os._exit(0)"],
    }


def run(command: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one fresh process running ``command``."""
    tick = time.perf_counter()
    child = subprocess.Popen(command, cwd=benchutil.ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - tick
    child.returncode = os.waitstatus_to_exitcode(status)
    error = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if child.returncode != 0:
        sys.exit(f"{' '.join(command[1:])} failed ({child.returncode}):\n{error[-3000:]}")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: KiB on Linux
    return seconds, usage.ru_maxrss * scale / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--config", default="configs/example.jsonc")
    parser.add_argument("--smoke", action="store_true",
                        help="one repeat, without 'list unlearners' and torch's usual exit")
    args = parser.parse_args()
    if args.smoke:
        args.repeats = 1
    seconds: dict[str, list[float]] = {}
    peaks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="erasure-bench-cli-") as tmp:
        todo = commands(args.config, os.path.join(tmp, "erasure.schema.json"))
        if args.smoke:  # one command of each kind
            todo = {k: v for k, v in todo.items() if k not in ("list unlearners", "import torch")}
        for _ in range(args.repeats):
            for name, command in todo.items():
                wall, peak = run(command)
                seconds.setdefault(name, []).append(wall)
                peaks.setdefault(name, []).append(peak)
    # after the runs: a child's peak RSS counts what it shares with this process when forked,
    # and the machine line imports torch here
    print(f"machine: {benchutil.machine('cpu')}")
    print(f"config: {args.config}; repeats: {args.repeats} (fresh processes, interleaved)")
    rows = [[name, benchutil.median(values), min(values), benchutil.median(peaks[name]),
             min(peaks[name])] for name, values in seconds.items()]
    print(benchutil.table(["command", "median s", "min s", "median MB", "min MB"], rows))
    ratio = benchutil.median(seconds["--validate"]) / GOAL_SECONDS
    print(f"ratio is --validate's median wall seconds (a fresh process) divided by the goal, "
          f"{GOAL_SECONDS:g} s")
    print(f"ratio: {ratio:.4f}")


if __name__ == "__main__":
    main()
