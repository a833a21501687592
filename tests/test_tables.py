"""Summary tables across seeds: mean, sample std, Student-t 95% CI, the original and gold rows,
failed records left out; CSV and Markdown files; the printed summary for several seeds."""
from __future__ import annotations

import csv
import itertools
import json
import math

import pytest

from erasure.results import (
    KEY_METRICS,
    ResultsError,
    aggregate,
    csv_text,
    describe,
    load_results,
    markdown_table,
    rebuild,
    summary_table,
    t_critical,
    write_tables,
)
from erasure.results.tables import csv_cell, csv_header, one_line, select_metrics
from tests import results_documents as rd

FORGET, RETAIN, RUNTIME = "accuracy.forget.unlearned", "accuracy.retain.unlearned", "runtime.unlearn"


# --- Student's t --------------------------------------------------------------------------


@pytest.mark.parametrize("df, expected", [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776),
                                          (5, 2.571), (10, 2.228), (20, 2.086), (30, 2.042),
                                          (40, 2.021), (60, 2.000), (120, 1.980),
                                          (10 ** 6, 1.960)])
def test_t_critical_matches_the_table_of_any_textbook(df, expected):
    assert t_critical(df) == pytest.approx(expected, abs=5e-4)


def test_t_critical_is_smooth_across_the_end_of_the_table():
    values = [t_critical(df) for df in range(1, 400)]
    assert all(a > b for a, b in itertools.pairwise(values))  # strictly decreasing
    assert t_critical(31) == pytest.approx(2.039513, abs=1e-6)
    assert t_critical(10 ** 9) == pytest.approx(1.959964, abs=1e-6)


def test_t_critical_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (*range(1, 60), 75, 100, 250, 1000):
        assert t_critical(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-6)


@pytest.mark.parametrize("df", [0, -1, 2.5, True, None])
def test_t_critical_refuses_a_non_positive_or_non_integer_df(df):
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_critical(df)


def test_describe_by_hand():
    stat = describe([2.0, 4.0, 9.0])
    assert stat.n == 3 and stat.mean == 5.0
    assert stat.std == pytest.approx(math.sqrt((9 + 1 + 16) / 2))  # ddof = 1
    assert stat.ci95 == pytest.approx(rd.T2 * stat.std / math.sqrt(3))
    one = describe([0.25])
    assert (one.mean, one.std, one.ci95, one.n) == (0.25, None, None, 1)
    none = describe([])
    assert (none.mean, none.std, none.ci95, none.n) == (None, None, None, 0)


# --- aggregation --------------------------------------------------------------------------


@pytest.fixture
def doc():
    return rd.three_seeds()


def test_rows_are_the_references_then_every_unlearner_in_record_order(doc):
    rows = aggregate(doc)
    assert list(rows) == ["original", "gold", "Identity", "GoldModel", "Finetuning", "Broken",
                          "AlwaysFails"]
    assert [r.kind for r in rows.values()] == ["original", "gold"] + ["unlearner"] * 5


def test_mean_std_and_ci_over_three_seeds_by_hand(doc):
    ft = aggregate(doc)["Finetuning"]
    forget = ft[FORGET]
    assert forget.n == 3
    assert forget.mean == pytest.approx(0.85)
    assert forget.std == pytest.approx(0.05)
    assert forget.ci95 == pytest.approx(rd.T2 * 0.05 / math.sqrt(3))  # 0.12421
    assert forget.ci95 == pytest.approx(0.124207, abs=1e-6)
    assert ft[RETAIN].mean == pytest.approx(0.96) and ft[RETAIN].std == pytest.approx(0.01)
    assert ft[RUNTIME].mean == pytest.approx(0.2) and ft[RUNTIME].std == pytest.approx(0.1)
    assert ft.values[FORGET] == {0: 0.80, 1: 0.90, 2: 0.85}
    assert ft.finished == [0, 1, 2] and ft.failed == []


def test_failed_records_contribute_nothing(doc):
    rows = aggregate(doc)
    broken = rows["Broken"]
    assert broken.finished == [0, 2] and broken.failed == [1]
    assert broken.errors == {1: "RuntimeError: diverged"}
    stat = broken[FORGET]
    assert stat.n == 2 and stat.mean == pytest.approx(0.6)
    assert stat.std == pytest.approx(0.1 * math.sqrt(2))
    assert stat.ci95 == pytest.approx(rd.T1 * 0.1 * math.sqrt(2) / math.sqrt(2))  # = 1.2706205
    never = rows["AlwaysFails"]
    assert never.finished == [] and never.failed == [0, 1, 2] and never.values == {}
    assert never[FORGET].n == 0 and never[FORGET].mean is None


def test_a_null_value_is_missing_not_zero(doc):
    umia = aggregate(doc)["Identity"]["umia.forget.unlearned"]
    assert umia.n == 2 and umia.mean == pytest.approx(0.55)


def test_original_row_maps_original_metrics_to_the_unlearned_columns(doc):
    original = aggregate(doc)["original"]
    assert original.finished == [0, 1, 2]
    assert original.values[FORGET] == dict(enumerate(rd.ORIGINAL_FORGET))
    assert original[FORGET].mean == pytest.approx(0.98)
    assert original[FORGET].std == pytest.approx(0.02)
    assert original[RETAIN].std == pytest.approx(0.0, abs=1e-12)
    assert original["umia.forget.unlearned"].mean == 0.5
    assert RUNTIME not in original.values  # the original is not unlearned


def test_gold_row_is_the_gold_model_at_its_retraining_cost(doc):
    rows = aggregate(doc)
    gold = rows["gold"]
    assert gold.finished == [0, 1, 2]
    assert gold[FORGET].mean == pytest.approx(0.90) and gold[FORGET].std == pytest.approx(0.02)
    assert gold[RUNTIME].mean == pytest.approx(2.2) and gold[RUNTIME].std == pytest.approx(0.2)
    assert gold["rte.unlearn"].mean == 1.0
    # the GoldModel unlearner row keeps its own (copy) time
    assert rows["GoldModel"][RUNTIME].mean == pytest.approx(0.002)


def test_no_gold_row_without_a_gold_model(doc):
    rows = aggregate(rd.without(doc, classes=(rd.GOLD,)))
    assert "gold" not in rows and "original" in rows


def test_a_single_seed_document_is_read_as_one_seed():
    doc = rd.single_seed(seed=7)
    rows = aggregate(doc)
    ft = rows["Finetuning"]
    assert ft.finished == [7]
    assert ft[FORGET].mean == 0.80 and ft[FORGET].std is None and ft[FORGET].ci95 is None
    assert rows["original"][FORGET].n == 1


def test_a_record_without_seed_among_several_is_an_error(doc):
    del doc["records"][3]["seed"]
    with pytest.raises(ResultsError, match="'Broken' has no seed"):
        aggregate(doc)


def test_key_metrics_and_all_metrics(doc):
    rows = aggregate(doc)
    assert select_metrics(rows) == [k for k in KEY_METRICS if k != "accuracy.test.unlearned"
                                    and k != "aus.forget.unlearned"]
    every = select_metrics(rows, "all")
    # the .original metrics are the original row, not columns of their own
    assert set(every) == {FORGET, RETAIN, "umia.forget.unlearned", "runtime.retrain",
                          "runtime.train_original", RUNTIME, "rte.unlearn"}
    assert select_metrics(rows, ["runtime.unlearn"]) == ["runtime.unlearn"]


# --- CSV ----------------------------------------------------------------------------------


def _number(cell: str):
    return None if cell == "" else float(cell)


def test_csv_parsed_back_equals_the_aggregates(doc, tmp_path):
    csv_path, md_path = write_tables(doc, tmp_path / "out")
    assert (csv_path.name, md_path.name) == ("summary.csv", "summary.md")
    with open(csv_path, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    rows = aggregate(doc)
    keys = select_metrics(rows)
    assert list(table[0]) == csv_header(keys)
    assert [r["name"] for r in table] == list(rows)
    assert [r["kind"] for r in table] == [r.kind for r in rows.values()]
    assert [int(r["seeds_finished"]) for r in table] == [3, 3, 3, 3, 3, 2, 0]
    assert [int(r["seeds_failed"]) for r in table] == [0, 0, 0, 0, 0, 1, 3]
    for line, row in zip(table, rows.values()):
        for key in keys:
            stat = row[key]
            assert _number(line[f"{key}:mean"]) == stat.mean  # exact: written with repr
            assert _number(line[f"{key}:std"]) == stat.std
            assert _number(line[f"{key}:ci95"]) == stat.ci95
            assert int(line[f"{key}:n"]) == stat.n
    ft = next(r for r in table if r["name"] == "Finetuning")
    assert float(ft[f"{FORGET}:mean"]) == pytest.approx(0.85)
    assert float(ft[f"{FORGET}:ci95"]) == pytest.approx(0.124207, abs=1e-6)
    never = next(r for r in table if r["name"] == "AlwaysFails")
    assert never[f"{FORGET}:mean"] == "" and never[f"{FORGET}:n"] == "0"


def test_csv_with_all_metrics(doc):
    table = list(csv.DictReader(csv_text(doc, "all").splitlines()))
    assert "runtime.train_original:mean" in table[0]
    assert "accuracy.forget.original:mean" not in table[0]


# --- Markdown -----------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |")
    return [c.strip() for c in line[2:-2].replace("\\|", "\x00").split(" | ")]


def test_markdown_table_structure(doc, tmp_path):
    text = (write_tables(doc, tmp_path)[1]).read_text(encoding="utf-8")
    assert text == markdown_table(doc)
    lines = text.splitlines()
    keys = select_metrics(aggregate(doc))
    header = _cells(lines[0])
    assert header == ["unlearner", "seeds", *keys]
    assert lines[1] == "|:---|---:|" + "---:|" * len(keys)
    body = [_cells(line) for line in lines[2:9]]
    assert all(len(cells) == len(header) for cells in body)
    assert [c[0] for c in body] == ["*original* (reference)", "*gold* (reference)", "Identity",
                                    "GoldModel", "Finetuning", "Broken", "AlwaysFails"]
    assert [c[1] for c in body] == ["3/3"] * 5 + ["2/3", "0/3"]
    ft = dict(zip(header, body[4]))
    assert ft[FORGET] == "0.8500 ± 0.0500"
    assert ft[RUNTIME] == "0.2000 ± 0.1000"
    assert dict(zip(header, body[0]))[RUNTIME] == "-"  # the original has no unlearning time
    assert dict(zip(header, body[1]))[RUNTIME] == "2.2000 ± 0.2000"
    assert dict(zip(header, body[2]))["umia.forget.unlearned"] == "0.5500 ± 0.0707 (n=2)"
    assert body[6][2:] == ["-"] * len(keys)
    assert lines[9] == ""
    assert "over 3 seeds (0, 1, 2)" in text and "95% confidence intervals" in text
    assert "- failed: Broken (seed 1): RuntimeError: diverged" in lines
    assert "- failed: AlwaysFails (seed 2): ValueError: no \\| pipes" in lines  # escaped


def test_markdown_for_one_seed_shows_plain_numbers():
    text = markdown_table(rd.single_seed(seed=7))
    ft = next(line for line in text.splitlines() if line.startswith("| Finetuning "))
    assert _cells(ft)[:3] == ["Finetuning", "1/1", "0.8000"]
    assert "±" not in text and "One seed (7)" in text


def test_markdown_of_an_interrupted_run_names_the_missing_records(doc):
    doc.update(status="interrupted", interrupted_by="SIGINT", missing_records=["X", "Y"])
    assert markdown_table(doc).splitlines()[-1] == ("Interrupted by SIGINT: missing records: "
                                                    "X, Y.")


# --- the printed summary ------------------------------------------------------------------


def test_summary_table_shows_mean_and_std_over_several_seeds(doc):
    lines = summary_table(doc).splitlines()
    header = lines[0].split()
    assert header == ["unlearner", "seeds", FORGET, RETAIN, "umia.forget.unlearned", RUNTIME]
    assert set(lines[1].replace(" ", "")) == {"-"}
    rows = {line.split("  ")[0].strip(): [c.strip() for c in line.split("  ") if c.strip()]
            for line in lines[2:7]}
    assert list(rows) == ["Identity", "GoldModel", "Finetuning", "Broken", "AlwaysFails"]
    assert rows["Finetuning"] == ["Finetuning", "3/3", "0.8500 ± 0.0500", "0.9600 ± 0.0100",
                                  "0.5000 ± 0.0000", "0.2000 ± 0.1000"]
    assert rows["Broken"][:3] == ["Broken", "2/3", "0.6000 ± 0.1414"]
    assert rows["AlwaysFails"] == ["AlwaysFails", "0/3", "-", "-", "-", "-"]
    assert "failed: Broken (seed 1): RuntimeError: diverged" in lines
    assert lines[-1] == "failed: AlwaysFails (seed 2): ValueError: no | pipes"


def test_summary_table_can_add_the_reference_rows(doc):
    lines = summary_table(doc, references=True).splitlines()
    assert [line.split()[0] for line in lines[2:4]] == ["original", "gold"]
    single = summary_table(rd.single_seed(), references=True).splitlines()
    assert single[2].split()[:3] == ["original", "reference", "1.0000"]
    assert single[3].split()[:3] == ["gold", "reference", "0.9000"]


def test_summary_table_for_one_seed_is_unchanged():
    lines = summary_table(rd.single_seed()).splitlines()
    assert lines[0].split()[:2] == ["unlearner", "status"]
    assert lines[4].split()[:3] == ["Finetuning", "finished", "0.8000"]
    assert lines[-1] == "failed: AlwaysFails: ValueError: no | pipes"


# --- rebuilding from a results file: errors (a real run: tests/test_plots.py) -------------


def test_rebuild_refuses_a_missing_or_invalid_results_file(tmp_path):
    with pytest.raises(ResultsError) as error:
        rebuild(tmp_path / "nowhere")
    assert isinstance(error.value, ValueError)
    assert error.value.path == tmp_path / "nowhere" / "results.json"
    assert "no such folder" in str(error.value) and str(tmp_path) in str(error.value)
    with pytest.raises(ResultsError, match="no results.json in"):
        rebuild(tmp_path)
    bad = tmp_path / "results.json"
    for text, reason in [("{not json", "not valid JSON"), ("[1, 2]", "a JSON list"),
                         ('{"records": {}}', 'no list of "records"'),
                         ('{"records": [{"name": 1}]}', r"records\[0\] is not a record"),
                         ('{"records": [], "x": NaN}', "not valid JSON")]:
        bad.write_text(text)
        with pytest.raises(ResultsError, match=reason) as error:
            rebuild(tmp_path)
        assert error.value.path == bad
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # nothing written


def test_load_results_takes_the_folder_or_the_file(doc, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(doc))
    assert load_results(tmp_path) == doc == load_results(tmp_path / "results.json")


def test_rebuild_tables_only(doc, tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(doc))
    text = rebuild(tmp_path, plots=False)
    assert text.startswith(markdown_table(doc).rstrip("\n"))
    assert text.splitlines()[-4:] == ["written:", f"  {tmp_path / 'summary.csv'}",
                                      f"  {tmp_path / 'summary.md'}",
                                      f"  {tmp_path / 'results.csv'}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json",
                                                          "summary.csv", "summary.md"]


# --- names that would break a table or reach a spreadsheet as a formula --------------------

#: record names a config may give (``"name"`` beside ``class``) -> how a table shows them on
#: one line; the names that start a spreadsheet formula show as they are
HOSTILE = {"two\nlines": "two\\nlines", "a|b\r\nc": "a|b\\r\\nc", '=HYPERLINK("x")': None,
           "+1": None, "-cmd": None, "@SUM(A1)": None, "\tTab": "\\tTab",
           "bell\x07\x1b[2J": "bell\\x07\\x1b[2J", "sep\u2028here": "sep\\u2028here"}
FORMULAS = {'=HYPERLINK("x")', "+1", "-cmd", "@SUM(A1)", "\tTab"}
FAILING = "=fails\nbadly"
ERROR = "ValueError: line one\nline two | =1+1"


def hostile_document(seeds=(0, 1)) -> dict:
    """Every HOSTILE name finished (forget accuracy -0.5, -0.25, 0.0, …), FAILING failed."""
    doc = rd.three_seeds()
    doc["seeds"] = list(seeds)
    doc["records"] = []
    for seed in seeds:
        for i, name in enumerate(HOSTILE):
            metrics = {FORGET: -0.5 + 0.25 * i, RETAIN: 0.9}
            doc["records"].append(rd._record(name, rd.FINETUNING, seed, metrics))
        doc["records"].append(rd._record(FAILING, rd.FINETUNING, seed, None, ERROR))
    return doc


def shown(name: str) -> str:
    return HOSTILE.get(name) or name.replace("\n", "\\n")


@pytest.mark.parametrize("seeds", [(0,), (0, 1)])
def test_markdown_keeps_one_row_per_record_whatever_the_names(seeds):
    text = markdown_table(hostile_document(seeds))
    lines = text.splitlines()
    n = len(HOSTILE) + 1
    body = [_cells(line) for line in lines[2:2 + n]]
    assert lines[2 + n] == ""  # the table ends after one row per record
    assert all(len(cells) == 4 for cells in body)  # unlearner, seeds, two metrics
    # the Markdown source escapes | and \ (rendered: the one-line form)
    names = [c[0].replace("\x00", "|").replace("\\\\", "\\") for c in body]
    assert names == [shown(name) for name in [*HOSTILE, FAILING]]
    assert body[0][2].startswith("-0.5000")
    assert "\x1b" not in text and "\x07" not in text and "\u2028" not in text
    failures = [line for line in lines if line.startswith("- failed:")]
    assert failures[0] == ("- failed: =fails\\\\nbadly (seed 0): "
                           "ValueError: line one\\\\nline two \\| =1+1")
    assert len(failures) == len(seeds)


def test_csv_protects_text_that_would_start_a_formula_but_not_numbers(tmp_path):
    csv_path, _ = write_tables(hostile_document(), tmp_path)
    with open(csv_path, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [r["name"] for r in table] == [
        "'" + name if name in FORMULAS else name for name in HOSTILE] + ["'" + FAILING]
    assert table[0]["name"] == "two\nlines"  # quoted by the csv module: still one record
    means = [r[f"{FORGET}:mean"] for r in table[:len(HOSTILE)]]
    assert means[:3] == ["-0.5", "-0.25", "0.0"]  # numbers are no formulas: "-0.5" stays
    assert [float(m) for m in means] == pytest.approx(
        [-0.5 + 0.25 * i for i in range(len(HOSTILE))], abs=1e-12)


def test_csv_cell_and_one_line():
    assert [csv_cell(t) for t in ["=1", "+1", "-1", "@a", "\t1", "\r1", "a=1", "", "1"]] == \
        ["'=1", "'+1", "'-1", "'@a", "'\t1", "'\r1", "a=1", "", "1"]
    assert one_line("a\nb\r\n\x00\u2029") == "a\\nb\\r\\n\\x00\\u2029"
    assert one_line("ünïcode ✓ a\u00a0b") == "ünïcode ✓ a\u00a0b"  # printable text unchanged
    assert one_line(None) == "None"


@pytest.mark.parametrize("seeds", [(0,), (0, 1)])
def test_the_printed_summary_keeps_one_line_per_record(seeds):
    text = summary_table(hostile_document(seeds))
    lines = text.splitlines()
    rows = lines[2:2 + len(HOSTILE) + 1]
    assert [line.split("  ")[0] for line in rows] == [shown(n) for n in [*HOSTILE, FAILING]]
    assert all(len(line.rstrip()) <= len(lines[1]) for line in rows)  # aligned under the rule
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert lines[-1].startswith("failed: =fails\\nbadly")
    assert lines[-1].endswith(": ValueError: line one\\nline two | =1+1")


# --- tuned records: the tuning cost apart, the knobs chosen -------------------------------

TUNED_LINES = [
    "NegGrad (seed 0): held_out protocol, avg_gap = 0.1; optimizer.parameters.lr = 0.0001547, "
    "epochs = 5; 6 trials (1 pruned, 1 failed), 2.0 s",
    "NegGrad (seed 1): held_out protocol, avg_gap = 0.25; optimizer.parameters.lr = 0.0001547, "
    "epochs = 5; 2 trials (0 pruned, 0 failed), 4.0 s",
    "SSD (seed 0): oracle protocol, avg_gap = 0.0078; selection_weighting = 1.536, "
    "dampening_constant = 0.5; 2 trials (0 pruned, 0 failed), 0.8 s",
    "SSD (seed 1): oracle protocol, avg_gap: no trial finished; 2 trials (0 pruned, 2 failed), "
    "1.5 s",
]


def test_tuning_cost_is_a_pair_of_columns_apart_from_the_runtime():
    rows = aggregate(rd.tuned())
    neggrad = rows["NegGrad"]
    assert neggrad.values["tuning.seconds"] == {0: 2.0, 1: 4.0}
    assert neggrad["tuning.seconds"].mean == pytest.approx(3.0)
    assert neggrad["tuning.seconds"].std == pytest.approx(math.sqrt(2))
    assert neggrad.values["tuning.trials"] == {0: 6, 1: 2}
    # the final run's runtime is its own, untouched by the tuning
    assert neggrad.values[RUNTIME] == {0: 0.05, 1: 0.05}
    # a record whose tuning found nothing failed: it contributes nothing, as any failure
    assert rows["SSD"].values["tuning.seconds"] == {0: 0.75}
    assert "tuning.seconds" not in rows["Finetuning"].values
    assert "tuning.seconds" not in rows["gold"].values
    assert select_metrics(rows)[-2:] == ["tuning.seconds", "tuning.trials"]
    assert not any(k.startswith("tuning.") for k in select_metrics(aggregate(rd.three_seeds())))


def test_tuning_columns_in_the_csv():
    table = {r["name"]: r for r in csv.DictReader(csv_text(rd.tuned()).splitlines())}
    assert float(table["NegGrad"]["tuning.seconds:mean"]) == 3.0
    assert float(table["NegGrad"]["tuning.seconds:std"]) == pytest.approx(math.sqrt(2))
    assert float(table["NegGrad"]["tuning.trials:mean"]) == 4.0
    assert table["SSD"]["tuning.seconds:n"] == "1"
    assert table["Finetuning"]["tuning.seconds:mean"] == "" and \
        table["Finetuning"]["tuning.seconds:n"] == "0"


def test_markdown_shows_the_tuning_cost_and_what_each_tuned_record_chose():
    lines = markdown_table(rd.tuned()).splitlines()
    header = _cells(lines[0])
    assert header[-3:] == ["rte.unlearn", "tuning.seconds", "tuning.trials"]
    body = {cells[0]: dict(zip(header, cells)) for cells in map(_cells, lines[2:8])}
    assert body["NegGrad"]["tuning.seconds"] == "3.0000 ± 1.4142"
    assert body["NegGrad"]["tuning.trials"] == "4.0000 ± 2.8284"  # 6 and 2: a mean, not a count
    assert body["NegGrad"][RUNTIME] == "0.0500 ± 0.0000"
    assert body["SSD"]["tuning.trials"] == "2"  # the same on every seed: the count itself
    assert body["Finetuning"]["tuning.seconds"] == "-"
    start = lines.index("Tuned (the knobs each tuned record chose, toward the gold model):")
    assert lines[start + 1] == ""
    assert lines[start + 2:start + 6] == [f"- {line}" for line in TUNED_LINES]
    assert any("`tuning.seconds`: what tuning took" in line for line in lines[:start])
    assert "Tuned" not in markdown_table(rd.three_seeds())


def test_the_printed_summary_shows_the_tuning_cost_and_the_knobs():
    lines = summary_table(rd.tuned()).splitlines()
    assert lines[0].split()[-2:] == ["tuning.seconds", "tuning.trials"]
    neggrad = next(line for line in lines if line.startswith("NegGrad "))
    assert neggrad.split("  ")[-2:] == ["3.0000 ± 1.4142", "4.0000 ± 2.8284"]
    assert lines[-4:] == [f"tuned: {line}" for line in TUNED_LINES]
    # one seed, one row per record: the record's own numbers, the count as an integer
    single = rd.tuned()
    single["records"] = [r for r in single["records"] if r["seed"] == 0]
    single["seeds"] = [0]
    row = next(line for line in summary_table(single).splitlines() if line.startswith("SSD "))
    assert row.split()[-2:] == ["0.7500", "2"]
    assert "tuned:" not in summary_table(rd.three_seeds())
