"""The original ERASURE's benchmark configs through the compatibility layer (erasure/config/original.py).

One abridged config per family of its configs/benchmark/ (tests/data/erasure_original/benchmark/,
CC0): tabular (Adult, Spotify), graphs (BACE), image (CIFAR-100; CelebA's multi-label ones do not
map), text (IMDB; AG News does not map). The IMDB one validates once the text classes
(erasure.data.tokenizers, HuggingFaceSequenceClassifier) are in; its translation is checked now.
The Adult one runs on a small table written into UCIDataSource's cache format.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import re
from pathlib import Path

import pytest

from erasure import prepare, run
from erasure.config import ConfigError, load_config
from erasure.config.load import read_file
from erasure.config.original import DROPPED_COMPONENTS, NEAREST, TABLE, translate_original
from erasure.config.overrides import apply_overrides
from tests.config.test_original import class_paths

BENCHMARK = Path(__file__).resolve().parents[1] / "data" / "erasure_original" / "benchmark"
VALID = ["adult_1mlp_05_seed0", "spotify_3mlp_05_seed0", "BACE_GCN_05_seed0",
         "cifar100_resnet18_05_seed1"]
TEXT = "IMDB_distilbert_05_seed0"
HAS_TEXT = importlib.util.find_spec("erasure.data.tokenizers") is not None


def path(name: str) -> Path:
    return BENCHMARK / f"{name}.jsonc"


def translated(name: str) -> dict:
    return translate_original(read_file(path(name)), path(name))


@pytest.mark.parametrize("name", VALID)
def test_benchmark_configs_validate(name, caplog):
    with caplog.at_level(logging.INFO, logger="erasure.config.original"):
        config = load_config(path(name))
    plan = prepare(config, config_file=path(name))
    assert any("original ERASURE config: translated" in r.message for r in caplog.records)
    assert len(plan.names) == len(config["unlearners"])


@pytest.mark.skipif(not HAS_TEXT, reason="the text classes (erasure.data.tokenizers, "
                                         "HuggingFaceSequenceClassifier) are not merged yet")
def test_text_benchmark_config_validates():
    config = load_config(path(TEXT))
    prepare(config, config_file=path(TEXT))


def test_every_class_path_of_the_benchmark_configs_is_mapped_or_named():
    paths = set()
    for file in BENCHMARK.glob("*.jsonc"):
        paths |= {p for p in class_paths(read_file(file)) if p.startswith("erasure.")}
    missing = {p for p in paths - set(TABLE) - set(DROPPED_COMPONENTS)
               if p.rsplit(".", 1)[-1] not in NEAREST}
    # the preprocessing steps that the sources' rewrites read (or drop with preprocess)
    assert missing == {"erasure.data.preprocessing.reshape_x_z.reshape_x_z",
                       "erasure.data.preprocessing.tokenize_text.TokenizeX",
                       "erasure.data.preprocessing.tokenize_text.TokenizerWrapper",
                       "erasure.data.preprocessing.preprocess.ListToTensor",
                       "erasure.data.preprocessing.dataset_specific.celeba_labels.Celeba_multilabel"}


def test_tabular_translation():
    adult = translated("adult_1mlp_05_seed0")
    data = adult["data"]["parameters"]
    assert data["DataSource"] == {"class": "UCIDataSource",
                                  "parameters": {"id": 2, "label_column": "income"}}
    assert data["standardize"] == "train"  # the original normalises its numeric columns
    assert adult["predictor"]["parameters"]["model"] == {"class": "MLP",
                                                         "parameters": {"hidden": [100]}}
    spotify = translated("spotify_3mlp_05_seed0")
    data = spotify["data"]["parameters"]
    source = data["DataSource"]["parameters"]
    assert data["DataSource"]["class"] == "HuggingFaceDataSource"
    assert source["label_column"] == "track_genre" and len(source["feature_columns"]) == 15
    assert "split_seed" not in data and data["standardize"] == "train"
    assert spotify["predictor"]["parameters"]["model"]["parameters"] == {"hidden": [100] * 3}
    assert spotify["predictor"]["parameters"]["loss_fn"]["parameters"]["label_smoothing"] == 0.1


def test_graph_and_image_translation():
    bace = translated("BACE_GCN_05_seed0")
    assert bace["data"]["parameters"]["DataSource"] == {
        "class": "PyGDataSource", "parameters": {"dataset": "MoleculeNet", "root": "resources/data",
                                                 "options": {"name": "BACE"}}}
    assert bace["predictor"]["parameters"]["model"] == {
        "class": "GCN", "parameters": {"dropout": 0.0, "hidden": [18, 18]}}
    assert bace["predictor"]["parameters"]["optimizer"]["parameters"]["momentum"] == 0.5
    cifar = translated("cifar100_resnet18_05_seed1")
    assert cifar["data"]["parameters"]["DataSource"] == {
        "class": "TorchVisionDataSource", "parameters": {"dataset": "CIFAR100"}}
    assert cifar["predictor"]["parameters"]["model"] == {"class": "ResNet18", "parameters": {}}
    assert [u["class"] for u in cifar["unlearners"]] == [
        "Identity", "GoldModel", "Finetuning", "SuccessiveRandomLabels", "CFk", "EUk", "NegGrad",
        "AdvancedNegGrad", "Cascade", "BadTeaching", "Scrub", "FisherForgetting", "SSD", "SalUn"]


def test_text_translation_moves_the_tokenizer_to_the_data_manager():
    imdb = translated(TEXT)
    data = imdb["data"]["parameters"]
    assert data["DataSource"] == {"class": "HuggingFaceDataSource", "parameters": {
        "path": "fgiobergia/imdb-id", "label_column": "label", "text_column": "text",
        "group_columns": ["movie_id"]}}
    assert data["tokenizer"] == {"class": "HuggingFaceTokenizer", "parameters": {
        "path": "bert-base-uncased", "max_length": 512, "padding": "max_length",
        "truncation": True}}
    forget = data["partitions"][1]
    assert forget == {"class": "GroupSplit", "parameters": {
        "group": "movie_id", "parts_names": ["forget", "other_ids"], "range": [0, 1500],
        "ref_data": "all_shuffled"}}
    assert data["partitions"][3]["parameters"] == {"parts_names": ["train"],
                                                   "ref_data": ["retain", "forget"]}
    assert imdb["predictor"]["parameters"]["model"] == {
        "class": "HuggingFaceSequenceClassifier", "parameters": {"path": "distilbert-base-uncased"}}
    assert imdb["predictor"]["parameters"]["optimizer"]["class"] == "torch.optim.AdamW"


def test_bert_classifier_loads_bert_base():
    config = json.loads(re.sub(r"//[^\n]*", "", path(TEXT).read_text()))
    config["predictor"]["parameters"]["model"]["class"] = \
        "erasure.model.classifiers.BERT_classifier.BERTClassifier"
    out = translate_original(config, path(TEXT))
    assert out["predictor"]["parameters"]["model"]["parameters"] == {"path": "bert-base-uncased"}


def problems(name: str, edit=None) -> dict:
    config = json.loads(re.sub(r"//[^\n]*", "", path(name).read_text()))
    if edit:
        edit(config)
    with pytest.raises(ConfigError) as e:
        translate_original(config, path(name))
    return {p.path: p for p in e.value.problems}


def test_resnet50_names_resnet18():
    def resnet50(config):
        config["predictor"]["parameters"]["model"]["class"] = \
            "erasure.model.classifiers.resnet18_for_cifar100.Cifar100ResNet50"
    (problem,) = problems("cifar100_resnet18_05_seed1", resnet50).values()
    assert "Cifar100ResNet50 has no counterpart" in problem.message
    assert problem.hint.startswith("Nearest equivalent: ResNet18 (erasure has no ResNet-50)")


def test_celeba_multilabel_names_the_single_label_predictor():
    found = problems("celeba_resnet18_05_logits_seed0")
    assert set(found) == {"predictor.class", "predictor.parameters.model.class"}
    assert "Nearest equivalent: Predictor (single-label" in found["predictor.class"].hint
    assert "Nearest equivalent: ResNet18" in found["predictor.parameters.model.class"].hint


def test_agnews_preprocessing_names_its_nearest_equivalents():
    found = problems("agnews_bert_05_seed0")
    where = "data.parameters.DataSource.parameters."
    assert set(found) == {where + "preprocess[0].class", where + "preprocess[1].class",
                          where + "data_columns"}
    assert "UnifyStringColumns" in found[where + "preprocess[0].class"].message
    assert "text_column" in found[where + "preprocess[0].class"].hint
    assert "group_columns" in found[where + "preprocess[1].class"].hint


# -- a run on a local table ------------------------------------------------------------------------

def write_adult(cache: Path, n: int = 160) -> None:
    """A small table in UCIDataSource's cache format (<cache>/2/), with Adult's column names."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    age = rng.integers(18, 80, n)
    hours = rng.integers(10, 70, n)
    sex = rng.choice(["Female", "Male"], n)
    workclass = rng.choice(["Private", "State-gov", "Self-emp"], n)
    income = np.where(age + hours + rng.normal(0, 10, n) > 95, ">50K", "<=50K")
    table = pd.DataFrame({"age": age, "workclass": workclass, "sex": sex,
                          "hours-per-week": hours, "income": income})
    folder = cache / "2"
    folder.mkdir(parents=True)
    table.to_csv(folder / "data.csv", index=False)
    meta = {"id": 2, "name": "Adult", "features": ["age", "workclass", "sex", "hours-per-week"],
            "targets": ["income"], "categorical": ["workclass", "sex"]}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")


def test_adult_runs_on_a_local_table(tmp_path):
    name = "adult_1mlp_05_seed0"
    config = load_config(path(name))
    # GoldModel, Finetuning, Scrub; its accuracy, F1 and AUS measures
    config["unlearners"] = [config["unlearners"][i] for i in (1, 2, 10)]
    measures = config["evaluator"]["parameters"]["measures"]
    config["evaluator"]["parameters"]["measures"] = [m for m in measures if m["class"] != "UMIA"]
    write_adult(tmp_path / "uci")
    config = apply_overrides(config, [
        f"data.parameters.DataSource.parameters.cache_dir={tmp_path / 'uci'}",
        "data.parameters.partitions[2].parameters.percentage=0.1",
        "predictor.parameters.epochs=1",
        "globals.cache=false", "globals.device=cpu", "globals.threads=1",
    ])
    results = run(prepare(config, config_file=path(name)), output=tmp_path / "out")
    doc = json.loads(results.read_text(encoding="utf-8"))
    assert doc["status"] == "finished"
    assert doc["partitions"]["all"] == 160 and doc["partitions"]["train"] == 128
    assert [r["name"] for r in doc["records"]] == ["GoldModel", "Finetuning", "Scrub"]
    for record in doc["records"]:
        assert record["status"] == "finished", (record["name"], record["error"])
        assert record["failed_measures"] == {}, record["name"]
        for key in ("accuracy.test.unlearned", "f1_macro.test.unlearned", "aus.forget.unlearned"):
            assert key in record["metrics"], (record["name"], key)


def test_bigger_gcn_builds_two_convolutions_and_warns_of_its_dense_layers(caplog):
    # configs/benchmark/graphs/*/BBBP_bigger_GCN_*: 4 convolutions asked, 2 dense layers
    def bigger(config):
        config["predictor"]["parameters"]["model"]["parameters"].update(
            num_conv_layers=4, num_dense_layers=2)
    config = json.loads(re.sub(r"//[^\n]*", "", path("BACE_GCN_05_seed0").read_text()))
    bigger(config)
    with caplog.at_level(logging.WARNING, logger="erasure.config.original"):
        out = translate_original(config, path("BACE_GCN_05_seed0"))
    # the original builds its first convolution, then one more whatever the count above 1
    assert out["predictor"]["parameters"]["model"]["parameters"]["hidden"] == [18, 18]
    assert any("num_dense_layers 2" in r.message for r in caplog.records)
