"""Chapter 7: compare every unlearner with the gold model, from a run's results.json alone.

    python guide/examples/compare.py output/forget_class

For each finished record, the forget, retain and test accuracy, and how far each is from the
gold model's (the GoldModel record of the same seed): the closer to 0, the closer to retraining.
results.json is plain JSON: nothing here needs erasure.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

PARTITIONS = ("forget", "retain", "test")


def load(run: str) -> dict:
    path = Path(run)
    return json.loads((path / "results.json" if path.is_dir() else path).read_text())


def gold_records(results: dict) -> dict:
    """The GoldModel record of each seed (its class is a full dotted path in the results)."""
    return {r["seed"]: r for r in results["records"]
            if r["config"]["class"].endswith(".GoldModel") and r["status"] == "finished"}


def main(run: str) -> None:
    results = load(run)
    gold = gold_records(results)
    if not gold:
        sys.exit("no finished GoldModel record: add {\"class\": \"GoldModel\"} to the unlearners")
    print(f"{'unlearner':<20} {'seed':>4}  " + "  ".join(f"{p:>16}" for p in PARTITIONS))
    for record in results["records"]:
        if record["status"] != "finished" or record["seed"] not in gold:
            print(f"{record['name']:<20} {record['seed']:>4}  {record['status']}: {record['error']}")
            continue
        cells = []
        for partition in PARTITIONS:
            key = f"accuracy.{partition}.unlearned"
            value, target = record["metrics"][key], gold[record["seed"]]["metrics"][key]
            cells.append(f"{value:.3f} ({value - target:+.3f})")
        print(f"{record['name']:<20} {record['seed']:>4}  " + "  ".join(f"{c:>16}" for c in cells))
    print("accuracy of each model (in brackets: minus the gold model's accuracy, same seed)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "output/forget_class")
