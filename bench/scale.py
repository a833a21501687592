#!/usr/bin/env python
"""One multi-seed study on the local executor and on Ray with 1 and 2 workers (issue 16).

The study: ``--config`` (default ``configs/example.jsonc``: 15 unlearners, 20 measures, digits
MLP) with ``--seeds`` seeds (default 4), every model trained in each run (``globals.cache:
false``), one torch thread per record (``globals.threads: 1``), results in a temporary folder.
Each run goes through the real pipeline (``erasure.prepare`` + ``erasure.run``):

1. ``local``: every seed and record in this process, one after another (the baseline);
2. one local Ray instance of 2 CPUs is started (its seconds are printed apart, not in the runs),
   unless this process is already connected to one (the tests'), which it then uses and leaves
   running;
3. ``ray, 1 worker``: each task reserves 2 CPUs (``globals.num_cpus: 2``): one task at a time;
4. ``ray, 2 workers``: each task reserves 1 CPU: two at a time.

The Ray runs also check that their records equal the local run's (runtime and memory aside). The
first Ray run pays the start of its worker processes (importing torch and the framework, loading
the data); each worker process builds what measures share per seed (LiRA's shadow models, the
reference networks) for itself.

Before the table, the per-task times of seed 0 in this process (what a cluster estimate needs,
guide chapter 9): the seconds of the models task and of one training epoch, each record's
seconds (unlearning and every measure) and their mean in training epochs (``r``).

The last line is ``ratio: <local seconds ÷ ray 2-worker seconds>``.

Usage::

    python bench/scale.py [--config FILE] [--seeds 4] [--epochs N] [--device cpu] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import benchutil

ROOT = benchutil.ROOT
MACHINE_KEYS = ("runtime.", "memory.", "rte.")


def plan_for(config_file: Path, seeds: int, executor: str, num_cpus: float, device: str,
             epochs: int | None, unlearners: int | None):
    from erasure.config import load_config
    from erasure.config.overrides import Override, apply_overrides
    from erasure.plan import prepare

    config = load_config(config_file)
    if unlearners:
        config["unlearners"] = config["unlearners"][:unlearners]
    overrides = {"globals.seeds": list(range(seeds)), "globals.executor": executor,
                 "globals.num_cpus": num_cpus, "globals.cache": False, "globals.threads": 1,
                 "globals.device": device}
    if epochs is not None:
        overrides["predictor.parameters.epochs"] = epochs
    config = apply_overrides(config, [Override(k, v, "bench") for k, v in overrides.items()])
    return prepare(config, config_file=config_file)


def records(document: dict) -> list[dict]:
    return [dict(r, metrics={k: v for k, v in r["metrics"].items()
                             if not k.startswith(MACHINE_KEYS)}) for r in document["records"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "example.jsonc")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--epochs", type=int, help="the predictor's epochs (default: the config's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--smoke", action="store_true",
                        help="1 seed, 2 unlearners, 1 epoch; no 1-worker run")
    args = parser.parse_args()
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)  # a run logs INFO into its run.log only
    logging.basicConfig(level=logging.WARNING, handlers=[console])
    unlearners = None
    runs = [("local", "local", 1), ("ray, 1 worker", "ray", 2), ("ray, 2 workers", "ray", 1)]
    if args.smoke:
        args.seeds, args.epochs, unlearners = 1, 1, 2
        del runs[1]

    import ray

    from erasure.runner import run

    print(f"machine: {benchutil.machine(args.device)}")
    print(f"study: {args.config.name}, {args.seeds} seeds"
          + (f", {unlearners} unlearners" if unlearners else "")
          + (f", {args.epochs} epochs" if args.epochs else ""))
    per_task(plan_for(args.config, 1, "local", 1, args.device, args.epochs, unlearners))
    rows, seconds, reference = [], {}, None
    started = False  # a Ray instance this script started (else it joins this process's own)
    with tempfile.TemporaryDirectory() as folder:
        for name, executor, num_cpus in runs:
            if executor == "ray" and not ray.is_initialized():
                tick = time.perf_counter()
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
                started = True
                print(f"Ray start (2 CPUs, not in the runs below): "
                      f"{time.perf_counter() - tick:.1f} s")
            plan = plan_for(args.config, args.seeds, executor, num_cpus, args.device,
                            args.epochs, unlearners)
            tick = time.perf_counter()
            document = json.loads(run(plan, output=Path(folder) / name.replace(" ", "_"))
                                  .read_text())
            seconds[name] = time.perf_counter() - tick
            if reference is None:
                reference = records(document)
                same = "-"
            else:
                same = "yes" if records(document) == reference else "NO"
            rows.append([name, len(document["records"]), seconds[name],
                         seconds["local"] / seconds[name], same])
    print(benchutil.table(["executor", "records", "seconds", "speed-up", "same records"], rows))
    if started:
        ray.shutdown()
    print(f"ratio: {seconds['local'] / seconds['ray, 2 workers']:.2f}")


def per_task(plan) -> None:
    """Seed 0 of ``plan``, unit by unit in this process: the models task, then each record."""
    import torch

    from erasure.experiment import Session

    torch.set_num_threads(1)
    session = Session(plan, 0)
    session.load_data()
    tick = time.perf_counter()
    session.train_models()
    models = time.perf_counter() - tick
    epochs = plan.predictor.epochs * (1 + len(plan.gold_partitions))
    epoch = models / epochs
    times = []
    for index in range(len(plan.names)):
        tick = time.perf_counter()
        session.unlearn(index)
        times.append(time.perf_counter() - tick)
    mean = sum(times) / len(times)
    print(f"models task (seed 0): {models:.2f} s for {epochs} training epochs "
          f"({epoch:.3f} s per epoch)")
    print("records (seed 0, s): " + ", ".join(f"{n} {t:.2f}" for n, t in zip(plan.names, times)))
    print(f"mean record: {mean:.2f} s = r {mean / epoch:.1f} training epochs (the first record "
          f"also builds what the measures share for the seed)")


if __name__ == "__main__":
    main()
