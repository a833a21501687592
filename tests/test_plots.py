"""Plots (PNG): bar charts with error bars across seeds, forget-vs-retain scatter, runtime vs
forgetting; skipped with a reason when their metrics are absent or matplotlib is missing; and
rebuilding tables and plots from a real run's results.json."""
from __future__ import annotations

import csv
import json
import logging
import sys

import pytest

from erasure import prepare, run
from erasure.results import (
    aggregate,
    markdown_table,
    rebuild,
    write_plots,
    write_reports,
    write_tables,
)
from erasure.results import plots as plots_module
from erasure.results.plots import (
    DPI,
    RUNTIME_FILE,
    SCATTER_FILE,
    TUNING_FILE,
    WIDTH,
    bar_file,
    bar_height,
    tuning_figure,
    tuning_series,
)
from tests import results_documents as rd
from tests.helpers import digits_config

mpl_image = pytest.importorskip("matplotlib.image")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
KEYS = ["accuracy.forget.unlearned", "accuracy.retain.unlearned", "umia.forget.unlearned",
        "runtime.unlearn", "rte.unlearn"]


def assert_png(path, width: float, height: float) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000
    pixels = mpl_image.imread(path)
    assert pixels.shape[:2] == (round(height * DPI), round(width * DPI))
    assert pixels.std() > 0  # something was drawn


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plots")
    return folder, write_plots(rd.three_seeds(), folder)


def test_one_bar_chart_per_key_metric_then_the_two_plots(drawn):
    folder, files = drawn
    assert [p.name for p in files] == [*(bar_file(k) for k in KEYS), SCATTER_FILE, RUNTIME_FILE]
    assert bar_file("accuracy.forget.unlearned") == "bar_accuracy.forget.unlearned.png"
    assert files.skipped == {}
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in files)


def test_pngs_are_valid_images_of_the_expected_size(drawn):
    _, files = drawn
    rows = aggregate(rd.three_seeds())
    for path in files[:len(KEYS)]:
        metric = path.name[len("bar_"):-len(".png")]
        shown = sum(1 for r in rows.values() if r[metric].n)
        # AlwaysFails has no bar, the original no unlearning time
        assert shown == (5 if metric in ("runtime.unlearn", "rte.unlearn") else 6)
        assert_png(path, WIDTH, bar_height(shown))
    for path in files[len(KEYS):]:
        assert_png(path, WIDTH, 6.0)


def test_the_same_document_draws_the_same_bytes(drawn, tmp_path):
    folder, _ = drawn
    again = write_plots(rd.three_seeds(), tmp_path, metrics=["runtime.unlearn"])
    assert [p.name for p in again] == [bar_file("runtime.unlearn"), SCATTER_FILE, RUNTIME_FILE]
    assert [p.read_bytes() for p in again] == [(folder / p.name).read_bytes() for p in again]


def test_plots_whose_metrics_are_absent_are_skipped_with_a_reason(tmp_path, caplog):
    doc = rd.without(rd.three_seeds(), "accuracy.retain", "umia", "rte",
                     classes=(rd.GOLD,))
    with caplog.at_level(logging.INFO, logger="erasure.results.plots"):
        files = write_plots(doc, tmp_path, metrics=["accuracy.forget.unlearned", "lira.forget"])
    assert [p.name for p in files] == ["bar_accuracy.forget.unlearned.png"]
    assert files.skipped == {
        "bar_lira.forget.png": "no finished record has a value for lira.forget",
        SCATTER_FILE: "no row has both accuracy.forget.unlearned and accuracy.retain.unlearned",
        RUNTIME_FILE: "no finished GoldModel record to measure forgetting against",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bar_accuracy.forget.unlearned.png"]
    assert "plot forget_vs_retain.png skipped" in caplog.text


def test_runtime_plot_needs_a_runtime(tmp_path):
    files = write_plots(rd.without(rd.three_seeds(), "runtime", "rte"), tmp_path, metrics=[])
    assert [p.name for p in files] == [SCATTER_FILE]
    assert files.skipped == {RUNTIME_FILE: "no record has runtime.unlearn"}


def test_without_matplotlib_plots_are_skipped_and_tables_still_work(tmp_path, monkeypatch,
                                                                   caplog):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # import fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    doc = rd.three_seeds()
    with caplog.at_level(logging.WARNING, logger="erasure.results.plots"):
        files = write_plots(doc, tmp_path / "plots")
    assert files == [] and "matplotlib is not installed" in files.skipped["*"]
    assert "pip install 'erasure[plots]'" in caplog.text
    assert not (tmp_path / "plots").exists()
    (tmp_path / "results.json").write_text(json.dumps(doc))
    text = rebuild(tmp_path)
    assert text.splitlines()[-1].startswith("skipped plots: matplotlib is not installed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json",
                                                          "summary.csv", "summary.md"]


# --- a real run ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A tiny digits experiment: the gold model, Identity and one epoch of Finetuning."""
    config = digits_config(
        unlearners=[{"class": "Identity"}, {"class": "GoldModel"},
                    {"class": "Finetuning", "parameters": {"epochs": 1, "batch_size": 512}}],
        measures=[{"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}},
                  {"class": "Runtime"}],
        epochs=3)
    path = run(prepare(config), output=tmp_path_factory.mktemp("run") / "experiment")
    return path.parent, json.loads(path.read_text())


def test_rebuild_a_real_run(real_run):
    folder, doc = real_run
    text = rebuild(folder)
    assert text.startswith(markdown_table(doc).rstrip("\n"))
    plots = folder / "plots"
    expected = [folder / "summary.csv", folder / "summary.md", folder / "results.csv",
                *(plots / bar_file(k) for k in ["accuracy.forget.unlearned",
                                                "accuracy.retain.unlearned",
                                                "accuracy.test.unlearned", "runtime.unlearn"]),
                plots / SCATTER_FILE, plots / RUNTIME_FILE]
    assert text.splitlines()[-len(expected) - 1:] == ["written:", *(f"  {p}" for p in expected)]
    for path in expected[3:]:
        assert path.read_bytes()[:8] == PNG_MAGIC
    # the table holds the run's numbers: original, gold, then each record
    with open(folder / "summary.csv", newline="") as f:
        table = {row["name"]: row for row in csv.DictReader(f)}
    assert list(table) == ["original", "gold", "Identity", "GoldModel", "Finetuning"]
    records = {r["name"]: r["metrics"] for r in doc["records"]}
    key = "accuracy.forget.unlearned"
    assert float(table["original"][f"{key}:mean"]) == records["Identity"]["accuracy.forget.original"]
    assert float(table["gold"][f"{key}:mean"]) == records["GoldModel"][key]
    assert float(table["gold"]["runtime.unlearn:mean"]) == records["GoldModel"]["runtime.retrain"]
    assert float(table["Finetuning"][f"{key}:mean"]) == records["Finetuning"][key]
    assert all(row["seeds_finished"] == "1" and row[f"{key}:std"] == "" for row in table.values())
    # results.csv: every number of every record, exactly
    with open(folder / "results.csv", newline="") as f:
        numbers = {(row["record"], row["metric"]): float(row["value"]) for row in csv.DictReader(f)}
    assert numbers == {(r["name"], k): v for r in doc["records"] for k, v in r["metrics"].items()}
    # rebuilding again rewrites the same tables
    before = {p: p.read_bytes() for p in expected[:3]}
    assert rebuild(folder, plots=False).startswith(markdown_table(doc).rstrip("\n"))
    assert {p: p.read_bytes() for p in expected[:3]} == before


def test_write_tables_into_a_new_folder(real_run, tmp_path):
    _, doc = real_run
    written = write_tables(doc, tmp_path / "a" / "b")
    assert [p.name for p in written] == ["summary.csv", "summary.md"]
    assert all(p.stat().st_size > 0 for p in written)


def test_write_reports_at_the_end_of_a_run(tmp_path):
    written = write_reports(rd.three_seeds(), tmp_path, metrics=["accuracy.forget.unlearned"])
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "summary.csv", "summary.md", "results.csv", "plots/bar_accuracy.forget.unlearned.png",
        f"plots/{SCATTER_FILE}", f"plots/{RUNTIME_FILE}"]


def test_write_reports_never_fails_a_finished_run(tmp_path, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(plots_module, "write_plots", broken)
    with caplog.at_level(logging.WARNING, logger="erasure.results.rebuild"):
        assert write_reports(rd.three_seeds(), tmp_path) == []
    assert "RuntimeError: no fonts; retry with 'python main.py report" in caplog.text
    assert (tmp_path / "summary.md").exists()  # what was written before stays


# --- tuning.png -----------------------------------------------------------------------------


def test_tuning_plot_is_drawn_only_when_some_record_was_tuned(tmp_path):
    files = write_plots(rd.tuned(), tmp_path)
    names = [p.name for p in files]
    assert names[-1] == TUNING_FILE and files.skipped == {}
    # the tuning cost is in the tables and in tuning.png, not in bar charts of its own
    assert not any(n.startswith("bar_tuning") for n in names)
    assert_png(tmp_path / TUNING_FILE, WIDTH, 6.0)
    # no tuned record (the three-seed document): no tuning.png, and nothing said about it
    untuned = write_plots(rd.three_seeds(), tmp_path / "untuned")
    assert TUNING_FILE not in [p.name for p in untuned] and TUNING_FILE not in untuned.skipped


def test_tuning_plot_draws_each_finished_trial_and_the_best_so_far():
    series = tuning_series(rd.tuned())
    assert [(s.name, s.seed, s.protocol) for s in series] == [
        ("NegGrad", 0, "held_out"), ("NegGrad", 1, "held_out"), ("SSD", 0, "oracle"),
        ("SSD", 1, "oracle")]
    neggrad = series[0]
    # pruned (2) and failed (4) trials have no value: not drawn, counted
    assert neggrad.numbers == [0, 1, 3, 5] and neggrad.values == [0.5, 0.2, 0.3, 0.1]
    assert neggrad.best == [0.5, 0.2, 0.2, 0.1]
    assert (neggrad.pruned, neggrad.failed) == (1, 1)
    assert series[3].values == [] and series[3].failed == 2

    fig = tuning_figure(plots_module._matplotlib(), series, several_seeds=True)
    [ax] = fig.axes
    # two lines (the trials' dots, the best-so-far steps) per series that finished a trial
    assert len(ax.lines) == 2 * 3
    dots, steps = ax.lines[0], ax.lines[1]
    assert list(dots.get_xdata()) == [0, 1, 3, 5] and dots.get_linestyle() == "None"
    assert list(steps.get_ydata()) == [0.5, 0.2, 0.2, 0.1]
    assert steps.get_drawstyle() == "steps-post"
    # one colour per method, one line style per seed
    assert dots.get_color() == steps.get_color() == ax.lines[3].get_color()  # NegGrad, seed 1
    assert ax.lines[3].get_linestyle() != steps.get_linestyle()
    assert ax.lines[5].get_color() != steps.get_color()  # SSD
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["NegGrad (seed 0) [held_out]: 1 pruned, 1 failed",
                      "NegGrad (seed 1) [held_out]", "SSD (seed 0) [oracle]"]
    assert ax.get_ylabel() == "avg_gap (minimize)" and ax.get_xlabel() == "trial"
    assert ax.get_yscale() == "linear"  # 0.0078 to 0.5: under two decades
    one = tuning_figure(plots_module._matplotlib(), series[:1], several_seeds=False)
    assert [t.get_text() for t in one.axes[0].get_legend().get_texts()] == [
        "NegGrad [held_out]: 1 pruned, 1 failed"]


def test_tuning_plot_skipped_when_no_trial_finished(tmp_path):
    doc = rd.tuned()
    doc["records"] = [r for r in doc["records"] if r["name"] == "SSD" and r["seed"] == 1]
    files = write_plots(doc, tmp_path, metrics=[])
    assert files.skipped[TUNING_FILE] == "no tuning trial finished"
    assert not (tmp_path / TUNING_FILE).exists()


def test_report_of_a_tuned_run_lists_the_knobs_and_writes_the_tuning_plot(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(rd.tuned()))
    lines = rebuild(tmp_path).splitlines()
    assert "- NegGrad (seed 0): held_out protocol, avg_gap = 0.1; optimizer.parameters.lr = " \
           "0.0001547, epochs = 5; 6 trials (1 pruned, 1 failed), 2.0 s" in lines
    assert f"  {tmp_path / 'plots' / TUNING_FILE}" in lines
