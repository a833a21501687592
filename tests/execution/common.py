"""What the executor tests compare: records without the keys that measure this machine's time and
memory (the only parts allowed to differ between executors)."""
from __future__ import annotations

import json
from pathlib import Path

from erasure.config import load_config
from erasure.config.overrides import Override, apply_overrides
from erasure.plan import prepare
from erasure.runner import run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "example.jsonc"
MACHINE = ("runtime.", "memory.", "rte.")


def comparable(records: list[dict]) -> list[dict]:
    out = []
    for record in records:
        record = dict(record, metrics={k: v for k, v in record["metrics"].items()
                                       if not k.startswith(MACHINE)})
        record.pop("saved_model", None)  # where this run kept the model (globals.save_models)
        if "tuning" in record:
            record["tuning"] = {k: v for k, v in record["tuning"].items()
                                if k not in ("seconds", "study")}
        out.append(record)
    return out


def example_plan(executor: str, **globals_):
    """The example config with two seeds, on ``executor``; Finetuning records a curve."""
    config = load_config(EXAMPLE)
    settings = {"seeds": [0, 1], "executor": executor, **globals_}
    config = apply_overrides(config, [Override(f"globals.{k}", v, "test") for k, v in settings.items()]
                             + [Override("unlearners[2].parameters.evaluate_every", 2, "test")])
    return prepare(config, config_file=EXAMPLE)


def run_records(plan, output: Path, **kwargs) -> dict:
    return json.loads(run(plan, output=output, **kwargs).read_text())
