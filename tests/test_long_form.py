"""The long form of the results: ``results.csv`` and :func:`erasure.results.load`, one row per
number, on hand-written documents (a real run's: tests/test_plots.py, a sweep's:
tests/test_resume_seeds_sweeps.py)."""
from __future__ import annotations

import copy
import csv
import json
import math
import sys

import pytest

from erasure.results import RESULTS_CSV, ResultsError, load, split_key, write_reports
from erasure.results.long_form import csv_text
from tests import results_documents as rd

COLUMNS = ["seed", "record", "unlearner", "status", "measure", "partition", "target", "metric",
           "value"]


def swept() -> dict:
    """Three seeds; Finetuning swept over epochs and the optimizer's lr (two points), a
    partition chain naming ``old.forget`` (a name with a dot), a 4-part metric key."""
    doc = rd.three_seeds()
    doc["config"] = {"data": {"parameters": {"partitions": [
        {"parameters": {"parts_names": ["train", "test"]}},
        {"parameters": {"parts_names": ["old.forget", "retain"]}}]}}}
    points = {"Finetuning[epochs=1,lr=0.01]": {"epochs": 1, "optimizer.parameters.lr": 0.01},
              "Finetuning[epochs=5,lr=0.1]": {"epochs": 5, "optimizer.parameters.lr": 0.1}}
    records = []
    for record in doc["records"]:
        if record["name"] != "Finetuning":
            records.append(record)
            continue
        for name, point in points.items():
            copied = copy.deepcopy(record)
            copied.update(name=name, sweep=point)
            copied["metrics"]["memory.unlearn.rss_peak_mb"] = 12.5
            copied["metrics"]["accuracy.old.forget.unlearned"] = 0.25
            records.append(copied)
    doc["records"] = records
    return doc


def test_one_row_per_number_with_the_columns_and_dtypes():
    doc = swept()
    frame = load(doc)
    assert list(frame.columns) == [*COLUMNS[:4], "epochs", "optimizer.parameters.lr", *COLUMNS[4:]]
    # a row per metric; a record without metrics (a failed one) has one row of its own
    assert len(frame) == sum(max(1, len(r["metrics"])) for r in doc["records"])
    assert str(frame.seed.dtype) == "int64" and str(frame.value.dtype) == "float64"
    assert frame.value.sum() == pytest.approx(
        math.fsum(v for r in doc["records"] for v in r["metrics"].values() if v is not None))
    row = frame[(frame.record == "Finetuning[epochs=5,lr=0.1]") & (frame.seed == 2)
                & (frame.metric == "accuracy.forget.unlearned")]
    assert len(row) == 1
    assert row.iloc[0][["unlearner", "status", "epochs", "optimizer.parameters.lr", "measure",
                        "partition", "target", "value"]].tolist() == \
        ["Finetuning", "finished", 5, 0.1, "accuracy", "forget", "unlearned", rd.FT_FORGET[2]]
    # the swept records fill the sweep columns, the others leave them empty
    assert frame[frame.record == "Identity"].epochs.isna().all()
    assert set(frame[frame.record.str.startswith("Finetuning")].epochs) == {1, 5}
    # a null in the run (a NaN) is a NaN value
    assert math.isnan(frame[(frame.record == "Identity") & (frame.seed == 2)
                            & (frame.metric == "umia.forget.unlearned")].value.iloc[0])
    failed = frame[frame.status == "failed"]
    assert sorted(zip(failed.record, failed.seed)) == [("AlwaysFails", 0), ("AlwaysFails", 1),
                                                       ("AlwaysFails", 2), ("Broken", 1)]
    assert failed.value.isna().all() and failed.metric.isna().all()


@pytest.mark.parametrize("key, parts", [
    ("accuracy.forget.unlearned", ("accuracy", "forget", "unlearned")),
    ("size.all", ("size", "all", None)),
    ("runtime.unlearn", ("runtime", "unlearn", None)),
    ("memory.unlearn.rss_peak_mb", ("memory", "unlearn", "rss_peak_mb")),
    ("class_accuracy.forget.unlearned.3", ("class_accuracy", "forget", "unlearned.3")),
    ("accuracy.old.forget.unlearned", ("accuracy", "old.forget", "unlearned")),
    ("score", ("score", None, None)),
])
def test_keys_split_into_measure_partition_and_target(key, parts):
    assert split_key(key, ["all", "train", "test", "old", "old.forget", "retain"]) == parts


def test_results_csv_holds_the_same_rows_in_full_precision(tmp_path):
    doc = swept()
    doc["records"][0]["metrics"]["accuracy.forget.unlearned"] = 1 / 3
    write_reports(doc, tmp_path, plots=False)
    with open(tmp_path / RESULTS_CSV, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    frame = load(doc)
    assert list(table[0]) == list(frame.columns) and len(table) == len(frame)
    for row, (_, expected) in zip(table, frame.iterrows()):
        assert int(row["seed"]) == expected.seed and row["record"] == expected.record
        if row["value"] == "":
            assert math.isnan(expected.value)
        else:
            assert float(row["value"]) == expected.value  # repr: the float itself, exactly
    third = next(r for r in table if r["metric"] == "accuracy.forget.unlearned")
    assert (third["record"], third["seed"], third["value"]) == ("Identity", "0", repr(1 / 3))
    ft = next(r for r in table if r["record"] == "Finetuning[epochs=1,lr=0.01]"
              and r["metric"] == "memory.unlearn.rss_peak_mb")
    assert (ft["epochs"], ft["optimizer.parameters.lr"], ft["partition"], ft["target"]) == \
        ("1", "0.01", "unlearn", "rss_peak_mb")
    assert next(r for r in table if r["record"] == "Identity")["epochs"] == ""
    # a record name that would start a spreadsheet formula is written as text
    doc["records"][0]["name"] = "=cmd"
    assert "'=cmd" in csv_text(doc)


def test_load_reads_a_run_folder_and_says_when_it_cannot(tmp_path, monkeypatch):
    doc = rd.single_seed(seed=7)
    (tmp_path / "results.json").write_text(json.dumps(doc))
    frame = load(tmp_path)
    assert set(frame.seed) == {7} and str(frame.seed.dtype) == "int64"
    assert frame.equals(load(tmp_path / "results.json"))
    assert "epochs" not in frame.columns  # no sweep, no sweep column
    with pytest.raises(ResultsError, match="no such folder"):
        load(tmp_path / "elsewhere")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import fails
    with pytest.raises(ImportError, match="pip install pandas"):
        load(tmp_path)
