"""The summary's first table: the unlearners ranked by avg gap to the gold model, on
hand-written documents whose statistics are computed by hand."""
from __future__ import annotations

import copy
import math

import pytest

from erasure.results import markdown_table, rank_methods, summary_table
from erasure.results.ranking import sweep_base
from tests import results_documents as rd

GAP = "avg_gap.forget.unlearned"
# per seed 0, 1, 2 (Broken fails on seed 1, AlwaysFails everywhere; GoldModel is the reference)
GAPS = {"Identity": (0.30, 0.32, 0.28),  # mean 0.30, std 0.02
        "GoldModel": (0.0, 0.0, 0.0),
        "Finetuning": (0.10, 0.20, 0.15),  # mean 0.15, std 0.05
        "Broken": (0.05, None, 0.07)}  # mean 0.06, std 0.01·√2, n 2


def with_gaps(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for record in doc["records"]:
        if record["status"] == "finished" and record["name"] in GAPS:
            record["metrics"][GAP] = GAPS[record["name"]][record.get("seed", 0)]
    return doc


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line[2:-2].split(" | ")]


def test_the_ranking_orders_by_mean_avg_gap_with_a_95_ci_over_the_seeds():
    ranked = rank_methods(with_gaps(rd.three_seeds()))
    assert ranked.key == GAP and ranked.seeds == 3
    # GoldModel (0 by definition) is the reference, not a contestant; no gap: last, unranked
    assert [(r.rank, r.name) for r in ranked.rows] == [(1, "Broken"), (2, "Finetuning"),
                                                        (3, "Identity"), (None, "AlwaysFails")]
    by_name = {r.name: r for r in ranked.rows}
    # mean ± t(0.975, n−1)·s/√n, by hand
    assert by_name["Finetuning"].gap.mean == pytest.approx(0.15, abs=1e-12)
    assert by_name["Finetuning"].gap.ci95 == pytest.approx(rd.T2 * 0.05 / math.sqrt(3), abs=1e-9)
    assert by_name["Identity"].gap.ci95 == pytest.approx(rd.T2 * 0.02 / math.sqrt(3), abs=1e-9)
    assert by_name["Broken"].gap.n == 2
    assert by_name["Broken"].gap.ci95 == pytest.approx(rd.T1 * 0.01, abs=1e-9)  # s = 0.01·√2
    assert by_name["Finetuning"].runtime.mean == pytest.approx(0.2, abs=1e-12)

    lines = markdown_table(with_gaps(rd.three_seeds())).splitlines()
    assert _cells(lines[0]) == ["rank", "method", "seeds", GAP, "95% CI", "runtime.unlearn"]
    assert _cells(lines[3]) == ["2", "Finetuning", "3/3", "0.1500", "± 0.1242", "0.2000"]
    assert _cells(lines[2])[:5] == ["1", "Broken", "2/3", "0.0600", "± 0.1271"]
    assert _cells(lines[5]) == ["—", "AlwaysFails", "0/3", "—", "—", "—"]
    assert lines[6] == "" and "95% confidence interval" in lines[7]
    assert lines[9].startswith("| unlearner | seeds |")  # then the table of every metric


def test_one_seed_has_no_confidence_interval():
    doc = with_gaps(rd.single_seed(seed=7))
    ranked = rank_methods(doc)
    assert [r.name for r in ranked.rows] == ["Broken", "Finetuning", "Identity", "AlwaysFails"]
    lines = summary_table(doc, references=True).splitlines()
    assert lines[0].split() == ["rank", "method", GAP, "95%", "CI", "runtime.unlearn"]
    assert lines[3].split() == ["2", "Finetuning", "0.1000", "—", "0.1000"]
    assert "one seed: no confidence interval" in lines[6]
    assert lines[7] == "" and lines[8].split()[:2] == ["unlearner", "status"]


def test_the_best_setting_of_each_sweep_is_marked():
    doc = with_gaps(rd.single_seed())
    points = {"Finetuning[epochs=1,lr=0.01]": ({"epochs": 1, "optimizer.parameters.lr": 0.01}, 0.2),
              "Finetuning[epochs=5,lr=0.01]": ({"epochs": 5, "optimizer.parameters.lr": 0.01}, 0.04),
              "Finetuning[epochs=5,lr=0.1]": ({"epochs": 5, "optimizer.parameters.lr": 0.1}, 0.08),
              # a sweep of one point and a sweep point without an avg gap: nothing to compare
              "NegGrad[epochs=2]": ({"epochs": 2}, 0.5),
              "Scrub[epochs=1]": ({"epochs": 1}, 0.01), "Scrub[epochs=2]": ({"epochs": 2}, None)}
    template = next(r for r in doc["records"] if r["name"] == "Finetuning")
    for name, (point, gap) in points.items():
        record = copy.deepcopy(template)
        record.update(name=name, sweep=point)
        record["metrics"][GAP] = gap
        if gap is None:
            del record["metrics"][GAP]
        doc["records"].append(record)
    ranked = rank_methods(doc)
    marked = [r.name for r in ranked.rows if r.best_of_sweep]
    assert marked == ["Finetuning[epochs=5,lr=0.01]"]
    assert [r.name for r in ranked.rows][-2:] == ["AlwaysFails", "Scrub[epochs=2]"]
    text = summary_table(doc)
    assert "  Finetuning[epochs=5,lr=0.01] *  " in text and "* the best setting of its sweep" in text


@pytest.mark.parametrize("name, sweep, base", [
    ("Finetuning[epochs=5,lr=0.1]", {"epochs": 5, "optimizer.parameters.lr": 0.1}, "Finetuning"),
    ("Mine[lr=1][a.lr=2,b.lr=3]#2", {"a.lr": 2, "b.lr": 3}, "Mine[lr=1]"),
    ("Finetuning[lr=0.1]", {"optimizer.parameters.lr": 0.1}, "Finetuning"),
])
def test_a_sweep_point_s_base_name(name, sweep, base):
    assert sweep_base(name, sweep) == base


def test_no_avg_gap_no_ranking():
    assert rank_methods(rd.three_seeds()) is None
    assert summary_table(rd.three_seeds()).splitlines()[0].split()[0] == "unlearner"


def test_the_base_name_undoes_the_suffix_a_sweep_adds():
    from erasure.config.sweeps import expand

    nodes, _, suffixes, points = expand([{"class": "Finetuning", "sweep": {
        "epochs": [1, 2], "a.lr": [0.1], "b.lr": ["x[lr=1]"]}}])
    assert suffixes[0] == '[epochs=1,a.lr=0.1,b.lr=x[lr=1]]'
    assert [sweep_base(f"Finetuning{s}", p) for s, p in zip(suffixes, points)] == ["Finetuning"] * 2
