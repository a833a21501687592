"""Hand-made results documents whose summary statistics are known by hand (tests of tables and
plots share them)."""
from __future__ import annotations

import copy

GOLD = "erasure.unlearners.gold_model.GoldModel"
FINETUNING = "erasure.unlearners.finetuning.Finetuning"
IDENTITY = "erasure.unlearners.identity.Identity"
T2 = 4.302653  # t(0.975, 2)
T1 = 12.706205  # t(0.975, 1)

# per seed 0, 1, 2
ORIGINAL_FORGET = (1.00, 0.98, 0.96)  # mean 0.98, std 0.02
ORIGINAL_RETAIN = (0.99, 0.99, 0.99)  # mean 0.99, std 0
GOLD_FORGET = (0.90, 0.88, 0.92)  # mean 0.90, std 0.02
GOLD_RETAIN = (0.97, 0.98, 0.99)  # mean 0.98, std 0.01
RETRAIN = (2.0, 2.2, 2.4)  # mean 2.2, std 0.2
FT_FORGET = (0.80, 0.90, 0.85)  # mean 0.85, std 0.05
FT_RETAIN = (0.95, 0.97, 0.96)  # mean 0.96, std 0.01
FT_RUNTIME = (0.1, 0.3, 0.2)  # mean 0.2, std 0.1
BROKEN_FORGET = {0: 0.5, 2: 0.7}  # seed 1 failed: mean 0.6, std 0.1·√2
UMIA_IDENTITY = (0.6, 0.5, None)  # a NaN (null) on seed 2: mean 0.55, n 2


def _metrics(seed: int, forget: float, retain: float, runtime: float, umia=0.5) -> dict:
    return {
        "accuracy.forget.original": ORIGINAL_FORGET[seed],
        "accuracy.retain.original": ORIGINAL_RETAIN[seed],
        "accuracy.forget.unlearned": forget,
        "accuracy.retain.unlearned": retain,
        "umia.forget.original": 0.5,
        "umia.forget.unlearned": umia,
        "runtime.retrain": RETRAIN[seed],
        "runtime.train_original": 5.0,
        "runtime.unlearn": runtime,
        "rte.unlearn": runtime / RETRAIN[seed],
    }


def _record(name: str, cls: str, seed: int, metrics: dict | None, error: str | None = None) -> dict:
    return {"name": name, "seed": seed, "config": {"class": cls, "parameters": {}},
            "status": "finished" if metrics is not None else "failed",
            "error": error, "metrics": metrics or {}, "failed_measures": {},
            "not_applicable": {}}


def three_seeds() -> dict:
    """Three seeds; Identity, GoldModel, Finetuning, Broken (fails on seed 1), AlwaysFails."""
    records = []
    for s in (0, 1, 2):
        records += [
            _record("Identity", IDENTITY, s, _metrics(s, ORIGINAL_FORGET[s], ORIGINAL_RETAIN[s],
                                                      0.001, umia=UMIA_IDENTITY[s])),
            _record("GoldModel", GOLD, s, _metrics(s, GOLD_FORGET[s], GOLD_RETAIN[s], 0.002)),
            _record("Finetuning", FINETUNING, s,
                    _metrics(s, FT_FORGET[s], FT_RETAIN[s], FT_RUNTIME[s])),
            _record("Broken", FINETUNING, s,
                    _metrics(s, BROKEN_FORGET[s], 0.9, 1.0) if s in BROKEN_FORGET else None,
                    None if s in BROKEN_FORGET else "RuntimeError: diverged"),
            _record("AlwaysFails", FINETUNING, s, None, "ValueError: no | pipes"),
        ]
    return {"erasure_version": "0.1.0", "created": "2025-01-01T00:00:00+00:00",
            "status": "finished", "config_file": None, "config": {}, "seeds": [0, 1, 2],
            "device": "cpu", "versions": {}, "partitions": {}, "timings": {},
            "records": records}


def single_seed(seed: int = 7) -> dict:
    """The format a single-seed run writes today: a top-level ``seed``, records without one."""
    doc = three_seeds()
    doc.pop("seeds")
    doc["seed"] = seed
    doc["records"] = [copy.deepcopy(r) for r in doc["records"] if r["seed"] == 0]
    for r in doc["records"]:
        del r["seed"]
    return doc


def without(doc: dict, *prefixes: str, classes: tuple[str, ...] = ()) -> dict:
    """``doc`` without the metrics starting with ``prefixes`` and the records of ``classes``."""
    doc = copy.deepcopy(doc)
    doc["records"] = [r for r in doc["records"] if r["config"]["class"] not in classes]
    for r in doc["records"]:
        r["metrics"] = {k: v for k, v in r["metrics"].items() if not k.startswith(prefixes)}
    return doc


NEGGRAD = "erasure.unlearners.neggrad.NegGrad"
SSD = "erasure.unlearners.ssd.SSD"
TUNED_SECONDS = (2.0, 4.0)  # NegGrad, seeds 0 and 1: mean 3.0, std √2
# NegGrad's trials on seed 0 (number, value or None, state): best so far 0.5, 0.2, 0.2, 0.1
NEGGRAD_HISTORY = [[0, 0.5, "complete"], [1, 0.2, "complete"], [2, None, "pruned"],
                   [3, 0.3, "complete"], [4, None, "fail"], [5, 0.1, "complete"]]


def _tuning(protocol: str, seconds: float, history: list, params: dict | None,
            value: float | None) -> dict:
    block = {"protocol": protocol, "objective": "avg_gap", "direction": "minimize",
             "budget": {"trials": len(history), "timeout": None}, "validation": 0.1,
             "trials": len(history),
             "complete": sum(h[2] == "complete" for h in history),
             "pruned": sum(h[2] == "pruned" for h in history),
             "failed": sum(h[2] == "fail" for h in history),
             "seconds": seconds, "history": history}
    if params is None:
        block["error"] = "tuning: no trial finished (first failure: diverged)"
    else:
        block.update(params=params, value=value,
                     best_trial=next(h[0] for h in history if h[1] == value))
    return block


def tuned() -> dict:
    """Two seeds; GoldModel, Finetuning (not tuned), NegGrad tuned on both seeds (held_out),
    SSD tuned (oracle): finished on seed 0, on seed 1 no trial finished (a failed record)."""
    records = []
    for s in (0, 1):
        neggrad = _record("NegGrad", NEGGRAD, s, _metrics(s, 0.7, 0.9, 0.05))
        history = NEGGRAD_HISTORY if s == 0 else [[0, 0.3, "complete"], [1, 0.25, "complete"]]
        neggrad["tuning"] = _tuning("held_out", TUNED_SECONDS[s], history,
                                    {"optimizer.parameters.lr": 0.000154691795, "epochs": 5},
                                    min(h[1] for h in history if h[1] is not None))
        if s == 0:
            ssd = _record("SSD", SSD, s, _metrics(s, 0.9, 0.95, 0.01))
            ssd["tuning"] = _tuning(
                "oracle", 0.75, [[0, 0.02, "complete"], [1, 0.0078, "complete"]],
                {"selection_weighting": 1.536442601, "dampening_constant": 0.5}, 0.0078)
        else:
            ssd = _record("SSD", SSD, s, None,
                          "tuning: no trial finished (first failure: diverged)")
            ssd["tuning"] = _tuning("oracle", 1.5, [[0, None, "fail"], [1, None, "fail"]], None,
                                    None)
        records += [
            _record("GoldModel", GOLD, s, _metrics(s, GOLD_FORGET[s], GOLD_RETAIN[s], 0.002)),
            _record("Finetuning", FINETUNING, s, _metrics(s, FT_FORGET[s], FT_RETAIN[s],
                                                          FT_RUNTIME[s])),
            neggrad, ssd,
        ]
    doc = three_seeds()
    doc.update(seeds=[0, 1], records=records)
    return doc


METHOD_NAMES = ("Finetuning", "NegGrad", "AdvancedNegGrad", "SuccessiveRandomLabels", "CFk",
                "EUk", "FisherForgetting", "SSD", "SalUn", "Scrub", "BadTeaching",
                "NegGrad+Finetuning")


def many_methods(seeds: tuple[int, ...] = (0, 1, 2), outlier: str | None = "UNSIR") -> dict:
    """Twelve methods (:data:`METHOD_NAMES`) within a few hundredths of (1, 1) in forget and
    retain accuracy, the gold model and the original, on ``seeds``; ``outlier`` (when not None)
    a thirteenth method far from the rest (forget 0.55, retain 0.51, test 0.5). Each method's
    numbers are a fixed function of its position and the seed, so its gaps are known."""
    records = []
    for s in seeds:
        gold = {"accuracy.forget.unlearned": 0.96 + 0.002 * s,
                "accuracy.retain.unlearned": 0.995, "accuracy.test.unlearned": 0.95 - 0.001 * s,
                "mia_efficacy.forget.unlearned": 0.30 + 0.01 * s,
                "runtime.retrain": 3.0 + 0.1 * s, "runtime.unlearn": 0.001}
        original = {"accuracy.forget.original": 1.0, "accuracy.retain.original": 0.999,
                    "accuracy.test.original": 0.955, "mia_efficacy.forget.original": 0.1}
        records.append(_record("GoldModel", GOLD, s, {**gold, **original}))
        for i, name in enumerate(METHOD_NAMES):
            metrics = {**original,
                       "accuracy.forget.unlearned": 0.97 + 0.0025 * i + 0.003 * s,
                       "accuracy.retain.unlearned": 0.985 + 0.001 * i - 0.002 * s,
                       "accuracy.test.unlearned": 0.94 + 0.001 * i + 0.001 * s,
                       "mia_efficacy.forget.unlearned": 0.2 + 0.01 * i + 0.005 * s,
                       "runtime.unlearn": 0.01 * (i + 1) * (1 + 0.1 * s)}
            records.append(_record(name, FINETUNING, s, metrics))
        if outlier:
            records.append(_record(outlier, FINETUNING, s, {
                **original, "accuracy.forget.unlearned": 0.55, "accuracy.retain.unlearned": 0.51,
                "accuracy.test.unlearned": 0.5, "mia_efficacy.forget.unlearned": 0.9,
                "runtime.unlearn": 0.5}))
    return {"erasure_version": "0.1.0", "created": "2025-01-01T00:00:00+00:00",
            "status": "finished", "config_file": None, "config": {}, "seeds": list(seeds),
            "device": "cpu", "versions": {}, "partitions": {}, "timings": {},
            "records": records}
