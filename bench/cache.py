#!/usr/bin/env python
"""The model cache's worth: a first run vs a re-run with one unlearner changed.

Each run is a fresh ``python main.py`` process (what a researcher waits for), all sharing one new
cache folder:

1. ``first``   — empty cache: trains the original and the gold model, then every unlearner;
2. ``rerun``   — the same config with one unlearner's epochs changed (``--set``): the original
   and the gold model come from the cache, only the unlearners run again;
3. ``nocache`` — the same re-run with the cache off (``--set globals.cache=false``), for reference.

Prints wall seconds per run (median of ``--repeats``) and, last, ``ratio: <rerun ÷ first>``.

Usage::

    python bench/cache.py [--config configs/example.jsonc] [--repeats 3] [--epochs N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed_run(config: Path, cache: Path, output: Path, sets: list[str]) -> tuple[float, dict]:
    command = [sys.executable, "main.py", str(config), "--quiet", "--overwrite", "--cache-dir",
               str(cache), "--output", str(output)]
    for item in sets:
        command += ["--set", item]
    tick = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - tick
    if done.returncode != 0:
        sys.exit(f"run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    document = json.loads((output / "results.json").read_text())
    return seconds, document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="configs/example.jsonc")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="override the predictor's epochs (smoke runs)")
    parser.add_argument("--unlearner", type=int, default=2,
                        help="index of the unlearner whose epochs the re-run changes")
    args = parser.parse_args()
    config = ROOT / args.config
    base = [f"predictor.parameters.epochs={args.epochs}"] if args.epochs else []
    change = [f"unlearners[{args.unlearner}].parameters.epochs=1"]
    times: dict[str, list[float]] = {"first": [], "rerun": [], "nocache": []}
    cached = {}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="erasure-bench-cache-") as tmp:
            tmp = Path(tmp)
            seconds, _ = timed_run(config, tmp / "cache", tmp / "first", base)
            times["first"].append(seconds)
            seconds, doc = timed_run(config, tmp / "cache", tmp / "rerun", base + change)
            times["rerun"].append(seconds)
            cached = {k: v["cached"] for k, v in doc["models"][str(doc["seeds"][0])].items()}
            seconds, _ = timed_run(config, tmp / "cache", tmp / "nocache",
                                   base + change + ["globals.cache=false"])
            times["nocache"].append(seconds)
    print(f"config: {args.config}   repeats: {args.repeats}   models cached in the re-run: {cached}")
    print(f"{'run':<10}{'median s':>10}{'all runs (s)':>40}")
    for name, values in times.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:<10}{statistics.median(values):>10.2f}{shown:>40}")
    ratio = statistics.median(times["rerun"]) / statistics.median(times["first"])
    print("ratio is the re-run's wall time (one unlearner changed, models from the cache) "
          "divided by the first run's")
    print(f"ratio: {ratio:.3f}")


if __name__ == "__main__":
    main()
