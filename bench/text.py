#!/usr/bin/env python
"""The offline text example (``configs/text.jsonc``: 400 sentences, the packaged MiniLM-L6
frozen with a trained head, one topic forgotten, every built-in unlearner): wall time of the
whole experiment with a cold model cache, and what the shared memo of sentence embeddings saves.

Two runs in this process, the baseline first, each with its own empty model cache (imports and
the encoder's files warmed up before both):

1. **per model** — each network memoises the embeddings its own frozen encoder computed (a deep
   copy starts with its original's), so the gold model, a teacher built anew and every
   unlearner's copy of an original read from the cache encode the sentences again;
2. **shared** (erasure's behaviour) — networks whose encoders hold equal weights share one table
   (``erasure.models.text.PooledCache``): each sentence goes through the encoder once.

Both give the same metrics (checked: the script fails otherwise). The last line is
``ratio: <shared seconds / per-model seconds>``.

    python bench/text.py [--smoke]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchutil import machine  # noqa: E402

from erasure import load_config, prepare, run  # noqa: E402
from erasure.models import text  # noqa: E402

CONFIG = ROOT / "configs" / "text.jsonc"
#: what the per-model baseline does instead of the shared table
_SHARED_REFRESH = text.PooledCache.refresh


def per_model_refresh(self: text.PooledCache, encoder: torch.nn.Module) -> None:
    """The memo before sharing: a table of this network's own (emptied when its encoder's
    parameters change in place)."""
    state = self.state(encoder)
    if state != self.key:
        self.rows, self.key = {}, state


def experiment(smoke: bool, cache: Path, output: Path) -> tuple[float, dict]:
    config = load_config(CONFIG)
    config["globals"].update(cache_dir=str(cache), device="cpu")
    if smoke:
        config["unlearners"] = [{"class": "Finetuning", "parameters": {"epochs": 1}},
                                {"class": "BadTeaching", "parameters": {"epochs": 1}}]
        config["predictor"]["parameters"]["epochs"] = 1
    start = time.perf_counter()
    results = run(prepare(config, config_file=CONFIG), output=output)
    seconds = time.perf_counter() - start
    doc = json.loads(results.read_text(encoding="utf-8"))
    metrics = {r["name"]: {k: v for k, v in r["metrics"].items() if not k.startswith("runtime")}
               for r in doc["records"]}
    return seconds, metrics


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[n].keys() == b[n].keys() and all(
            a[n][k] == b[n][k] or (isinstance(a[n][k], float) and math.isclose(
                a[n][k], b[n][k], rel_tol=1e-5, abs_tol=1e-6)) for k in a[n]) for n in a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help="two unlearners, one epoch (checks that the script runs)")
    parser.add_argument("--device", default="cpu", help="only cpu is measured here")
    args = parser.parse_args()
    print(f"machine: {machine('cpu')}")
    # imports and the encoder's files read once before either run, so neither pays them
    text.from_pretrained("bench", text.load_transformers("bench").AutoModel, "all-MiniLM-L6-v2")
    seconds, metrics = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for mode in ("per model", "shared"):
            text.PooledCache.shared.clear()
            text.PooledCache.refresh = per_model_refresh if mode == "per model" else _SHARED_REFRESH
            try:
                seconds[mode], metrics[mode] = experiment(
                    args.smoke, Path(folder) / mode / "cache", Path(folder) / mode / "out")
            finally:
                text.PooledCache.refresh = _SHARED_REFRESH
            print(f"{mode}: {seconds[mode]:.1f} s (prepare + run, cold model cache)")
    if not same(metrics["per model"], metrics["shared"]):
        sys.exit("the two runs' metrics differ")
    print(f"same metrics: yes ({sum(len(m) for m in metrics['shared'].values())} compared)")
    print(f"ratio: {seconds['shared'] / seconds['per model']:.3f}")


if __name__ == "__main__":
    main()
