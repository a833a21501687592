"""How the built-in unlearners' defaults were chosen: each method over a small grid of its main
knobs, on four settings, scored by how many settings it reaches the gold model in.

Settings (:data:`SCENARIOS`): a whole class of a small table (wine, 178 samples, MLP), a random
10% of digits (MLP), a whole class of digits (MLP), a whole class of digits with the batch-norm
SmallCNN; ``--resnet`` adds a whole class of digits at 32×32 with ResNet-18 (slow on a CPU).
Within tolerance (as in ``bench/tuning.py``): forget accuracy within 0.05 of the gold model's and
retain accuracy within 0.03 of the original's. Every grid point of a method runs as one sweep
record per setting (the original and the gold model are trained once per setting).

Prints, per method, each grid point's settings within tolerance, marks the current default with
``*`` and the best point with ``+``, then the defaults' total; the last line is
``ratio: <best points' total / defaults' total>``.

    python bench/defaults.py [--methods NegGrad,Scrub] [--resnet] [--defaults-only] [--seed 0]

``--defaults-only`` runs each method at its defaults alone (no grid; for the slow ResNet setting);
``--smoke`` is a seconds-long run (one method, two points, the table setting) for the tests.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchutil  # noqa: E402

from erasure import prepare, run  # noqa: E402
from erasure.config import Builder, Slot  # noqa: E402
from erasure.unlearners import Unlearner  # noqa: E402

FORGET_TOLERANCE, RETAIN_TOLERANCE = 0.05, 0.03


def _data(name: str, *, shape: str = "flat", size: int | None = None,
          forget_class: int | None = None, standardize: bool = False) -> dict:
    source = {"name": name, "shape": shape, **({"size": size} if size else {})}
    second = ({"class": "ClassSplit", "parameters": {"parts_names": ["forget", "retain"],
                                                     "classes": forget_class, "ref_data": "train"}}
              if forget_class is not None else
              {"class": "PercentageSplit", "parameters": {"parts_names": ["forget", "retain"],
                                                          "percentage": 0.1, "ref_data": "train"}})
    data = {"class": "DatasetManager", "parameters": {
        "DataSource": {"class": "SklearnDataSource", "parameters": source},
        "partitions": [{"class": "StratifiedSplit",
                        "parameters": {"parts_names": ["train", "test"], "percentage": 0.8}},
                       second]}}
    if standardize:
        data["parameters"]["standardize"] = "train"
    return data


def _predictor(model: dict, lr: float, epochs: int) -> dict:
    return {"class": "Predictor", "parameters": {
        "model": model, "optimizer": {"class": "Adam", "parameters": {"lr": lr}},
        "epochs": epochs, "batch_size": 64}}


MLP = _predictor({"class": "MLP", "parameters": {"hidden": [128]}}, 0.003, 30)
SCENARIOS = {
    "wine class (MLP)": (_data("wine", forget_class=0, standardize=True), MLP),
    "digits random 10% (MLP)": (_data("digits"), MLP),
    "digits class (MLP)": (_data("digits", forget_class=3), MLP),
    "digits class (SmallCNN, batch norm)": (_data("digits", shape="image", forget_class=3),
                                            _predictor({"class": "SmallCNN"}, 0.001, 15)),
}
RESNET = {"digits 32x32 class (ResNet-18)": (
    _data("digits", shape="image", size=32, forget_class=3),
    _predictor({"class": "ResNet18"}, 0.001, 8))}

LR = "optimizer.parameters.lr"
#: per method: the knobs swept (parameter path → values)
GRIDS = {
    "Finetuning": {LR: [0.003, 0.01, 0.03], "epochs": [5, 10]},
    "NegGrad": {LR: [0.001, 0.003, 0.01], "epochs": [2, 4, 8, 16]},
    "AdvancedNegGrad": {LR: [0.001, 0.003, 0.01, 0.03], "epochs": [2, 4, 8]},
    "SuccessiveRandomLabels": {LR: [0.003, 0.01, 0.03], "epochs": [3, 6, 10]},
    "CFk": {LR: [0.01, 0.03, 0.1], "epochs": [5, 10]},
    "EUk": {LR: [0.01, 0.03, 0.1], "epochs": [5, 10]},
    "FisherForgetting": {"alpha": [1e-7, 1e-6, 1e-5, 1e-4]},
    "SSD": {"selection_weighting": [1.5, 2.25], "dampening_constant": [0.1, 0.5, 1.0]},
    "SalUn": {LR: [0.01, 0.03, 0.1], "epochs": [5, 10]},
    "UNSIR": {"impair_optimizer.parameters.lr": [0.002, 0.005, 0.02],
              "repair_optimizer.parameters.lr": [0.002, 0.01]},
    "Scrub": {LR: [0.001, 0.003, 0.01], "epochs": [3, 5, 10]},
    "BadTeaching": {LR: [0.001, 0.003, 0.01], "epochs": [5, 10, 20]},
}


def within(metrics: dict, gold: dict, original: dict) -> bool:
    """Forget accuracy within 0.05 of the gold model's, retain within 0.03 of the original's."""
    forget = metrics.get("accuracy.forget.unlearned")
    retain = metrics.get("accuracy.retain.unlearned")
    return (forget is not None and retain is not None
            and abs(forget - gold["accuracy.forget.unlearned"]) <= FORGET_TOLERANCE
            and abs(retain - original["accuracy.retain.unlearned"]) <= RETAIN_TOLERANCE)


def run_setting(data: dict, predictor: dict, methods: list[str], seed: int, cache: str,
                device: str) -> dict:
    """Every grid point of ``methods`` in one setting: record name → metrics (None if failed)."""
    unlearners = [{"class": "Identity"}, {"class": "GoldModel"}]
    # from the resolved defaults, so that a sweep reaches into a default optimizer
    unlearners += [{"class": m, "parameters": resolved(m)["parameters"], "sweep": GRIDS[m]}
                   for m in methods]
    config = {"globals": {"seed": seed, "threads": 1, "cache_dir": cache, "device": device},
              "data": data, "predictor": predictor, "unlearners": unlearners,
              "evaluator": {"class": "Evaluator", "parameters": {"measures": [
                  {"class": "Accuracy", "parameters": {"partition": ["forget", "retain"]}}]}}}
    with tempfile.TemporaryDirectory() as out:
        document = json.loads(Path(run(prepare(config), output=out)).read_text())
    return {r["name"]: r["metrics"] if r["status"] == "finished" else None
            for r in document["records"]}


def resolved(method: str) -> dict:
    """The method's config with every default written out."""
    return Builder().component({"class": method}, Slot(Unlearner, lazy=False), "u")[1]


def defaults(method: str) -> dict:
    """The method's default value of each path of its grid."""
    values = {}
    for path in GRIDS[method]:
        node = resolved(method)["parameters"]
        for key in path.split("."):
            node = node[key]
        values[path] = node
    return values


def default_point(method: str) -> str:
    """The sweep suffix of the method's current defaults (its grid's labels)."""
    values = list(defaults(method).values())
    labels = [p.rsplit(".", 1)[-1] for p in GRIDS[method]]
    if len(set(labels)) < len(labels):
        labels = list(GRIDS[method])
    return "[" + ",".join(f"{label}={json.dumps(v)}" for label, v in zip(labels, values)) + "]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default=",".join(GRIDS))
    parser.add_argument("--resnet", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--defaults-only", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(f"machine: {benchutil.machine(args.device)}")
    methods = args.methods.split(",")
    scenarios = {**SCENARIOS, **(RESNET if args.resnet else {})}
    if args.smoke:
        methods = ["SuccessiveRandomLabels"]
        scenarios = {"wine class (MLP)": SCENARIOS["wine class (MLP)"]}
        GRIDS["SuccessiveRandomLabels"] = {LR: [0.01], "epochs": [1, 6]}
    if args.defaults_only:  # one point per method: its defaults
        for method in methods:
            GRIDS[method] = {path: [value] for path, value in defaults(method).items()}
    passed: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as cache:
        for label, (data, predictor) in scenarios.items():
            records = run_setting(data, predictor, methods, args.seed, cache, args.device)
            gold, original = records["GoldModel"], records["Identity"]
            print(f"{label}: gold forget {gold['accuracy.forget.unlearned']:.3f}, original retain "
                  f"{original['accuracy.retain.unlearned']:.3f}", flush=True)
            for name, metrics in records.items():
                passed.setdefault(name, [])
                if metrics is not None and within(metrics, gold, original):
                    passed[name].append(label)
    n = len(scenarios)
    best_total = default_total = 0
    for method in methods:
        points = {name: ok for name, ok in passed.items() if name.startswith(method + "[")}
        default = method + default_point(method)
        best = max(points, key=lambda p: (len(points[p]), p == default))
        best_total += len(points[best])
        default_total += len(points.get(default, []))
        print(f"\n{method}")
        for name, ok in points.items():
            mark = ("*" if name == default else " ") + ("+" if name == best else " ")
            print(f"  {mark} {name[len(method):]:45s} {len(ok)}/{n}  {'; '.join(ok)}")
        if default not in points:
            print(f"  (default {default[len(method):]} is not on the grid)")
    print(f"\ndefaults within tolerance: {default_total}/{n * len(methods)}; "
          f"best grid points: {best_total}/{n * len(methods)}")
    print(f"ratio: {best_total / max(default_total, 1):.2f}")


if __name__ == "__main__":
    main()
