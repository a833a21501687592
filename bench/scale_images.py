#!/usr/bin/env python
"""The original ERASURE's experiment at scale: ``bench/erasure_digits28.jsonc`` (14 unlearners,
its measures: runtime, accuracy, AUS, relearn time, AIN, U-MIA) on 20,000 images (issue 22).

The data is scikit-learn's 1,797 digits at 28×28 tiled to ``--samples`` images, every copy but
the first shifted by a pixel offset and given a little noise (``bench/tiled_digits.py``): offline,
and no two samples equal; the config is otherwise the benchmark's own. Runs the pipeline in this
process (``prepare`` + ``run``, results in a temporary folder, or ``--output``), with no model
cache, and prints where the time went: the stages (loading, the original, the gold model) and per
record its unlearning and its evaluation, with the seconds per measure class over all records.

The last line is ``ratio: <run seconds ÷ 90>`` (issue 22's goal: 90 s on 20,000 images).

Usage::

    python bench/scale_images.py [--samples 20000] [--threads 0] [--device cpu]
                                 [--model dotted.Path --paths FOLDER] [--only NAME ...] [--epochs N]
                                 [--output FOLDER] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import benchutil

ROOT = benchutil.ROOT
GOAL_SECONDS = 90.0


def config_for(args) -> dict:
    from erasure.config import load_config

    config = load_config(ROOT / "bench" / "erasure_digits28.jsonc")
    globals_ = config.setdefault("globals", {})
    globals_.update(cache=False, device=args.device, paths=[str(ROOT / "bench"), *args.paths])
    if args.threads:
        globals_["threads"] = args.threads
    config["data"]["parameters"]["DataSource"] = {
        "class": "tiled_digits.TiledDigits", "parameters": {"samples": args.samples}}
    if args.model:
        config["predictor"]["parameters"]["model"] = {"class": args.model}
    if args.only:
        config["unlearners"] = [u for u in config["unlearners"]
                                if (u.get("name") or u["class"]) in args.only]
    if args.epochs:
        config["predictor"]["parameters"]["epochs"] = args.epochs
    if args.smoke:  # a seconds-long check that the script works: 3 unlearners, 1 epoch
        config["predictor"]["parameters"]["epochs"] = 1
        config["unlearners"] = config["unlearners"][:3]
        config["evaluator"]["parameters"]["measures"] = [
            {"class": "Runtime"}, {"class": "Accuracy"}, {"class": "AUS"}, {"class": "UMIA"}]
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=0, help="0: the config's (torch's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", help="a network's dotted path instead of SmallCNN")
    parser.add_argument("--paths", nargs="*", default=[], help="folders the model is imported from")
    parser.add_argument("--only", nargs="*", help="these unlearners only (record names)")
    parser.add_argument("--epochs", type=int, help="the original's epochs instead of the config's 5")
    parser.add_argument("--output", help="keep the results folder here (for bench/same_results.py)")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.samples = 400
    started = time.perf_counter()
    import torch

    from erasure.measures import Evaluator
    from erasure.plan import prepare
    from erasure.runner import run

    config = config_for(args)
    evaluation: dict[str, float] = {}
    evaluate = Evaluator.evaluate

    def timed_evaluate(self, ctx, record):
        tick = time.perf_counter()
        try:
            return evaluate(self, ctx, record)
        finally:
            evaluation[record] = evaluation.get(record, 0.0) + time.perf_counter() - tick

    Evaluator.evaluate = timed_evaluate
    try:
        plan = prepare(config, config_file=ROOT / "bench" / "erasure_digits28.jsonc")
        by_measure: dict[str, float] = {}
        for measure in plan.evaluator.measures:
            def timed_measure(ctx, measure=measure, inner=measure.measure):
                tick = time.perf_counter()
                try:
                    return inner(ctx)
                finally:
                    name = type(measure).__name__
                    by_measure[name] = by_measure.get(name, 0.0) + time.perf_counter() - tick
            object.__setattr__(measure, "measure", timed_measure)
        print("machine:", benchutil.machine(args.device))
        with tempfile.TemporaryDirectory(prefix="erasure-bench-") as folder:
            output = Path(args.output) if args.output else Path(folder) / "run"
            tick, cpu = time.perf_counter(), time.process_time()
            results = run(plan, output=output, overwrite=True)
            seconds, cpu = time.perf_counter() - tick, time.process_time() - cpu
            document = json.loads(results.read_text())
    finally:
        Evaluator.evaluate = evaluate
    timings = document["timings"]
    stages = next((v for v in timings.values() if isinstance(v, dict)), timings)
    print(f"{args.samples} images, "
          f"{torch.get_num_threads()} torch threads")
    print(benchutil.table(["stage", "seconds"],
                          [[k, float(v)] for k, v in stages.items() if isinstance(v, (int, float))]))
    rows = [[r["name"], r["status"], float((r.get("metrics") or {}).get("runtime.unlearn", float("nan"))),
             float(evaluation.get(r["name"], float("nan")))] for r in document["records"]]
    print(benchutil.table(["record", "status", "unlearn s", "evaluate s"], rows))
    print(benchutil.table(["measure", "seconds (all records)"],
                          [[k, v] for k, v in sorted(by_measure.items(), key=lambda kv: -kv[1])]))
    print(f"run {seconds:.1f} s, {cpu:.1f} CPU s (process {time.perf_counter() - started:.1f} s), "
          f"peak RSS {benchutil.peak_rss_mb():.0f} MB")
    print(f"run seconds / {GOAL_SECONDS:.0f} s (issue 22's goal on 20,000 images):")
    print(f"ratio: {seconds / GOAL_SECONDS:.3f}")


if __name__ == "__main__":
    main()
