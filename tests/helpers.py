"""Shared test helpers: small digits configs and sessions trained once per test run.

Importable (``from tests.helpers import ...``), so fixture classes defined in test modules are
reachable by dotted path too.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from erasure.experiment import Session
from erasure.plan import prepare

#: Epochs of the original in tests: enough for the MLP to fit digits' training set (~1.0).
EPOCHS = 30


def digits_config(forget: str = "random", unlearners: list[dict] | None = None,
                  measures: list[dict] | None = None, seed: int = 0, epochs: int = EPOCHS,
                  model: dict | None = None, image: bool = False) -> dict[str, Any]:
    """A complete config on digits.

    Args:
        forget: ``random`` (10% of train) or ``class`` (every training image of digit 3).
        unlearners: the unlearner list (default: Identity).
        measures: the measure list (default: Accuracy on forget/retain/test).
    """
    if forget == "random":
        second = {"class": "PercentageSplit", "parameters": {
            "parts_names": ["forget", "retain"], "percentage": 0.1, "ref_data": "train"}}
    elif forget == "class":
        second = {"class": "ClassSplit", "parameters": {
            "parts_names": ["forget", "retain"], "classes": [3], "ref_data": "train"}}
    else:
        raise ValueError(forget)
    return {
        "globals": {"seed": seed, "device": "cpu"},
        "data": {"class": "DatasetManager", "parameters": {
            "DataSource": {"class": "SklearnDataSource",
                           "parameters": {"name": "digits", "shape": "image" if image else "flat"}},
            "partitions": [
                {"class": "StratifiedSplit",
                 "parameters": {"parts_names": ["train", "test"], "percentage": 0.8}},
                second,
            ]}},
        "predictor": {"class": "Predictor", "parameters": {
            "model": model or {"class": "MLP", "parameters": {"hidden": [128]}},
            "optimizer": {"class": "Adam", "parameters": {"lr": 0.003}},
            "epochs": epochs, "batch_size": 64}},
        "unlearners": unlearners if unlearners is not None else [{"class": "Identity"}],
        "evaluator": {"class": "Evaluator", "parameters": {"measures": measures if measures is not None else [
            {"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}}]}},
    }


@functools.lru_cache(maxsize=None)
def _trained(key: str) -> Session:
    plan = prepare(json.loads(key))
    session = Session(plan, plan.settings.seed)
    session.load_data()
    session.train_models()
    return session


def trained_session(config: dict) -> Session:
    """A session with data loaded and models trained, cached per config within the test run.

    Unlearners and measures can differ between calls that share data, predictor and seed: the
    cache key is those sections plus the gold partitions needed, and the returned session gets
    the caller's plan and its own store of shared objects (``session.shared_builds`` counts from
    empty). Never modify the returned session's original or data.
    """
    plan = prepare(config)
    key_config = {k: config[k] for k in ("globals", "data", "predictor")}
    key_config["unlearners"] = [{"class": "GoldModel"}] if plan.gold_partitions else [{"class": "Identity"}]
    key_config["evaluator"] = {"class": "Evaluator"}
    return _trained(json.dumps(key_config, sort_keys=True)).fork(plan)


def accuracy(model, data, partition: str) -> float:
    import torch

    x, y = data.tensors(partition)
    model.eval()
    with torch.inference_mode():
        return (model(x).argmax(1) == y).float().mean().item()


def run_family_config(config: dict, config_file, output, *, epochs: int = 5,
                      names=("GoldModel", "Finetuning")) -> dict:
    """Runs a data family's config (already pointed at offline data) end to end on the CPU with
    few epochs, checks every record finished with accuracies and U-MIA, and returns results."""
    from erasure import run

    config["predictor"]["parameters"]["epochs"] = epochs
    config["globals"]["device"] = "cpu"
    doc = json.loads(run(prepare(config, config_file=config_file), output=output)
                     .read_text(encoding="utf-8"))
    assert doc["status"] == "finished"
    assert [r["name"] for r in doc["records"]] == list(names)
    for record in doc["records"]:
        assert record["status"] == "finished", (record["name"], record["error"])
        metrics = record["metrics"]
        for partition in ("forget", "retain", "test"):
            for target in ("original", "unlearned"):
                assert 0.0 <= metrics[f"accuracy.{partition}.{target}"] <= 1.0
        assert 0.0 <= metrics["umia.forget.unlearned"] <= 1.0
    return doc
