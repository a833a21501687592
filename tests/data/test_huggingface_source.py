"""HuggingFaceDataSource: save_to_disk folders, data files, image columns, groups, the hub cache
read offline, and fast, clear failures when a hub dataset is neither cached nor reachable.

No test uses the network: the data is written in tmp_path, and a hub id that is not cached fails
(without network here; with network, because the id does not exist).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

datasets = pytest.importorskip("datasets")
pd = pytest.importorskip("pandas")

from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, Value
from PIL import Image as PILImage

from erasure.config import ConfigError, load_config
from erasure.data.sources import huggingface as hf
from erasure.data.sources.base import DataLoadError
from erasure.data.sources.huggingface import HuggingFaceDataSource
from erasure.plan import prepare
from tests.helpers import run_family_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "data" / "huggingface.jsonc"


# --------------------------------------------------------------------------------- fixtures

@pytest.fixture
def no_hub_check(monkeypatch):
    def fail():
        raise AssertionError("the hub was probed for local data")
    monkeypatch.setattr(hf, "_hub_reachable", fail)


def digits_images() -> Dataset:
    """scikit-learn's digits as 8x8 grayscale PNG images with a ClassLabel."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = [PILImage.fromarray(np.round(im * 255 / 16).astype(np.uint8)) for im in bunch.images]
    features = Features({"image": Image(),
                         "label": ClassLabel(names=[str(i) for i in range(10)])})
    return Dataset.from_dict({"image": images, "label": bunch.target.tolist()}, features=features)


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory):
    """A DatasetDict save_to_disk folder: digits split 1,500 train / 297 test."""
    folder = tmp_path_factory.mktemp("hf") / "digits"
    data = digits_images()
    DatasetDict({"train": data.select(range(1500)),
                 "test": data.select(range(1500, 1797))}).save_to_disk(str(folder))
    return folder


TABLE = {
    "height": [1.5, 2.0, 3.5, 4.0, 5.5, 6.0],
    "colour": ["red", "blue", "red", "green", "blue", "red"],
    "user": [17, 3, 17, 5, 3, 5],
    "author": ["zoe", "al", "zoe", "bo", "al", "bo"],
    "animal": ["dog", "cat", "emu", "cat", "dog", "cat"],
}


def load(**kwargs):
    return HuggingFaceDataSource(**kwargs).load()


# ----------------------------------------------------------------------- save_to_disk tables

def test_saved_dataset_with_numeric_features(tmp_path, no_network, no_hub_check):
    Dataset.from_dict({"a": [0.5, 1.0, 2.0, 3.0], "b": [1, 2, 3, 4], "label": [0, 2, 1, 2]}) \
        .save_to_disk(str(tmp_path / "table"))
    samples = load(path=str(tmp_path / "table"))
    assert samples.x.dtype == torch.float32 and samples.x.shape == (4, 2)
    assert samples.x.tolist() == [[0.5, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0]]
    assert samples.y.dtype == torch.int64 and samples.y.tolist() == [0, 2, 1, 2]
    assert samples.class_names == ["0", "1", "2"]
    assert samples.groups["split"].tolist() == [0, 0, 0, 0]
    assert samples.group_values == {"split": ["train"]}
    assert no_network == []


def test_class_label_keeps_the_dataset_ids_and_names_and_drops_unlabelled_rows(tmp_path):
    features = Features({"x": Value("float32"),
                         "label": ClassLabel(names=["zebra", "ant", "cat"])})
    train = Dataset.from_dict({"x": [1.0, 2.0, 3.0], "label": [2, 0, 2]}, features=features)
    test = Dataset.from_dict({"x": [4.0, 5.0, 6.0], "label": [-1, 0, -1]}, features=features)
    DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "d"))
    samples = load(path=str(tmp_path / "d"), splits=["train", "test"])
    # class 1 ("ant") is absent: ids are kept as they are, not re-encoded to 0..1
    assert samples.y.tolist() == [2, 0, 2, 0]
    assert samples.class_names == ["zebra", "ant", "cat"]
    assert samples.x[:, 0].tolist() == [1.0, 2.0, 3.0, 5.0]
    assert samples.groups["split"].tolist() == [0, 0, 0, 1]


def test_text_labels_get_a_sorted_map_and_text_features_sorted_one_hot(tmp_path):
    Dataset.from_dict(TABLE).save_to_disk(str(tmp_path / "t"))
    samples = load(path=str(tmp_path / "t"), label_column="animal",
                   feature_columns=["height", "colour"])
    assert samples.class_names == ["cat", "dog", "emu"]
    assert samples.y.tolist() == [1, 0, 2, 0, 1, 0]
    # height as it is, then colour one-hot in sorted order: blue, green, red
    assert samples.x.tolist()[:2] == [[1.5, 0, 0, 1], [2.0, 1, 0, 0]]


def test_group_columns_text_encoded_integers_kept_and_not_features(tmp_path):
    Dataset.from_dict(TABLE).save_to_disk(str(tmp_path / "t"))
    samples = load(path=str(tmp_path / "t"), label_column="animal",
                   group_columns=["user", "author"])
    assert samples.groups["user"].tolist() == [17, 3, 17, 5, 3, 5]
    assert "user" not in samples.group_values
    assert samples.group_values["author"] == ["al", "bo", "zoe"]
    assert samples.groups["author"].tolist() == [2, 0, 2, 1, 0, 1]
    # default features: every column but the label and the groups (height + 3 colours)
    assert samples.x.shape == (6, 4)


def test_class_label_group_keeps_ids_with_names_as_values(tmp_path):
    features = Features({"x": Value("float32"), "label": Value("int64"),
                         "coarse": ClassLabel(names=["fish", "bird"])})
    Dataset.from_dict({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0], "coarse": [1, 1, 0]},
                      features=features).save_to_disk(str(tmp_path / "d"))
    samples = load(path=str(tmp_path / "d"), group_columns=["coarse"])
    assert samples.groups["coarse"].tolist() == [1, 1, 0]
    assert samples.group_values["coarse"] == ["fish", "bird"]


def test_splits_are_concatenated_in_the_order_given(tmp_path):
    parts = {name: Dataset.from_dict({"x": [float(i)] * n, "label": list(range(n))})
             for i, (name, n) in enumerate([("train", 3), ("validation", 1), ("test", 2)])}
    DatasetDict(parts).save_to_disk(str(tmp_path / "d"))
    samples = load(path=str(tmp_path / "d"), splits=["test", "train"])
    assert samples.x[:, 0].tolist() == [2.0, 2.0, 0.0, 0.0, 0.0]
    assert samples.y.tolist() == [0, 1, 0, 1, 2]
    assert samples.groups["split"].tolist() == [0, 0, 1, 1, 1]
    assert samples.group_values["split"] == ["test", "train"]


def test_fixed_length_lists_become_one_feature_per_element(tmp_path):
    Dataset.from_dict({"embedding": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], "size": [7, 8],
                       "label": [1, 0]}).save_to_disk(str(tmp_path / "d"))
    samples = load(path=str(tmp_path / "d"))
    assert torch.allclose(samples.x, torch.tensor([[0.1, 0.2, 0.3, 7.0], [0.4, 0.5, 0.6, 8.0]]))
    Dataset.from_dict({"embedding": [[0.1], [0.4, 0.5]], "label": [1, 0]}) \
        .save_to_disk(str(tmp_path / "ragged"))
    with pytest.raises(DataLoadError, match="not numbers of one length"):
        load(path=str(tmp_path / "ragged"))


def test_missing_values_drop_rows_and_integer_labels_stay_integers(tmp_path):
    Dataset.from_dict({"x": [1.0, None, 3.0, 4.0], "label": [0, 1, None, 1]}) \
        .save_to_disk(str(tmp_path / "d"))
    samples = load(path=str(tmp_path / "d"))
    assert samples.x[:, 0].tolist() == [1.0, 4.0]
    assert samples.y.tolist() == [0, 1] and samples.class_names == ["0", "1"]


# ----------------------------------------------------------------------------------- images

def test_image_dataset_from_digits(digits_folder, no_network, no_hub_check):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    samples = load(path=str(digits_folder), splits=["train", "test"])
    assert samples.x.shape == (1797, 1, 8, 8) and samples.x.dtype == torch.float32
    assert samples.x.min() == 0.0 and samples.x.max() == 1.0
    expected = torch.tensor(bunch.images, dtype=torch.float32) / 16
    assert torch.allclose(samples.x[:, 0], expected, atol=0.5 / 255 + 1e-6)
    assert samples.y.tolist() == bunch.target.tolist()
    assert samples.class_names == [str(i) for i in range(10)]
    assert samples.groups["split"].bincount().tolist() == [1500, 297]
    assert no_network == []


def test_test_split_alone(digits_folder):
    samples = load(path=str(digits_folder), splits=["test"])
    assert samples.x.shape == (297, 1, 8, 8)
    assert samples.groups["split"].unique().tolist() == [0]


def rgb(colour, size=(4, 3)):
    return PILImage.new("RGB", size, colour)


def test_colour_images_are_channels_first(tmp_path):
    Dataset.from_dict({"img": [rgb((255, 0, 51)), rgb((0, 255, 0))], "label": ["b", "a"],
                       "other": [1.0, 2.0]},
                      features=Features({"img": Image(), "label": Value("string"),
                                         "other": Value("float32")})) \
        .save_to_disk(str(tmp_path / "d"))
    samples = load(path=str(tmp_path / "d"))
    # PIL size (4, 3) is width 4, height 3; the other numeric column is not a feature
    assert samples.x.shape == (2, 3, 3, 4)
    assert samples.x[0, :, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.2])
    assert samples.y.tolist() == [1, 0] and samples.class_names == ["a", "b"]
    gray = load(path=str(tmp_path / "d"), image_mode="L", image_size=(6, 5))
    assert gray.x.shape == (2, 1, 6, 5)
    columns = load(path=str(tmp_path / "d"), feature_columns=["other"])
    assert columns.x.tolist() == [[1.0], [2.0]]


def test_mixed_image_sizes_and_modes_need_conversion(tmp_path):
    images = [rgb((10, 20, 30), (4, 4)), rgb((0, 0, 0), (8, 8)),
              PILImage.new("L", (4, 4), 128)]
    Dataset.from_dict({"image": images, "label": [0, 1, 0]},
                      features=Features({"image": Image(), "label": Value("int64")})) \
        .save_to_disk(str(tmp_path / "d"))
    with pytest.raises(DataLoadError) as e:
        load(path=str(tmp_path / "d"))
    assert "differ in mode or size" in e.value.message and "L, RGB" in e.value.message
    assert "image_size" in e.value.hint and "image_mode" in e.value.hint
    samples = load(path=str(tmp_path / "d"), image_mode="RGB", image_size=(4, 4))
    assert samples.x.shape == (3, 3, 4, 4)
    assert samples.x[2].unique().tolist() == pytest.approx([128 / 255])


def test_image_column_errors(tmp_path):
    Dataset.from_dict({"a": [rgb((0, 0, 0))], "b": [rgb((1, 1, 1))], "n": [1.0], "label": [0]},
                      features=Features({"a": Image(), "b": Image(), "n": Value("float32"),
                                         "label": Value("int64")})) \
        .save_to_disk(str(tmp_path / "d"))
    with pytest.raises(DataLoadError, match="several image columns") as e:
        load(path=str(tmp_path / "d"))
    assert "image_column" in e.value.hint
    assert load(path=str(tmp_path / "d"), image_column="b").x.shape == (1, 3, 3, 4)
    with pytest.raises(DataLoadError, match="'n' .* is not an image column") as e:
        load(path=str(tmp_path / "d"), image_column="n")
    assert "a, b" in e.value.hint
    with pytest.raises(DataLoadError, match="are image columns"):
        load(path=str(tmp_path / "d"), feature_columns=["a", "n"])


# ------------------------------------------------------------------------------ data files

def write(frame, path: Path) -> Path:
    suffix = path.suffix
    if suffix in (".csv", ".tsv"):
        frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_data_files_by_extension(tmp_path, suffix, no_network, no_hub_check):
    file = write(pd.DataFrame(TABLE), tmp_path / f"table{suffix}")
    samples = load(path=str(file), label_column="animal", group_columns=["author"],
                   cache_dir=str(tmp_path / "cache"))
    assert samples.class_names == ["cat", "dog", "emu"]
    assert samples.y.tolist() == [1, 0, 2, 0, 1, 0]
    assert samples.x.shape == (6, 5)  # height, colour one-hot (3), user
    assert samples.x[:, 0].tolist() == TABLE["height"]
    assert samples.group_values["author"] == ["al", "bo", "zoe"]
    assert samples.group_values["split"] == ["train"]
    assert no_network == []


def test_a_glob_reads_every_matching_file_in_sorted_order(tmp_path):
    frame = pd.DataFrame(TABLE)
    write(frame.iloc[3:], tmp_path / "part-2.csv")
    write(frame.iloc[:3], tmp_path / "part-1.csv")
    samples = load(path=str(tmp_path / "part-*.csv"), label_column="animal",
                   cache_dir=str(tmp_path / "cache"))
    assert samples.x[:, 0].tolist() == TABLE["height"]


def test_a_folder_of_data_files_has_splits_named_after_the_files(tmp_path, no_network):
    frame = pd.DataFrame(TABLE)
    (tmp_path / "repo").mkdir()
    write(frame.iloc[:4], tmp_path / "repo" / "train.csv")
    write(frame.iloc[4:], tmp_path / "repo" / "test.csv")
    samples = load(path=str(tmp_path / "repo"), splits=["train", "test"], label_column="animal",
                   cache_dir=str(tmp_path / "cache"))
    assert samples.x[:, 0].tolist() == TABLE["height"]
    assert samples.groups["split"].tolist() == [0, 0, 0, 0, 1, 1]
    with pytest.raises(DataLoadError, match="no split 'validation'") as e:
        load(path=str(tmp_path / "repo"), splits=["validation"], label_column="animal",
             cache_dir=str(tmp_path / "cache"))
    assert "Available splits: " in e.value.hint and "train" in e.value.hint
    assert no_network == []


def test_label_maps_are_identical_across_hash_seeds(tmp_path):
    labels = ["kiwi", "apple", "fig", "banana", "cherry", "date", "elder", "grape", "honeydew",
              "lime", "mango", "nectarine"]
    rows = [labels[(7 * i) % len(labels)] for i in range(60)]
    file = write(pd.DataFrame({"x": np.arange(60.0), "fruit": rows,
                               "grower": [labels[(5 * i) % 7] for i in range(60)]}),
                 tmp_path / "fruit.csv")
    script = ("import sys; from erasure.data.sources.huggingface import HuggingFaceDataSource as H; "
              "s = H(path=sys.argv[1], label_column='fruit', group_columns=['grower'], "
              "cache_dir=sys.argv[2]).load(); "
              "print(s.class_names, s.y.tolist(), s.group_values['grower'], "
              "s.groups['grower'].tolist())")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(file), str(tmp_path / f"cache{seed}")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)})
            for seed in ("1", "2")]  # both at once: each mostly waits on imports
    outputs = []
    for process in runs:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-2000:]
        outputs.append(stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].startswith(str(sorted(labels)))


# ---------------------------------------------------------------------------------- the hub

def fake_hub_cache(tmp_path: Path, repo_id: str) -> Path:
    """A cache folder as an online ``load_dataset(repo_id, cache_dir=...)`` leaves it: prepared
    Arrow files under ``<namespace>___<name>/<config>/<version>/<commit>``."""
    from datasets.packaged_modules.parquet.parquet import Parquet

    features = Features({"x": Value("float32"), "label": ClassLabel(names=["no", "yes"])})
    files = {}
    for split, values in {"train": [1.0, 2.0, 3.0], "test": [4.0]}.items():
        files[split] = str(tmp_path / f"{split}.parquet")
        Dataset.from_dict({"x": values, "label": [i % 2 for i in range(len(values))]},
                          features=features).to_parquet(files[split])
    builder = Parquet(cache_dir=str(tmp_path / "build"), dataset_name=repo_id.split("/")[1],
                      data_files=files)
    builder.download_and_prepare()
    cache = tmp_path / "cache"
    shutil.copytree(builder.cache_dir,
                    cache / repo_id.replace("/", "___") / "default" / "0.0.0" / "0123abcd")
    return cache


def test_a_cached_hub_dataset_loads_without_network(tmp_path, no_network):
    cache = fake_hub_cache(tmp_path, "tester/toy")
    start = time.monotonic()
    samples = load(path="tester/toy", cache_dir=str(cache), splits=["train", "test"])
    assert time.monotonic() - start < 15  # no retry loop before reading the cache
    assert samples.x[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert samples.y.tolist() == [0, 1, 0, 0] and samples.class_names == ["no", "yes"]
    assert samples.groups["split"].tolist() == [0, 0, 0, 1]
    # a configuration that was never downloaded is an error naming the cached ones
    with pytest.raises(DataLoadError) as e:
        load(path="tester/toy", name="other", cache_dir=str(cache))
    assert "'tester/toy (other)'" in e.value.message and str(cache) in e.value.message
    assert "default" in e.value.message and "save_to_disk" in e.value.hint
    assert os.environ.get("HF_HUB_OFFLINE") is None and not datasets.config.HF_HUB_OFFLINE


def test_a_hub_id_not_in_the_cache_fails_fast_with_a_clear_message(tmp_path):
    """The real path: no mocking. Offline it is not cached; online the id does not exist."""
    cache = tmp_path / "hf-cache"
    start = time.monotonic()
    with pytest.raises(DataLoadError) as e:
        load(path="erasure-tests/no-such-dataset-4f1c", cache_dir=str(cache))
    # measured here: 0.1 s; the library's own retry loop takes about 25 s without DNS
    assert time.monotonic() - start < 15
    message = e.value.message
    assert message.startswith("HuggingFaceDataSource 'erasure-tests/no-such-dataset-4f1c'")
    assert "hub dataset 'erasure-tests/no-such-dataset-4f1c'" in message
    assert f"cache folder {cache.resolve()}" in message
    assert e.value.hint


def test_unreachable_hub_switches_to_offline_mode_only_around_the_call(tmp_path, monkeypatch):
    monkeypatch.setattr(hf, "_hub_reachable", lambda: False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    start = time.monotonic()
    with pytest.raises(DataLoadError) as e:
        load(path="ylecun/mnist", cache_dir=str(tmp_path / "c"))
    assert time.monotonic() - start < 10
    assert e.value.message == (
        "HuggingFaceDataSource 'ylecun/mnist': hub dataset 'ylecun/mnist' is not in the cache "
        f"folder {(tmp_path / 'c').resolve()} and the Hugging Face Hub "
        f"({datasets.config.HF_ENDPOINT}) cannot be reached")
    assert "Run once with network access" in e.value.hint
    assert "datasets.load_dataset('ylecun/mnist').save_to_disk(FOLDER)" in e.value.hint
    assert "set path to it" in e.value.hint
    # nothing of the offline switch is left behind
    from huggingface_hub import constants

    assert "HF_HUB_OFFLINE" not in os.environ and "HF_DATASETS_OFFLINE" not in os.environ
    assert not datasets.config.HF_HUB_OFFLINE and not constants.HF_HUB_OFFLINE


def test_offline_environment_skips_the_hub_check(tmp_path, monkeypatch, no_hub_check):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataLoadError, match="offline mode is set") as e:
        load(path="ylecun/mnist", name="mnist", cache_dir=str(tmp_path / "c"))
    assert "'ylecun/mnist (mnist)'" in e.value.message
    assert "load_dataset('ylecun/mnist', 'mnist')" in e.value.hint
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_hub_errors_online_become_data_load_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(hf, "_hub_reachable", lambda: True)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def missing(*args, **kwargs):
        raise datasets.exceptions.DatasetNotFoundError("Dataset 'a/b' doesn't exist on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", missing)
    with pytest.raises(DataLoadError, match="'a/b' was not found") as e:
        load(path="a/b", cache_dir=str(tmp_path))
    assert "hf auth login" in e.value.hint

    def dropped(*args, **kwargs):
        raise ConnectionError("connection reset")

    monkeypatch.setattr(datasets, "load_dataset", dropped)
    with pytest.raises(DataLoadError, match="connection to .* failed .*connection reset"):
        load(path="a/b", cache_dir=str(tmp_path))


def test_hub_reachability_check_is_bounded(monkeypatch):
    start = time.monotonic()
    hf._hub_reachable(timeout=0.5)  # answers or not, within the deadline
    assert time.monotonic() - start < 3


# ---------------------------------------------------------------------------------- errors

def test_missing_columns_list_the_available_ones(tmp_path):
    Dataset.from_dict(TABLE).save_to_disk(str(tmp_path / "t"))
    with pytest.raises(DataLoadError) as e:
        load(path=str(tmp_path / "t"))  # the default label column "label" does not exist
    assert e.value.message == (f"HuggingFaceDataSource '{tmp_path / 't'}': split 'train' of "
                               f"dataset '{tmp_path / 't'}' has no column 'label'")
    assert e.value.hint == "Available columns: height, colour, user, author, animal."
    for kwargs in ({"feature_columns": ["height", "weight"]}, {"group_columns": ["person"]}):
        with pytest.raises(DataLoadError, match="has no column") as e:
            load(path=str(tmp_path / "t"), label_column="animal", **kwargs)
        assert "height, colour, user, author, animal" in e.value.hint


def test_missing_local_paths_and_unknown_file_types(tmp_path, no_hub_check):
    with pytest.raises(DataLoadError, match="no file or folder") as e:
        load(path=str(tmp_path / "nothing" / "here"))
    assert "save_to_disk" in e.value.hint
    with pytest.raises(DataLoadError, match="no file or folder"):
        load(path="missing.csv")
    with pytest.raises(DataLoadError, match="no file matches"):
        load(path=str(tmp_path / "*.parquet"))
    (tmp_path / "table.xlsx").write_text("x")
    with pytest.raises(DataLoadError, match="file types .xlsx") as e:
        load(path=str(tmp_path / "table.xlsx"))
    assert ".csv" in e.value.hint
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(DataLoadError, match="cannot read the data files"):
        load(path=str(tmp_path / "broken.json"), cache_dir=str(tmp_path / "cache"))


def test_hub_only_parameters_on_local_data(tmp_path):
    Dataset.from_dict({"x": [1.0], "label": [0]}).save_to_disk(str(tmp_path / "d"))
    with pytest.raises(DataLoadError, match="name 'mnist' applies to hub datasets"):
        load(path=str(tmp_path / "d"), name="mnist")
    with pytest.raises(DataLoadError, match="revision 'main' applies to hub datasets"):
        load(path=str(tmp_path / "d"), revision="main")


def test_free_text_is_not_one_hot_encoded(tmp_path):
    n = hf.MAX_CATEGORIES + 1
    Dataset.from_dict({"text": [f"review number {i}" for i in range(n)], "label": [0, 1] * (n // 2) + [0]}) \
        .save_to_disk(str(tmp_path / "d"))
    with pytest.raises(DataLoadError, match=f"'text' .* holds text with {n} distinct values"):
        load(path=str(tmp_path / "d"))


@pytest.mark.parametrize("kwargs, match", [
    ({"path": ""}, "path must name"),
    ({"path": "a/b", "splits": []}, "at least one split"),
    ({"path": "a/b", "splits": ["train", "train"]}, "repeated"),
    ({"path": "a/b", "group_columns": ["label"]}, "cannot also be a group"),
    ({"path": "a/b", "group_columns": ["split"]}, "group 'split' is the split"),
    ({"path": "a/b", "feature_columns": []}, "feature_columns is empty"),
    ({"path": "a/b", "feature_columns": ["label"]}, "also the label or a group"),
    ({"path": "a/b", "feature_columns": ["x"], "image_column": "img"}, "not both"),
    ({"path": "a/b", "image_size": (0, 4)}, "two positive sizes"),
])
def test_bad_parameters_fail_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HuggingFaceDataSource(**kwargs)


def test_missing_datasets_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(DataLoadError, match="needs the 'datasets' package") as e:
        load(path="ylecun/mnist")
    assert "pip install 'erasure[hf]'" in e.value.hint


def test_constructing_does_no_work(monkeypatch):
    monkeypatch.setattr(hf, "_hub_reachable", lambda: pytest.fail("constructor loaded data"))
    HuggingFaceDataSource(path="ylecun/mnist", splits=["train", "test"])


# -------------------------------------------------------------------------------- pipeline

def test_config_error_from_the_manager_names_the_source(tmp_path):
    config = load_config(CONFIG)
    config["data"]["parameters"]["DataSource"]["parameters"]["path"] = str(tmp_path / "none")
    plan = prepare(config, config_file=CONFIG)
    with pytest.raises(ConfigError) as e:
        plan.data.load(0)
    [problem] = e.value.problems
    assert problem.path == "data.parameters.DataSource"
    assert "no file or folder" in str(problem)


def test_the_split_group_gives_the_datasets_own_test_split(digits_folder):
    """GroupSplit on "split" holds out the dataset's official test split."""
    config = load_config(CONFIG)
    data = config["data"]["parameters"]
    data["DataSource"]["parameters"]["path"] = str(digits_folder)
    data["partitions"][0] = {"class": "GroupSplit", "parameters": {
        "parts_names": ["test", "train"], "group": "split", "values": ["test"]}}
    loaded = prepare(config, config_file=CONFIG).data.load(0)
    assert loaded["test"].tolist() == list(range(1500, 1797))
    assert len(loaded["train"]) == 1500 and len(loaded["forget"]) == 150
    assert bool((loaded.groups["split"][loaded["forget"]] == 0).all())


def test_shipped_config_runs_end_to_end_on_a_local_copy(digits_folder, tmp_path):
    config = load_config(CONFIG)
    source = config["data"]["parameters"]["DataSource"]["parameters"]
    assert source["path"] == "ylecun/mnist" and source["splits"] == ["train", "test"]
    source["path"] = str(digits_folder)
    doc = run_family_config(config, CONFIG, tmp_path / "out")
    gold = doc["records"][0]["metrics"]
    # real digits: far above the 10% of chance, for the original and the retrained gold model
    assert gold["accuracy.test.original"] > 0.8
    assert gold["accuracy.test.unlearned"] > 0.8 and gold["accuracy.forget.unlearned"] > 0.8
