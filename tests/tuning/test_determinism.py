"""The same tuned config and seed, run twice: the same study, the same knobs, the same record."""
from __future__ import annotations

from tests.tuning.common import config, neggrad, records, run_config

UNLEARNERS = [
    neggrad(trials=5),
    {"class": "Finetuning", "tune": {"trials": 4, "space": {
        "optimizer.parameters.lr": {"low": 1e-3, "high": 0.1, "log": True},
        "epochs": {"low": 1, "high": 3}}}},
    {"class": "SSD", "tune": {"trials": 4, "protocol": "oracle"}},
]


def test_tuning_twice_gives_identical_studies_and_records(tmp_path):
    # no model cache: each run trains its originals and gold models (real and stand-in) itself
    c = config(UNLEARNERS)
    first = records(run_config(c, tmp_path / "a"))
    second = records(run_config(c, tmp_path / "b"))
    assert list(first) == list(second) == ["NegGrad", "Finetuning", "SSD"]
    for name in first:
        a, b = first[name], second[name]
        assert a["status"] == b["status"] == "finished", (name, a["error"], b["error"])
        ta, tb = a["tuning"], b["tuning"]
        assert ta["trials"] == tb["trials"] == c["unlearners"][list(first).index(name)]["tune"]["trials"]
        # bit-identical: same process, same seed, same data — nothing may differ
        assert ta["params"] == tb["params"]
        assert ta["value"] == tb["value"]
        assert ta["history"] == tb["history"]
        assert ta["best_trial"] == tb["best_trial"]
        assert ta["stand_in"] == tb["stand_in"]
        assert ta["study_name"] == tb["study_name"]
        assert a["metrics"] == b["metrics"]
        assert a["config"] == b["config"]
        # the knobs differ between trials: the study searched, it did not repeat one point
        values = [v for _, v, state in ta["history"] if state == "complete"]
        assert len(set(values)) > 1, (name, ta["history"])
    # the record runs with the chosen knobs
    chosen = first["NegGrad"]["tuning"]["params"]
    assert first["NegGrad"]["config"]["parameters"]["epochs"] == chosen["epochs"]
    assert first["NegGrad"]["config"]["parameters"]["optimizer"]["parameters"]["lr"] == \
        chosen["optimizer.parameters.lr"]


def test_another_seed_tunes_differently(tmp_path, cache_dir):
    c0 = config([neggrad(trials=4)], cache_dir=cache_dir, seed=0)
    c1 = config([neggrad(trials=4)], cache_dir=cache_dir, seed=1)
    t0 = run_config(c0, tmp_path / "s0")["records"][0]["tuning"]
    t1 = run_config(c1, tmp_path / "s1")["records"][0]["tuning"]
    assert t0["study_name"] != t1["study_name"]
    assert t0["history"] != t1["history"]
