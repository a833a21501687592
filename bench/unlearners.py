#!/usr/bin/env python
"""Every built-in unlearner on digits with the MLP, beside the gold (retrained) model.

Scenario A forgets every training image of digit 3; scenario B a random 10% of the training set.
Each scenario is one experiment run through the real pipeline (``prepare`` + ``run``): the
original and the gold model are trained once, then every unlearner starts from the original.
Results go to ``bench/output/<scenario>-seed<N>[-2, -3…]/results.json``; the table is printed.

Columns: forget / retain / test accuracy, U-MIA and seconds of the unlearner, each with the gold
model's value in brackets (for seconds: the gold model's retraining time). U-MIA is a loss-based
attack telling the forget set from unseen data: in B the unseen data is the test set; in A it is
the test images of the forgotten class (a removed class is trivially told from the other
classes' test images by its loss alone). 0.5 means the attacker cannot tell.

Unlearners are found, not listed: every module in ``erasure/unlearners/`` is imported and every
registered concrete Unlearner subclass there runs with its defaults (Cascade excepted: it needs
steps). A module that fails to import, an unlearner whose defaults do not validate, and an
unlearner that fails while running are shown as such; the others still run.

Usage::

    python bench/unlearners.py [--seed N] [--scenario A|B|both] [--only NAME ...] [--device D]
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import pkgutil
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch

import erasure.unlearners as unlearners_package
from erasure.config import ConfigError
from erasure.config.registry import full_name, names_for, resolve
from erasure.plan import prepare, resolve_device
from erasure.runner import run
from erasure.unlearners import Unlearner

OUTPUT = ROOT / "bench" / "output"
EXCLUDED = {"Cascade"}
GOLD = "GoldModel"
FORGOTTEN_CLASS = 3


def discover() -> tuple[dict[str, type], dict[str, str]]:
    """Imports every module of ``erasure.unlearners``.

    Returns:
        The concrete registered unlearner classes defined there, by short name (Cascade
        excepted), and ``{module: error}`` for modules that failed to import.
    """
    failed = {}
    for info in sorted(pkgutil.iter_modules(unlearners_package.__path__), key=lambda i: i.name):
        try:
            importlib.import_module(f"{unlearners_package.__name__}.{info.name}")
        except Exception as e:  # one broken module must not hide the others
            failed[info.name] = f"{type(e).__name__}: {e}"
    found = {}
    for name in names_for(Unlearner):
        if name in EXCLUDED:
            continue
        cls = resolve(name, Unlearner, name)
        if cls.__module__.startswith(unlearners_package.__name__ + "."):
            found[name] = cls
    return found, failed


def config(scenario: str, seed: int, device: str, nodes: list[dict]) -> dict:
    """The experiment of one scenario: digits, MLP, the given unlearners, the bench measures."""
    partitions = [{"class": "StratifiedSplit",
                   "parameters": {"parts_names": ["train", "test"], "percentage": 0.8}}]
    if scenario == "A":
        partitions += [
            {"class": "ClassSplit", "parameters": {"parts_names": ["forget", "retain"],
                                                   "classes": [FORGOTTEN_CLASS], "ref_data": "train"}},
            {"class": "ClassSplit", "parameters": {"parts_names": ["test_forgotten", "test_kept"],
                                                   "classes": [FORGOTTEN_CLASS], "ref_data": "test"}},
        ]
        reference = "test_forgotten"
    else:
        partitions.append({"class": "PercentageSplit", "parameters": {
            "parts_names": ["forget", "retain"], "percentage": 0.1, "ref_data": "train"}})
        reference = "test"
    return {
        "globals": {"seed": seed, "device": device},
        "data": {"class": "DatasetManager", "parameters": {
            "DataSource": {"class": "SklearnDataSource", "parameters": {"name": "digits"}},
            "partitions": partitions}},
        "predictor": {"class": "Predictor", "parameters": {
            "model": {"class": "MLP", "parameters": {"hidden": [128]}},
            "optimizer": {"class": "Adam", "parameters": {"lr": 0.003}},
            "epochs": 30, "batch_size": 64}},
        "unlearners": nodes,
        "evaluator": {"class": "Evaluator", "parameters": {"measures": [
            {"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"],
                                                 "target": "unlearned"}},
            {"class": "UMIA", "parameters": {"partition": "forget", "reference": reference,
                                             "target": "unlearned"}},
            {"class": "Runtime"},
        ]}},
    }


def node(cls: type) -> dict:
    return {"class": full_name(cls), "name": cls.__name__}


def run_scenario(scenario: str, seed: int, device: str, classes: dict[str, type]) -> tuple[dict, dict, Path | None]:
    """Runs one scenario.

    Returns:
        ``{name: record}`` of the run, ``{name: reason}`` for unlearners left out (their defaults
        do not validate), and the results file.
    """
    skipped, kept = {}, []
    for name, cls in classes.items():
        if name == GOLD:
            continue
        try:  # validate each alone first: one bad default must not stop the others
            prepare(config(scenario, seed, device, [node(cls)]))
        except Exception as e:  # a ConfigError, or a constructor that raises something else
            kind = "config error" if isinstance(e, ConfigError) else type(e).__name__
            skipped[name] = f"{kind}: {e}"
            continue
        kept.append(node(cls))
    nodes = kept + [node(classes[GOLD])]
    plan = prepare(config(scenario, seed, device, nodes))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    results = run(plan, output=OUTPUT / f"{scenario}-seed{seed}")
    document = json.loads(results.read_text())
    records = {r["name"]: r for r in document["records"]}
    records["__timings__"] = document["timings"][str(seed)]
    return records, skipped, results


METRICS = [("forget", "accuracy.forget.unlearned"), ("retain", "accuracy.retain.unlearned"),
           ("test", "accuracy.test.unlearned"), ("U-MIA", "umia.forget.unlearned"),
           ("seconds", "runtime.unlearn")]


def table(scenario: str, records: dict, skipped: dict, import_failures: dict) -> str:
    timings = records.pop("__timings__", {})
    gold = records.get(GOLD, {}).get("metrics", {})
    reference = {key: gold.get(key) for _, key in METRICS}
    reference["runtime.unlearn"] = timings.get("retrain")

    def cell(value, ref, seconds=False):
        fmt = "{:.2f}" if seconds else "{:.3f}"
        text = "—" if value is None else fmt.format(value)
        return f"{text} ({'—' if ref is None else fmt.format(ref)})"

    header = ["scenario", "method"] + [f"{label} (gold)" for label, _ in METRICS]
    rows = []
    for name in sorted(records, key=lambda n: (n == GOLD, n.lower())):
        record = records[name]
        if record["status"] != "finished":
            rows.append([scenario, name, f"FAILED — {record['error']}"])
            continue
        m = record["metrics"]
        rows.append([scenario, name] + [cell(m.get(key), reference[key], label == "seconds")
                                        for label, key in METRICS])
        if record.get("failed_measures"):
            rows.append(["", "", f"failed measures: {record['failed_measures']}"])
    for name, reason in sorted(skipped.items()):
        rows.append([scenario, name, f"SKIPPED — {reason.splitlines()[0]}"])
    for module, reason in sorted(import_failures.items()):
        rows.append([scenario, f"{module} (module)", f"IMPORT FAILED — {reason}"])

    # message rows (failures) count for the first two columns only
    widths = [max(len(str(r[i])) for r in [header] + rows if i < 2 or len(r) == len(header))
              for i in range(len(header))]
    lines = []
    for r in [header] + rows:
        if len(r) == len(header):
            lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        else:  # a message row: scenario, name, then the message across the metric columns
            lines.append("  ".join([str(r[0]).ljust(widths[0]), str(r[1]).ljust(widths[1]), r[2]]))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def machine(device: torch.device) -> str:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    text = (f"machine: {platform.platform()}, python {platform.python_version()}, "
            f"{cpus} CPUs ({usable} usable, torch uses {torch.get_num_threads()} threads), "
            f"torch {torch.__version__}, device {device}")
    if device.type == "cuda":
        text += f" ({torch.cuda.get_device_name(device)})"
    return text


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="globals.seed (default 0)")
    parser.add_argument("--scenario", choices=["A", "B", "both"], default="both",
                        help="A: class 3 forgotten; B: random 10%% forgotten (default both)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these unlearners (class names, any case); the gold "
                             "model always runs")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="globals.device (default auto)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    classes, import_failures = discover()
    if GOLD not in classes:
        print("error: the GoldModel unlearner is missing; nothing to compare against", file=sys.stderr)
        return 1
    if args.only:
        wanted = {n.lower() for n in args.only}
        unknown = wanted - {n.lower() for n in classes}
        if unknown:
            print(f"error: unknown unlearner(s) {sorted(unknown)}; known: "
                  f"{', '.join(sorted(classes))}", file=sys.stderr)
            return 2
        classes = {n: c for n, c in classes.items() if n.lower() in wanted or n == GOLD}
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but this machine has no CUDA GPU", file=sys.stderr)
        return 2

    print(machine(resolve_device(args.device)))
    print(f"seed {args.seed}; unlearners: {', '.join(sorted(classes))}")
    if import_failures:
        print(f"modules that failed to import: {', '.join(sorted(import_failures))}")
    scenarios = ["A", "B"] if args.scenario == "both" else [args.scenario]
    for scenario in scenarios:
        title = {"A": f"A — class {FORGOTTEN_CLASS} forgotten; U-MIA against the test images of "
                      f"class {FORGOTTEN_CLASS}",
                 "B": "B — random 10% of train forgotten; U-MIA against the test set"}[scenario]
        print(f"\nscenario {title}")
        try:
            records, skipped, results = run_scenario(scenario, args.seed, args.device, classes)
        except Exception as e:  # report it and go on with the next scenario
            print(f"scenario {scenario} could not run: {type(e).__name__}: {e}")
            continue
        print(table(scenario, records, skipped, import_failures))
        print(f"results: {results.relative_to(ROOT) if results.is_relative_to(ROOT) else results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
