"""Any scikit-learn classification metric by name: equal to calling scikit-learn directly."""
from dataclasses import replace

import pytest
import torch
from sklearn import metrics

import erasure.measures.sklearn_metric  # noqa: F401  (registers SklearnMetric)
from erasure.config import ConfigError
from erasure.measures import Evaluator, Memos
from erasure.measures.base import Store
from erasure.measures.sklearn_metric import SklearnMetric
from erasure.plan import prepare
from tests.helpers import digits_config
from tests.measures.hand_models import Logits, Shift, context, known_data
from tests.unlearners import fixtures as fx

PREDICTED = [0, 1, 2, 3, 0, 0, 1, 2, 3, 3]
LABELS = [0, 1, 2, 0, 0, 1, 1, 3, 3, 2]


def known():
    data = known_data(PREDICTED, LABELS, {"test": list(range(10)), "forget": [0, 1, 2]})
    return context(data, {"original": Shift(0), "unlearned": Shift(1)})


def test_macro_f1_equals_sklearn():
    got = SklearnMetric(metric="f1_score", kwargs={"average": "macro"}, partition="test").measure(known())
    shifted = [(p + 1) % 4 for p in PREDICTED]
    assert got == {
        "f1_score.test.original": metrics.f1_score(LABELS, PREDICTED, average="macro"),
        "f1_score.test.unlearned": metrics.f1_score(LABELS, shifted, average="macro"),
    }
    # by hand for Shift(0): per-class F1 2/3, 4/5, 1/2, 2/5 → mean 71/120
    assert got["f1_score.test.original"] == pytest.approx(71 / 120, abs=1e-12)


def test_probability_metrics_get_probabilities_and_every_label():
    logits = torch.randn(12, 3, generator=torch.Generator().manual_seed(0)) * 3
    labels = torch.tensor([0, 1, 0, 1, 0, 1] + [2, 1, 0, 2, 1, 0])
    data = fx.tiny_data(logits, labels, {"forget": list(range(6)), "test": list(range(6, 12))})
    ctx = context(data, {"unlearned": Logits()})
    got = SklearnMetric(metric="log_loss", partition=["forget", "test"], target="unlearned").measure(ctx)
    probs = logits.double().softmax(1).numpy()
    # the forget set holds only classes 0 and 1: the labels argument names all three
    assert got["log_loss.forget.unlearned"] == pytest.approx(
        metrics.log_loss(labels[:6].numpy(), probs[:6], labels=[0, 1, 2]), abs=1e-12)
    assert got["log_loss.test.unlearned"] == pytest.approx(
        metrics.log_loss(labels[6:].numpy(), probs[6:]), abs=1e-12)
    top2 = SklearnMetric(metric="top_k_accuracy_score", kwargs={"k": 2}, partition="test",
                         target="unlearned").measure(ctx)
    assert top2["top_k_accuracy_score.test.unlearned"] == metrics.top_k_accuracy_score(
        labels[6:].numpy(), probs[6:], k=2)


def test_two_classes_get_the_positive_class_probability():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.0, 3.0]])
    labels = torch.tensor([0, 1, 1, 1])
    ctx = context(fx.tiny_data(logits, labels, {"test": [0, 1, 2, 3]}), {"unlearned": Logits()})
    got = SklearnMetric(metric="roc_auc_score", partition="test", target="unlearned").measure(ctx)
    # positives' scores 0.73, 0.38, 0.95 against the negative's 0.12: all ranked above it
    assert got == {"roc_auc_score.test.unlearned": 1.0}


def test_a_metric_that_returns_several_numbers_fails_with_a_reason():
    evaluator = fx.build({"class": "Evaluator", "parameters": {"measures": [
        {"class": "SklearnMetric", "parameters": {"metric": "f1_score", "kwargs": {"average": None},
                                                  "partition": "test"}}]}}, Evaluator)
    metrics_, failures, _ = evaluator.evaluate(known(), record="r")
    assert metrics_ == {}
    assert "set 'average' in kwargs" in failures["SklearnMetric[0]"]


def test_key_names_the_results():
    got = SklearnMetric(metric="f1_score", kwargs={"average": "micro"}, key="micro_f1",
                        partition="test", target="original").measure(known())
    assert list(got) == ["micro_f1.test.original"]


def test_bad_parameters_are_config_errors():
    def prepared(parameters):
        return prepare(digits_config("class", [{"class": "Identity"}],
                                     [{"class": "SklearnMetric", "parameters": parameters}]))

    with pytest.raises(ConfigError, match="unknown scikit-learn classification metric 'f1score'") as error:
        prepared({"metric": "f1score"})
    assert "Did you mean 'f1_score'?" in str(error.value)
    assert "matthews_corrcoef" in str(error.value)  # the accepted names
    with pytest.raises(ConfigError, match="Did you mean 'average'"):
        prepared({"metric": "f1_score", "kwargs": {"averag": "macro"}})
    with pytest.raises(ConfigError, match="unknown scikit-learn classification metric 'r2_score'"):
        prepared({"metric": "r2_score"})  # a regression metric
    with pytest.raises(ConfigError, match="key must be a non-empty name without '.'"):
        prepared({"metric": "f1_score", "key": "f1.macro"})
    with pytest.raises(ConfigError, match="kwargs: expected an object or null"):
        prepared({"metric": "f1_score", "kwargs": ["macro"]})


def test_macro_f1_on_digits_equals_sklearn():
    session = fx.session("class", [{"class": "Identity"}],
                         [{"class": "SklearnMetric", "parameters": {
                             "metric": "f1_score", "kwargs": {"average": "macro"}}}])
    gold = session.unlearn(1)["metrics"]  # GoldModel
    data = session.data
    for partition in ("forget", "retain", "test"):
        x, y = data.tensors(partition)
        with torch.inference_mode():
            predicted = session.golds["retain"](x).argmax(1)
        assert gold[f"f1_score.{partition}.unlearned"] == metrics.f1_score(
            y.numpy(), predicted.numpy(), average="macro")
    # measured: test macro-F1 0.836 for the gold model (it never predicts a 3), 0.980 for the original
    assert gold["f1_score.test.unlearned"] < gold["f1_score.test.original"]
    assert gold["f1_score.forget.unlearned"] == 0.0


def test_the_originals_values_are_computed_once_per_experiment(monkeypatch):
    measure = SklearnMetric(metric="f1_score", kwargs={"average": "macro"},
                            partition=["forget", "test"])
    calls = []
    real = metrics.f1_score
    monkeypatch.setattr(metrics, "f1_score", lambda *a, **k: calls.append(1) or real(*a, **k))
    store = Store()
    records = []
    for _ in range(3):  # three records of one experiment: one shared store
        records.append(measure.measure(replace(known(), memos=Memos(experiment=store))))
    assert records[0] == records[1] == records[2]
    assert records[0]["f1_score.test.original"] == pytest.approx(71 / 120, abs=1e-12)
    assert len(calls) == 2 + 3 * 2  # the original's two partitions once, the unlearned's per record
    assert sorted(store) == [f"measure/0/original/{p}" for p in ("forget", "test")]


def test_the_arguments_read_from_scikit_learns_source_are_its_signatures():
    """The config check reads each metric's arguments from the source (importing scikit-learn
    costs a second): they are what the imported functions take."""
    import inspect

    from erasure.measures.sklearn_metric import CLASSIFICATION_METRICS, _arguments_from_source

    read = _arguments_from_source()
    assert read == {name: list(inspect.signature(getattr(metrics, name)).parameters)
                    for name in CLASSIFICATION_METRICS if hasattr(metrics, name)}
    assert read["f1_score"][:3] == ["y_true", "y_pred", "labels"]
