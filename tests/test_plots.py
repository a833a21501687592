"""Plots (PNG, PDF, SVG): the gap to the gold model, bar charts with 95% confidence intervals
across seeds, the forget-vs-retain scatter (zoomed, outliers at the edge, labels apart), runtime
vs forgetting; skipped with a reason when their metrics are absent or matplotlib is missing;
deterministic bytes; and rebuilding tables and plots from a real run's results.json."""
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
from erasure.results.gap_plot import GAP_FILE, gap_chart, gap_figure, gap_height, gap_width
from erasure.results.layout import outliers
from erasure.results.plots import (
    DPI,
    RUNTIME_FILE,
    SCATTER_FILE,
    SCATTER_SIZE,
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
Text = pytest.importorskip("matplotlib.text").Text
P = plots_module

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
    assert [p.name for p in files] == [GAP_FILE, *(bar_file(k) for k in KEYS), SCATTER_FILE,
                                       RUNTIME_FILE]
    assert bar_file("accuracy.forget.unlearned") == "bar_accuracy.forget.unlearned.png"
    assert files.skipped == {}
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in files)


def test_pngs_are_valid_images_of_the_expected_size(drawn):
    _, files = drawn
    rows = aggregate(rd.three_seeds())
    # original, Identity, Finetuning, Broken (AlwaysFails has no value, GoldModel is the gold)
    assert_png(files[0], gap_width(2), gap_height(4))
    for path in files[1:len(KEYS) + 1]:
        metric = path.name[len("bar_"):-len(".png")]
        shown = sum(1 for r in rows.values() if r[metric].n)
        # AlwaysFails has no bar, the original no unlearning time
        assert shown == (5 if metric in ("runtime.unlearn", "rte.unlearn") else 6)
        assert_png(path, WIDTH, bar_height(shown))
    for path in files[len(KEYS) + 1:]:
        assert_png(path, *SCATTER_SIZE)


def test_the_same_document_draws_the_same_bytes(drawn, tmp_path):
    folder, _ = drawn
    again = write_plots(rd.three_seeds(), tmp_path, metrics=["runtime.unlearn"])
    assert [p.name for p in again] == [GAP_FILE, bar_file("runtime.unlearn"), SCATTER_FILE,
                                       RUNTIME_FILE]
    assert [p.read_bytes() for p in again] == [(folder / p.name).read_bytes() for p in again]


def test_plots_whose_metrics_are_absent_are_skipped_with_a_reason(tmp_path, caplog):
    doc = rd.without(rd.three_seeds(), "accuracy.retain", "umia", "rte",
                     classes=(rd.GOLD,))
    with caplog.at_level(logging.INFO, logger="erasure.results.plots"):
        files = write_plots(doc, tmp_path, metrics=["accuracy.forget.unlearned", "lira.forget"])
    assert [p.name for p in files] == ["bar_accuracy.forget.unlearned.png"]
    assert files.skipped == {
        GAP_FILE: "no finished GoldModel record to measure the gaps against",
        "bar_lira.forget.png": "no finished record has a value for lira.forget",
        SCATTER_FILE: "no row has both accuracy.forget.unlearned and accuracy.retain.unlearned",
        RUNTIME_FILE: "no finished GoldModel record to measure forgetting against",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bar_accuracy.forget.unlearned.png"]
    assert "plot forget_vs_retain.png skipped" in caplog.text


def test_runtime_plot_needs_a_runtime(tmp_path):
    files = write_plots(rd.without(rd.three_seeds(), "runtime", "rte"), tmp_path, metrics=[])
    assert [p.name for p in files] == [GAP_FILE, SCATTER_FILE]
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
    assert "pip install matplotlib" in caplog.text
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
                plots / GAP_FILE,
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
        "summary.csv", "summary.md", "results.csv", f"plots/{GAP_FILE}",
        "plots/bar_accuracy.forget.unlearned.png",
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


def test_tuning_plot_is_drawn_only_when_some_record_was_tuned(tmp_path, drawn):
    files = write_plots(rd.tuned(), tmp_path)
    names = [p.name for p in files]
    assert names[-1] == TUNING_FILE and files.skipped == {}
    # the tuning cost is in the tables and in tuning.png, not in bar charts of its own
    assert not any(n.startswith("bar_tuning") for n in names)
    assert_png(tmp_path / TUNING_FILE, *SCATTER_SIZE)
    # no tuned record (the three-seed document, drawn once for this module): no tuning.png, and
    # nothing said about it
    untuned = drawn[1]
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


# --- how close each method is to the gold model ---------------------------------------------


FORGET, RETAIN = "accuracy.forget.unlearned", "accuracy.retain.unlearned"
GAP_KEYS = [FORGET, RETAIN, "accuracy.test.unlearned", "mia_efficacy.forget.unlearned"]
MPL = P._matplotlib()


def by_seed(document, name, key):
    return {r["seed"]: r["metrics"][key] for r in document["records"]
            if r["name"] == name and r["status"] == "finished"}


def expected_gaps(document, name, key):
    """|metric − gold| per seed, straight from the records."""
    mine, gold = by_seed(document, name, key), by_seed(document, "GoldModel", key)
    return [abs(mine[s] - gold[s]) for s in sorted(mine)]


def t_interval(values):
    n = len(values)
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5
    return {2: rd.T1, 3: rd.T2}[n] * std / n ** 0.5


def errorbar_segments(ax):
    """(x0, x1, y) of each horizontal error bar of ``ax``."""
    out = []
    for collection in ax.collections:
        for segment in collection.get_segments():
            (x0, y0), (x1, y1) = segment
            if y0 == y1:
                out.append((x0, x1, y0))
    return out


@pytest.mark.parametrize("seeds", [(0, 1, 2), (0,)])
def test_gap_chart_bars_are_the_gaps_to_the_gold_model_with_t_intervals(seeds):
    document = rd.many_methods(seeds)
    chart = gap_chart(document, aggregate(document))
    assert chart.metrics == GAP_KEYS
    names = [r.name for r in chart.rows]
    assert "GoldModel" not in names and set(names) == {*rd.METHOD_NAMES, "UNSIR", "original"}
    # closest first: the mean of the four mean gaps never decreases down the chart
    means = [sum(r.gaps[k].mean for k in GAP_KEYS) / 4 for r in chart.rows]
    assert means == sorted(means) and names[-1] == "UNSIR"
    fig = gap_figure(MPL, chart, len(seeds) > 1)
    for ax, key in zip(fig.axes, GAP_KEYS):
        widths = [bar.get_width() for bar in ax.patches]
        segments = {round(y): (x0, x1) for x0, x1, y in errorbar_segments(ax)}
        for position, row in zip(range(len(chart.rows) - 1, -1, -1), chart.rows):
            if row.name == "original":
                continue
            gaps = expected_gaps(document, row.name, key)
            assert widths[len(chart.rows) - 1 - position] == pytest.approx(
                sum(gaps) / len(gaps), abs=1e-12)
            if len(seeds) == 1 or row.name == "UNSIR":  # one seed; an outlier at the edge
                assert position not in segments
            else:
                x0, x1 = segments[position]
                assert x1 - sum(gaps) / len(gaps) == pytest.approx(t_interval(gaps), abs=1e-9)
        if len(seeds) == 1:
            assert errorbar_segments(ax) == []


def test_a_far_gap_is_cut_at_the_edge_with_its_value():
    chart = gap_chart(rd.many_methods(), aggregate(rd.many_methods()))
    fig = gap_figure(MPL, chart, True)
    ax = fig.axes[0]
    unsir = chart.rows[-1].gaps[FORGET].mean  # 0.412: the others are below 0.04
    assert ax.get_xlim()[0] == 0 and 0.03 < ax.get_xlim()[1] < unsir
    assert f"{unsir:.4g}" in [t.get_text() for t in ax.texts]


def test_scatter_zooms_to_the_points_and_draws_an_outlier_at_the_edge():
    document = rd.many_methods()
    rows = list(aggregate(document).values())
    fig = P.scatter_figure(MPL, rows, "note", leave_out={"GoldModel"})
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    points = P.scatter_points(rows, {"GoldModel"})
    assert [p.row.name for p in points if p.outlier] == ["UNSIR"]
    for p in points:
        if not p.outlier:  # every point inside the axes
            assert x0 < p.x < x1 and y0 < p.y < y1
    assert x0 > 0.9 and y0 > 0.9  # zoomed: not squashed by UNSIR at (0.55, 0.51)
    edge = [line for line in ax.lines if line.get_marker() in "<>^v"
            and len(line.get_xdata())]
    assert len(edge) == 1
    assert (edge[0].get_xdata()[0], edge[0].get_ydata()[0]) == pytest.approx((x0, y0))
    assert "UNSIR (0.550, 0.510)" in [t.get_text() for t in ax.texts]


def test_scatter_labels_of_a_dozen_close_methods_do_not_overlap():
    document = rd.many_methods(outlier=None)
    for r in document["records"]:  # all twelve within 0.003 of each other, near (1, 1)
        if r["name"] in rd.METHOD_NAMES:
            i = rd.METHOD_NAMES.index(r["name"])
            r["metrics"][FORGET] = 0.997 + 0.00025 * i
            r["metrics"][RETAIN] = 0.998 + 0.0001 * (i % 3)
    fig = P.scatter_figure(MPL, list(aggregate(document).values()), "n", {"GoldModel"})
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text()]
    assert sorted(t.get_text() for t in labels) == sorted(rd.METHOD_NAMES)
    # the text's own box (an annotation's extent would add its leader line)
    for t in labels:
        t.update_positions(renderer)
    boxes = [Text.get_window_extent(t, renderer) for t in labels]
    frame = ax.get_window_extent(renderer)
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_bars_of_values_near_1_start_near_the_data_with_t_intervals():
    document = rd.many_methods(outlier=None)
    rows = list(aggregate(document).values())
    fig = P.bar_figure(MPL, rows, FORGET, "note")
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert 0.9 < lo < 0.96 and hi > 1.0  # 0.96 to 1.0: not from 0
    assert "axis from" in ax.get_xlabel()
    finetuning = by_seed(document, "Finetuning", FORGET)
    half = t_interval(list(finetuning.values()))
    position = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    [segment] = [s for s in errorbar_segments(ax) if s[2] == position["Finetuning"]]
    assert segment[1] - segment[0] == pytest.approx(2 * half, abs=1e-9)
    # one seed: no interval at all
    one = rd.many_methods((0,), outlier=None)
    assert errorbar_segments(P.bar_figure(MPL, list(aggregate(one).values()), FORGET, "n")
                             .axes[0]) == []


def test_bars_of_runtimes_over_orders_of_magnitude_are_on_a_log_axis():
    doc = rd.many_methods()
    ax = P.bar_figure(MPL, list(aggregate(doc).values()), "runtime.unlearn", "n").axes[0]
    assert ax.get_xscale() == "log"  # 0.01 s to 3 s
    ax = P.bar_figure(MPL, list(aggregate(doc).values()), RETAIN, "n").axes[0]
    assert ax.get_xscale() == "linear"


def test_outliers_need_a_far_value_that_sets_the_axis():
    assert outliers([0.98, 0.99, 0.97, 0.985, 0.5]) == [False] * 4 + [True]
    assert outliers([0.98, 0.99, 0.97, 0.985, 0.5], keep=[False] * 4 + [True]) == [False] * 5
    assert outliers([0.1, 0.2, 0.3, 0.4, 0.5]) == [False] * 5  # spread, not one far value
    assert outliers([0.98, 0.5]) == [False, False]  # too few to tell


@pytest.fixture(scope="module")
def formats_drawn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    document = rd.many_methods(outlier="UNSIR")
    return folder, write_plots(document, folder, metrics=[FORGET], formats="png,pdf,svg")


def test_each_format_writes_a_valid_file(formats_drawn):
    folder, files = formats_drawn
    stems = ["gap_to_gold", f"bar_{FORGET}", "forget_vs_retain", "runtime_vs_forgetting"]
    assert [p.name for p in files] == [f"{s}.{f}" for s in stems for f in ("png", "pdf", "svg")]
    for path in files:
        data = path.read_bytes()
        head = {"png": PNG_MAGIC, "pdf": b"%PDF", "svg": b"<?xml"}[path.suffix[1:]]
        assert data.startswith(head), path
        if path.suffix == ".svg":
            assert b"<svg" in data[:1000]
        if path.suffix == ".pdf":
            assert data.rstrip().endswith(b"%%EOF")
    assert mpl_image.imread(folder / "gap_to_gold.png").shape[1] == round(gap_width(4) * DPI)


def test_the_same_numbers_give_the_same_bytes_in_every_format(formats_drawn, tmp_path):
    folder, files = formats_drawn
    again = write_plots(rd.many_methods(outlier="UNSIR"), tmp_path, metrics=[FORGET],
                        formats=["png", "pdf", "svg"])
    for path in again:
        assert path.read_bytes() == (folder / path.name).read_bytes(), path.name
        assert b"Matplotlib" not in path.read_bytes() or path.suffix == ".svg"


def test_unknown_plot_formats_are_refused(tmp_path):
    with pytest.raises(ValueError) as raised:
        write_plots(rd.three_seeds(), tmp_path, formats="png,jpg")
    assert "unknown plot format 'jpg': accepted png, pdf, svg" in str(raised.value)
    assert not tmp_path.joinpath("gap_to_gold.png").exists()
    assert P.plot_formats(" PDF,png,pdf") == ("pdf", "png")


def test_the_log_says_what_was_written(tmp_path, caplog, monkeypatch):
    with caplog.at_level(logging.INFO, logger="erasure.results.rebuild"):
        write_reports(rd.three_seeds(), tmp_path / "a", metrics=[FORGET])
        write_reports(rd.three_seeds(), tmp_path / "b", plots=False)
        for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
            monkeypatch.setitem(sys.modules, name, None)
        write_reports(rd.three_seeds(), tmp_path / "c")
    lines = [r.getMessage() for r in caplog.records if r.name == "erasure.results.rebuild"]
    assert lines[0] == f"summary tables and 4 plot files written into {tmp_path / 'a'}"
    assert lines[1] == f"summary tables written into {tmp_path / 'b'}; no plots (not asked for)"
    assert lines[2].startswith(f"summary tables written into {tmp_path / 'c'}; no plots "
                               "(matplotlib is not installed")


def test_report_plot_format_on_the_command_line(tmp_path, capsys):
    from erasure.cli import main

    (tmp_path / "results.json").write_text(json.dumps(rd.three_seeds()))
    assert main(["report", str(tmp_path), "--metrics", FORGET, "--plot-format", "svg,pdf"]) == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(
        f"{s}.{f}" for s in ("gap_to_gold", f"bar_{FORGET}", "forget_vs_retain",
                             "runtime_vs_forgetting") for f in ("svg", "pdf"))
    with pytest.raises(SystemExit) as exited:
        main(["report", str(tmp_path), "--plot-format", "png,jpg"])
    assert exited.value.code == 2
    assert "unknown plot format 'jpg'" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["exp.jsonc"], ["report", "RUN"], ["evaluate", "RUN"]])
def test_no_plots_with_a_plot_format_is_a_usage_error(command, capsys):
    from erasure.cli import main

    with pytest.raises(SystemExit) as exited:
        main([*command, "--no-plots", "--plot-format", "svg"])
    assert exited.value.code == 2
    assert "argument --plot-format: not allowed with argument --no-plots" in capsys.readouterr().err


def test_a_run_refuses_an_unknown_plot_format_before_any_work(tmp_path):
    plan = prepare(digits_config(unlearners=[{"class": "Identity"}],
                                 measures=[{"class": "Runtime"}]))
    with pytest.raises(ValueError, match="unknown plot format 'gif'"):
        run(plan, output=tmp_path / "run", report=True, plot_formats="png,gif")
    assert not (tmp_path / "run").exists()
