#!/usr/bin/env python
"""ResNet-18 on CIFAR-shaped synthetic data: images/s for training and evaluation, per setting.

The framework's own path: the samples are held in a ``Data`` object on the device (moved there
once), the network is built by ``Predictor.new_model`` of a predictor carrying the hardware
settings (``Predictor.accelerated``, ``erasure.models.acceleration``: what ``globals.precision``
/ ``channels_last`` / ``compile`` set), trained by ``Predictor.train`` (``fit``: shuffled
batches gathered on the device) and evaluated by ``OutputStore`` (batched, inference mode, fp32
logits).

For each setting (``--modes``; default fp32, bf16, compile, bf16+compile and bf16+compile with
channels-last): a warm-up (training steps and evaluation batches of every batch shape the timed
runs use, which is where ``torch.compile`` compiles — its seconds are shown apart), then
``--epochs`` timed training epoch(s) over ``--samples`` images and one timed evaluation pass over
them. On CUDA the
host-to-device copies of one timed training epoch are counted with the profiler (in-memory data
should need one per epoch: the shuffled order, drawn from the CPU generator).

Runs on a CPU too (``--samples 256 --width 16`` or ``--smoke``) to check the script; CPU numbers
say little about a GPU. Where ``torch.compile`` cannot work, the compile rows run uncompiled
and say so.

The last line is ``ratio: <bf16+compile training images/s ÷ fp32 training images/s>``.

Usage::

    python bench/gpu.py [--samples 50000] [--batch-size 128] [--epochs 1] [--repeats 1]
                        [--modes fp32 bf16 compile bf16+compile bf16+compile+channels_last]
                        [--width 64] [--device auto] [--threads N] [--smoke]
"""
from __future__ import annotations

import argparse
import copy
import sys
import time

import benchutil
import torch

from erasure.data import Data
from erasure.data.sources.base import Samples
from erasure.measures import OutputStore
from erasure.models import acceleration
from erasure.models.acceleration import Acceleration
from erasure.plan import prepare, resolve_device

MODES = ["fp32", "bf16", "compile", "bf16+compile", "bf16+compile+channels_last"]


def settings_of(mode: str) -> Acceleration:
    parts = set(mode.split("+"))
    unknown = parts - {"fp32", "bf16", "compile", "channels_last"}
    if unknown:
        raise SystemExit(f"unknown mode part(s) {sorted(unknown)} in '{mode}'")
    return Acceleration(precision="bf16" if "bf16" in parts else "fp32",
                        channels_last="channels_last" in parts, compile="compile" in parts)


def predictor(batch_size: int, width: int, epochs: int):
    config = {
        "globals": {"seed": 0, "device": "cpu"},
        "data": {"class": "DatasetManager", "parameters": {
            # never loaded (the data is synthetic): only names the partitions the recipe reads
            "DataSource": {"class": "SklearnDataSource"},
            "partitions": [{"class": "PercentageSplit",
                            "parameters": {"parts_names": ["train", "test"], "percentage": 0.5}},
                           {"class": "PercentageSplit",
                            "parameters": {"parts_names": ["forget", "retain"], "percentage": 0.5,
                                           "ref_data": "train"}}]}},
        "predictor": {"class": "Predictor", "parameters": {
            "model": {"class": "ResNet18", "parameters": {"width": width}},
            "optimizer": {"class": "SGD", "parameters": {"lr": 0.05, "momentum": 0.9,
                                                           "weight_decay": 5e-4}},
            "loss_fn": {"class": "CrossEntropyLoss"},
            "epochs": epochs, "batch_size": batch_size}},
        "unlearners": [{"class": "Identity"}],
        "evaluator": {"class": "Evaluator"},
    }
    return prepare(config).predictor


def synthetic(samples: int, device: torch.device, eval_batch: int) -> Data:
    """CIFAR-shaped random images (3×32×32, roughly standardised) and 10 random labels."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(samples, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (samples,), generator=g)
    partitions = {"all": torch.arange(samples), "train": torch.arange(samples)}
    return Data(Samples(x=x, y=y, class_names=[str(i) for i in range(10)]), partitions, device,
                eval_batch)


def count_copies(run) -> int | None:
    """Host-to-device copies the profiler sees while ``run()`` executes (CUDA only)."""
    try:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            run()
            torch.cuda.synchronize()
        return sum(e.count for e in prof.key_averages()
                   if "HtoD" in e.key or "Memcpy HtoD" in e.key)
    except Exception as e:  # a profiler that does not work here must not stop the benchmark
        print(f"(host-to-device copies not counted: {type(e).__name__}: {e})")
        return None


def warm_size(n: int, batch: int, repeats: int) -> int:
    """A subset size whose batches have every shape a pass over ``n`` samples has: ``repeats``
    full batches and the remainder (when ``n`` is not a multiple of ``batch``)."""
    if n <= batch:
        return n
    return min(n, repeats * batch + n % batch)


def bench_mode(mode, args, data, recipe, device, sync):
    requested = settings_of(mode)
    settings = acceleration.resolve(requested, device)
    recipe = recipe.accelerated(settings)  # every network it builds gets the settings
    acceleration.prepare_data(data, settings)
    torch.manual_seed(0)
    model = recipe.new_model(data)
    generator = torch.Generator().manual_seed(0)
    # warm-up (and compilation) on subsets that give every batch shape the timed runs will
    # see — full batches and the smaller last one, for training and for evaluation — so
    # that no (re)compilation happens on the clock
    n = len(data.y)
    train_warm = warm_size(n, args.batch_size, repeats=2)
    eval_warm = warm_size(n, args.eval_batch_size, repeats=1)
    data.partitions["warm"] = torch.arange(train_warm, device=device)
    data.partitions["warm_eval"] = torch.arange(eval_warm, device=device)
    tick = time.perf_counter()
    warm_recipe = copy.copy(recipe)
    warm_recipe.epochs = 1
    warm_recipe.train(model, data, "warm", generator)
    OutputStore(model, data)("warm_eval")
    sync()
    warmup = time.perf_counter() - tick
    train_s, eval_s = [], []
    for _ in range(args.repeats):
        train_s.append(benchutil.timed(lambda: recipe.train(model, data, "train", generator), sync))
        eval_s.append(benchutil.timed(lambda: OutputStore(model, data)("train"), sync))
    copies = None
    if device.type == "cuda" and not args.no_profile:
        copies = count_copies(lambda: warm_recipe.train(model, data, "train", generator))
    del data.partitions["warm"], data.partitions["warm_eval"]
    if data.x.is_contiguous(memory_format=torch.channels_last) and data.x.ndim == 4:
        data.x = data.x.contiguous()  # the next mode starts from the plain layout
    note = "" if settings == requested else "compile unavailable: ran uncompiled"
    return {"mode": mode, "effective": settings.describe(), "warmup": warmup,
            "train": n * recipe.epochs / benchutil.median(train_s),
            "eval": n / benchutil.median(eval_s), "copies": copies, "note": note}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=128, help="training batch (128)")
    parser.add_argument("--eval-batch-size", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=1, help="timed training epochs per repeat")
    parser.add_argument("--repeats", type=int, default=1, help="timed repeats (median)")
    parser.add_argument("--width", type=int, default=64, help="ResNet-18 base width (64)")
    parser.add_argument("--modes", nargs="+", default=MODES,
                        help="settings: parts fp32|bf16, compile, channels_last joined by +")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--backend", default=None,
                        help="torch.compile backend (default inductor; 'eager' traces only)")
    parser.add_argument("--no-profile", action="store_true", help="do not count copies (CUDA)")
    parser.add_argument("--smoke", action="store_true",
                        help="seconds on a CPU: 64 samples, width 4, fp32 and bf16+compile with "
                             "the 'eager' compile backend")
    args = parser.parse_args(argv)
    if args.smoke:
        args.samples, args.width, args.batch_size, args.eval_batch_size = 64, 4, 32, 64
        args.modes, args.backend = ["fp32", "bf16+compile"], args.backend or "eager"
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.backend:
        acceleration.BACKEND = args.backend
    device = resolve_device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    if "fp32" not in args.modes or "bf16+compile" not in args.modes:
        print("note: the ratio needs the modes fp32 and bf16+compile")

    recipe = predictor(args.batch_size, args.width, args.epochs)
    data = synthetic(args.samples, device, args.eval_batch_size)
    print(f"machine: {benchutil.machine(str(device))}")
    print(f"ResNet-18 (width {args.width}, {sum(p.numel() for p in recipe.new_model(data).parameters()):,} "
          f"weights), {args.samples:,} synthetic 3×32×32 images, batch {args.batch_size} "
          f"(evaluation {args.eval_batch_size}), SGD; {args.epochs} epoch(s) × {args.repeats} "
          f"repeat(s), median; compile backend {acceleration.BACKEND}")
    rows = [bench_mode(mode, args, data, recipe, device, sync) for mode in args.modes]
    base = next((r for r in rows if r["mode"] == "fp32"), rows[0])
    print(benchutil.table(
        ["mode", "ran as", "warm-up s", "train img/s", "× fp32", "eval img/s", "× fp32",
         "HtoD copies/epoch", "note"],
        [(r["mode"], r["effective"], r["warmup"], r["train"], r["train"] / base["train"],
          r["eval"], r["eval"] / base["eval"],
          "n/a" if r["copies"] is None else r["copies"], r["note"]) for r in rows]))
    target = next((r for r in rows if r["mode"] == "bf16+compile"), None)
    ratio = target["train"] / base["train"] if target else float("nan")
    print("ratio = bf16+compile training images/s ÷ fp32 training images/s")
    print(f"ratio: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
