"""Curves during unlearning (``evaluate_every``): the points asked for, epoch 0 the original and
the last point the record's number, a curve that changes no number (random streams, batch norm,
train mode), the config errors, and the curves plot."""
from __future__ import annotations

import copy

import pytest
import torch

from erasure.config import ConfigError
from erasure.measures import Measure
from erasure.plan import prepare
from erasure.results import plots, write_plots
from erasure.results.curve_plot import CURVES_FILE, FORGET, RETAIN, curve_figure, curve_series
from erasure.unlearners import TrainingUnlearner
from erasure.unlearners.base import seed_config
from tests import results_documents as rd
from tests.helpers import digits_config, trained_session

HERE = __name__
ACCURACY = {"class": "Accuracy", "parameters": {"partition": ["forget", "retain", "test"]}}
MEASURES = [ACCURACY, {"class": f"{HERE}.WeightSum"}]
FOLLOWED = ["Accuracy", "WeightSum"]
#: each report's model.training, as the unlearner sees it after the report
MODES: list[bool] = []


class WeightSum(Measure):
    """The sum of every weight and buffer of the unlearned model (batch-norm statistics too); it
    draws from the global RNG first, as a measure that samples would."""

    name = "weight_sum"

    def measure(self, ctx):
        torch.rand(100)
        state = ctx.models["unlearned"].state_dict().values()
        return {"weight_sum.all.unlearned": sum(float(t.double().sum()) for t in state
                                                 if t.is_floating_point())}


class Noisy(TrainingUnlearner):
    """Per epoch: a forward pass in train mode over a batch of D_r drawn from its stream (batch
    norm updates its statistics), then noise from the global RNG on every weight, then the
    report."""

    def unlearn(self, model, ctx):
        model.train()
        x, _ = ctx.data.tensors(self.ref_data_retain)
        for _ in range(self.epochs):
            with torch.no_grad():
                model(x[torch.randperm(len(x), generator=ctx.generator)[:64]])
                for p in model.parameters():
                    p.add_(torch.randn_like(p) * 1e-3)
            if ctx.report is not None:
                ctx.report(model)
                MODES.append(model.training)
        return model


def neggrad(epochs: int, every: int | None = None, **more) -> dict:
    parameters = {"epochs": epochs, **more}
    if every is not None:
        parameters["evaluate_every"] = every
    return {"class": "NegGrad", "parameters": parameters}


UNLEARNERS = [neggrad(3, 1, curve_measures=FOLLOWED), neggrad(3), neggrad(4, 2),
              {"class": f"{HERE}.Noisy", "parameters": {"epochs": 3, "evaluate_every": 1,
                                                        "curve_measures": FOLLOWED}},
              {"class": f"{HERE}.Noisy", "parameters": {"epochs": 3}}]


@pytest.fixture(scope="module")
def records():
    # the batch-norm CNN of the SalUn and UNSIR tests (trained once per test run)
    session = trained_session(digits_config("class", UNLEARNERS, MEASURES, image=True,
                                            model={"class": "SmallCNN"}, epochs=3))
    MODES.clear()
    out = [session.unlearn(i) for i in range(len(UNLEARNERS))]
    for record in out:
        assert record["status"] == "finished", record["error"]
    return out


def test_points_fall_on_epoch_zero_and_every_multiple_of_evaluate_every(records):
    every_one, none, every_two = records[0]["curve"], records[1].get("curve"), records[2]["curve"]
    assert none is None
    assert (every_one["unit"], every_one["every"], every_one["epochs"]) == ("epoch", 1, [0, 1, 2, 3])
    assert (every_two["every"], every_two["epochs"]) == (2, [0, 2, 4])
    assert sorted(every_one["metrics"]) == sorted([
        "accuracy.forget.unlearned", "accuracy.retain.unlearned", "accuracy.test.unlearned",
        "weight_sum.all.unlearned"])  # only the unlearned model's keys
    assert sorted(every_two["metrics"]) == sorted(k for k in every_one["metrics"]
                                                  if k.startswith("accuracy."))  # the default
    assert all(len(v) == 3 for v in every_two["metrics"].values())
    assert "failed_measures" not in every_one
    assert MODES == [True] * 3  # the unlearner goes on in train mode after each point


def test_epoch_zero_is_the_original_and_the_last_point_the_record(records):
    for record in (records[0], records[2], records[3]):
        curve, metrics = record["curve"], record["metrics"]
        for partition in ("forget", "retain", "test"):
            values = curve["metrics"][f"accuracy.{partition}.unlearned"]
            assert values[0] == pytest.approx(metrics[f"accuracy.{partition}.original"], abs=1e-9)
        for key, values in curve["metrics"].items():
            assert values[-1] == pytest.approx(metrics[key], rel=1e-9, abs=1e-9), key
    # the points moved: NegGrad's forget accuracy falls from the original's
    forget = records[0]["curve"]["metrics"]["accuracy.forget.unlearned"]
    assert forget[0] >= 0.9 and forget[-1] < forget[0] - 0.1


def test_a_curve_changes_no_number(records):
    # same unlearner with and without a curve: the same weights and batch-norm statistics (the
    # points drew from the global RNG, ran forward passes and left train mode in between)
    for with_curve, without in ((records[0], records[1]), (records[3], records[4])):
        assert with_curve["metrics"].keys() == without["metrics"].keys()
        for key, value in without["metrics"].items():
            assert with_curve["metrics"][key] == pytest.approx(value, rel=1e-6, abs=1e-6), key
    assert records[3]["curve"]["metrics"]["weight_sum.all.unlearned"][1] != \
        records[3]["curve"]["metrics"]["weight_sum.all.unlearned"][0]


def test_the_curve_is_not_part_of_the_unlearners_seed():
    plan = prepare(digits_config("class", [
        {"class": "Cascade", "parameters": {"unlearners": [neggrad(2), neggrad(1)]}}, neggrad(3, 1)]))
    cascade, followed = (u.config for u in plan.unlearners)
    assert "evaluate_every" in cascade["parameters"]["unlearners"][0]["parameters"]
    stripped = seed_config(cascade)
    assert all("evaluate_every" not in s["parameters"] and "curve_measures" not in s["parameters"]
               for s in stripped["parameters"]["unlearners"])
    assert seed_config(followed) == seed_config(plan.unlearners[1].config) == \
        seed_config(prepare(digits_config("class", [neggrad(3)])).unlearners[0].config)
    assert followed["parameters"]["evaluate_every"] == 1  # the record still says it


@pytest.mark.parametrize("node, path, message", [
    ({"class": "Identity", "parameters": {"evaluate_every": 1}},
     "unlearners[0].parameters.evaluate_every", "Only unlearners that train in epochs"),
    ({"class": "SSD", "parameters": {"evaluate_every": 2}},
     "unlearners[0].parameters.evaluate_every", "Only unlearners that train in epochs"),
    (neggrad(2, 0), "unlearners[0].parameters.evaluate_every", "must be at least 1"),
    (neggrad(2, 1, curve_measures=["UMIA"]), "unlearners[0].parameters.curve_measures[0]",
     "the curve follows 'UMIA', which the evaluator does not measure"),
    (neggrad(2, 1, curve_measures=[]), "unlearners[0].parameters.curve_measures",
     "a curve needs at least one measure"),
    ({"class": "Cascade", "parameters": {"unlearners": [neggrad(1), neggrad(1, 1)]}},
     "unlearners[0].parameters.unlearners[1].parameters.evaluate_every",
     "a cascade's steps record no curve"),
])
def test_a_curve_an_unlearner_cannot_record_is_a_config_error(node, path, message):
    with pytest.raises(ConfigError) as caught:
        prepare(digits_config("class", [node]))
    problems = caught.value.problems
    assert [p.path for p in problems] == [path]
    assert message in problems[0].message + " " + (problems[0].hint or "")


def curved_document() -> dict:
    """rd.three_seeds() with a curve on each Finetuning record (and on Broken's, failed on seed
    1: left out)."""
    document = copy.deepcopy(rd.three_seeds())
    for record in document["records"]:
        s = record["seed"]
        if record["name"] in ("Finetuning", "Broken"):
            record["curve"] = {"unit": "epoch", "every": 2, "epochs": [0, 2, 4], "metrics": {
                FORGET: [rd.ORIGINAL_FORGET[s], 0.9, rd.FT_FORGET[s]],
                RETAIN: [rd.ORIGINAL_RETAIN[s], None, rd.FT_RETAIN[s]]}}
    return document


def test_curve_series_average_the_seeds_that_finished():
    finetuning, broken = curve_series(curved_document())
    assert (finetuning.name, finetuning.seeds, broken.seeds) == ("Finetuning", 3, 2)
    epochs, means, cis = finetuning.line(FORGET)
    assert epochs == [0, 2, 4]
    assert means == pytest.approx([0.98, 0.9, 0.85], abs=1e-12)
    # the 95% CI half-width t(0.975, 2)·std/√3 of three seeds
    assert cis == pytest.approx([rd.T2 * 0.02 / 3 ** 0.5, 0.0, rd.T2 * 0.05 / 3 ** 0.5],
                                abs=1e-9)
    assert finetuning.line(RETAIN)[:2] == ([0, 4], pytest.approx([0.99, 0.96], abs=1e-12))
    assert curve_series(rd.three_seeds()) == []


def test_report_draws_forget_and_retain_curves_with_the_gold_level(tmp_path, monkeypatch):
    image = pytest.importorskip("matplotlib.image")
    document = curved_document()  # the gold model and Finetuning, without run times (fewer plots)
    document["records"] = [dict(r, metrics={k: v for k, v in r["metrics"].items()
                                            if k.startswith("accuracy.")})
                           for r in document["records"] if r["name"] in ("GoldModel", "Finetuning")]
    drawn = []

    def spy(mpl, series, gold):
        drawn.append(curve_figure(mpl, series, gold))
        return drawn[-1]
    monkeypatch.setattr(plots, "curve_figure", spy)
    files = write_plots(document, tmp_path, metrics=[])
    assert tmp_path / CURVES_FILE in files and CURVES_FILE not in files.skipped
    assert image.imread(tmp_path / CURVES_FILE).shape[:2] == (1000, 2400)
    forget_panel, retain_panel = drawn[0].axes
    finetuning, gold = forget_panel.get_lines()
    assert list(finetuning.get_xdata()) == [0, 2, 4]
    assert list(finetuning.get_ydata()) == pytest.approx([0.98, 0.9, 0.85], abs=1e-12)
    # the gold model's mean level over the seeds (its GoldModel records), dashed
    assert list(gold.get_ydata()) == pytest.approx([0.90, 0.90], abs=1e-12)
    assert gold.get_linestyle() == "--"
    assert list(retain_panel.get_lines()[-1].get_ydata()) == pytest.approx([0.98, 0.98], abs=1e-12)
