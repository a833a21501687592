"""TableDataSource (CSV / TSV / parquet) and ImageFolderDataSource (images + a labels table):
shapes, sorted label maps, groups, and load errors that name the path or list the columns."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_wine

from erasure import prepare, run
from erasure.config import ConfigError, load_config
from erasure.data.sources.base import DataLoadError
from erasure.data.sources.files import ImageFolderDataSource, TableDataSource
from tests.helpers import run_family_config

pd = pytest.importorskip("pandas")
Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "data" / "table.jsonc"
N_WINE = 178


def wine_frame() -> pd.DataFrame:
    """scikit-learn's wine with a text label, a text feature and two group columns, as in the
    table config's comment."""
    frame = load_wine(as_frame=True).frame
    frame["cultivar"] = [f"cultivar_{t}" for t in frame.pop("target")]
    frame["batch"] = frame.index % 6
    frame["cellar"] = np.where(frame.index % 3 == 0, "west", "east")
    frame["barrel"] = np.where(frame.index % 2 == 0, "oak", "steel")
    return frame


@pytest.fixture
def wine_csv(tmp_path) -> Path:
    path = tmp_path / "wine.csv"
    wine_frame().to_csv(path, index=False)
    return path


def test_csv_table(wine_csv):
    samples = TableDataSource(path=str(wine_csv), label_column="cultivar",
                              group_columns=["batch", "cellar"]).load()
    wine = load_wine()
    # 13 numeric features raw, then the barrel one-hot (oak, steel)
    assert samples.x.shape == (N_WINE, 13 + 2)
    assert samples.x.dtype == torch.float32 and samples.y.dtype == torch.int64
    assert torch.allclose(samples.x[:, :13], torch.tensor(wine.data, dtype=torch.float32))
    barrel = torch.tensor(np.arange(N_WINE) % 2)  # oak (even rows) is 0, steel 1
    assert torch.equal(samples.x[:, 13:], torch.nn.functional.one_hot(barrel, 2).float())
    assert samples.class_names == ["cultivar_0", "cultivar_1", "cultivar_2"]
    assert samples.y.tolist() == wine.target.tolist()
    # integer groups stay as they are; text groups get sorted codes
    assert samples.groups["batch"].tolist() == (np.arange(N_WINE) % 6).tolist()
    assert samples.group_values == {"cellar": ["east", "west"]}
    assert samples.groups["cellar"].tolist() == (np.arange(N_WINE) % 3 == 0).astype(int).tolist()


def test_feature_columns_and_numeric_labels(wine_csv, tmp_path):
    samples = TableDataSource(path=str(wine_csv), label_column="batch",
                              feature_columns=["alcohol", "hue"]).load()
    assert samples.x.shape == (N_WINE, 2)
    assert samples.class_names == [str(i) for i in range(6)]
    assert samples.y.tolist() == (np.arange(N_WINE) % 6).tolist()


def test_tsv_parquet_and_custom_separator_read_the_same_table(wine_csv, tmp_path):
    frame = wine_frame()
    frame.to_csv(tmp_path / "wine.tsv", sep="\t", index=False)
    frame.to_csv(tmp_path / "semicolon.csv", sep=";", index=False)
    reference = TableDataSource(path=str(wine_csv), label_column="cultivar").load()
    tables = [TableDataSource(path=str(tmp_path / "wine.tsv"), label_column="cultivar"),
              TableDataSource(path=str(tmp_path / "semicolon.csv"), label_column="cultivar",
                              separator=";")]
    try:
        import pyarrow  # noqa: F401
        frame.to_parquet(tmp_path / "wine.parquet")
        tables.append(TableDataSource(path=str(tmp_path / "wine.parquet"), label_column="cultivar"))
    except ImportError:
        pass
    for table in tables:
        samples = table.load()
        assert torch.equal(samples.x, reference.x), table.path
        assert torch.equal(samples.y, reference.y) and samples.class_names == reference.class_names


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataLoadError) as e:
        TableDataSource(path=str(tmp_path / "nowhere.csv")).load()
    assert e.value.message == f"TableDataSource '{tmp_path / 'nowhere.csv'}': no file {tmp_path / 'nowhere.csv'}"
    assert "relative path is read from" in e.value.hint


def test_bad_column_lists_the_available_ones(wine_csv):
    with pytest.raises(DataLoadError) as e:
        TableDataSource(path=str(wine_csv), label_column="cultivars").load()
    assert "has no column 'cultivars'" in e.value.message and str(wine_csv) in e.value.message
    assert e.value.hint.startswith("Available columns: alcohol, malic_acid, ash,")
    assert "cultivar, batch, cellar, barrel" in e.value.hint


def test_missing_values_dropped_or_reported(tmp_path):
    frame = wine_frame()
    frame.loc[3, "hue"] = None
    frame.to_csv(tmp_path / "holes.csv", index=False)
    assert TableDataSource(path=str(tmp_path / "holes.csv"), label_column="cultivar").load().x.shape[0] == N_WINE - 1
    with pytest.raises(DataLoadError) as e:
        TableDataSource(path=str(tmp_path / "holes.csv"), label_column="cultivar",
                        drop_missing=False).load()
    assert "1 rows" in e.value.message and "drop_missing" in e.value.hint


def test_unreadable_table(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataLoadError) as e:
        TableDataSource(path=str(tmp_path / "empty.csv")).load()
    assert f"cannot read the table {tmp_path / 'empty.csv'}" in e.value.message


@pytest.mark.parametrize("parameters, message", [
    ({"path": "data.xlsx"}, "path 'data.xlsx' must end with one of .csv, .tsv, .parquet, .pq"),
    ({"path": "data.parquet", "separator": ";"}, "separator applies to CSV/TSV files"),
    ({"path": "data.csv", "separator": ""}, "separator is empty"),
    ({"path": "data.csv", "feature_columns": []}, "feature_columns is empty"),
])
def test_bad_table_parameters(parameters, message):
    with pytest.raises(ValueError, match=message):
        TableDataSource(**parameters)


def test_label_map_is_the_same_under_any_hash_seed(tmp_path):
    """Text labels and groups get sorted codes, not hash-order ones."""
    frame = pd.DataFrame({"x": np.arange(40.0), "label": [f"class_{c}" for c in "qwertyuiop" * 4],
                          "who": [f"user_{c}" for c in "zyxwvutsrqponmlkjihg" * 2]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    script = ("import json; from erasure.data.sources.files import TableDataSource as T; "
              f"s = T(path={str(tmp_path / 't.csv')!r}, group_columns=['who']).load(); "
              "print(json.dumps([s.class_names, s.y.tolist(), s.group_values, s.groups['who'].tolist()]))")
    processes = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                                  env={**os.environ, "PYTHONHASHSEED": seed})
                 for seed in ("1", "2")]
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in processes]
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == sorted(f"class_{c}" for c in "qwertyuiop")


def test_table_config_runs_end_to_end(tmp_path):
    frame = wine_frame().drop(columns=["cellar", "barrel"])
    (tmp_path / "data").mkdir()
    frame.to_csv(tmp_path / "data" / "wine.csv", index=False)
    config = load_config(CONFIG)
    source = config["data"]["parameters"]["DataSource"]
    assert source["class"] == "TableDataSource" and source["parameters"]["path"] == "data/wine.csv"
    assert config["data"]["parameters"]["standardize"] == "train"
    source["parameters"]["path"] = str(tmp_path / "data" / "wine.csv")
    doc = run_family_config(config, CONFIG, tmp_path / "out")
    for record in doc["records"]:
        for partition in ("forget", "retain", "test"):
            assert 0.8 < record["metrics"][f"accuracy.{partition}.unlearned"], (record["name"], partition)
    gold = doc["records"][0]["metrics"]
    assert gold["accuracy.test.original"] > 0.9  # chance is about 0.4
    assert (gold["size.train"], gold["size.test"], gold["size.forget"]) == (142, 36, 26)
    # the forget set is batch 3 of the training set, all of it
    data = prepare(config, config_file=CONFIG).data.load(0)
    batch = data.groups["batch"]
    assert set(batch[data["forget"]].tolist()) == {3}
    assert 3 not in batch[data["retain"]].tolist()
    assert set(data["forget"].tolist()) <= set(data["train"].tolist())


def test_table_config_without_its_file_is_one_config_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = prepare(load_config(CONFIG), config_file=CONFIG)
    with pytest.raises(ConfigError) as e:
        plan.data.load(0)
    [problem] = e.value.problems
    assert problem.path == "data.parameters.DataSource"
    assert str(tmp_path / "data" / "wine.csv") in problem.message


# -- images --------------------------------------------------------------------------------------

def write_digits(folder: Path, count: int = 200, *, rgb: bool = False,
                 labels_file: str = "labels.csv") -> np.ndarray:
    """scikit-learn's first ``count`` digits as 8×8 PNGs in ``folder/img``, and a labels table
    with a text label and a writer group. Returns the pixels written (uint8)."""
    digits = load_digits()
    pixels = np.round(digits.images[:count] * 255 / 16).astype(np.uint8)
    (folder / "img").mkdir(parents=True)
    names = []
    for i, image in enumerate(pixels):
        name = f"img/{i:04d}.png"
        picture = Image.fromarray(image)  # 2-D uint8: mode L
        (picture.convert("RGB") if rgb else picture).save(folder / name)
        names.append(name)
    table = pd.DataFrame({"file": names, "label": [f"digit_{t}" for t in digits.target[:count]],
                          "writer": [f"w{i % 7}" for i in range(count)]})
    table.to_csv(folder / labels_file, index=False)
    return pixels


def test_image_folder_grayscale(tmp_path):
    pixels = write_digits(tmp_path)
    samples = ImageFolderDataSource(folder=str(tmp_path), grayscale=True,
                                    group_columns=["writer"]).load()
    assert samples.x.shape == (200, 1, 8, 8) and samples.x.dtype == torch.float32
    assert torch.equal(samples.x[:, 0], torch.tensor(pixels, dtype=torch.float32) / 255)
    assert samples.x.min() == 0.0 and samples.x.max() == 1.0
    targets = load_digits().target[:200]
    assert samples.class_names == [f"digit_{d}" for d in range(10)]
    assert samples.y.tolist() == targets.tolist()
    assert samples.group_values == {"writer": [f"w{i}" for i in range(7)]}
    assert samples.groups["writer"].tolist() == [i % 7 for i in range(200)]


def test_image_folder_rgb_and_resized(tmp_path):
    pixels = write_digits(tmp_path, 30, rgb=True)
    rgb = ImageFolderDataSource(folder=str(tmp_path)).load()
    assert rgb.x.shape == (30, 3, 8, 8)
    for channel in range(3):
        assert torch.equal(rgb.x[:, channel], torch.tensor(pixels, dtype=torch.float32) / 255)
    resized = ImageFolderDataSource(folder=str(tmp_path), size=[16, 12], grayscale=True).load()
    assert resized.x.shape == (30, 1, 16, 12)
    assert 0.0 <= resized.x.min() and resized.x.max() <= 1.0
    assert torch.equal(resized.y, rgb.y)


def test_image_folder_labels_file_elsewhere_and_columns(tmp_path):
    write_digits(tmp_path / "images", 20, labels_file="../meta.tsv")
    frame = pd.read_csv(tmp_path / "meta.tsv").rename(columns={"file": "path", "label": "digit"})
    frame["digit"] = load_digits().target[:20]
    frame.to_csv(tmp_path / "meta.tsv", sep="\t", index=False)
    samples = ImageFolderDataSource(folder=str(tmp_path / "images"),
                                    labels_file=str(tmp_path / "meta.tsv"), file_column="path",
                                    label_column="digit", grayscale=True).load()
    assert samples.x.shape == (20, 1, 8, 8)
    assert samples.y.tolist() == load_digits().target[:20].tolist()
    assert samples.groups == {}


def test_image_folder_errors_name_the_path(tmp_path):
    source = ImageFolderDataSource(folder=str(tmp_path / "none"))
    with pytest.raises(DataLoadError) as e:
        source.load()
    assert e.value.message == f"ImageFolderDataSource '{tmp_path / 'none'}': no folder {tmp_path / 'none'}"

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataLoadError) as e:
        ImageFolderDataSource(folder=str(tmp_path / "empty")).load()
    assert f"no file {tmp_path / 'empty' / 'labels.csv'}" in e.value.message

    write_digits(tmp_path / "d", 12)
    with pytest.raises(DataLoadError) as e:
        ImageFolderDataSource(folder=str(tmp_path / "d"), label_column="digit").load()
    assert "the labels file" in e.value.message and "'digit'" in e.value.message
    assert e.value.hint == "Available columns: file, label, writer."

    for i in (3, 5, 6, 7, 8, 9, 10):
        (tmp_path / "d" / "img" / f"{i:04d}.png").unlink()
    with pytest.raises(DataLoadError) as e:
        ImageFolderDataSource(folder=str(tmp_path / "d")).load()
    assert (f"7 of the 12 images listed in {tmp_path / 'd' / 'labels.csv'} are not in "
            f"{tmp_path / 'd'}: img/0003.png, img/0005.png, img/0006.png, img/0007.png, "
            "img/0008.png and 2 more") in e.value.message


def test_image_folder_sizes_must_match_unless_resized(tmp_path):
    write_digits(tmp_path, 5)
    Image.new("L", (10, 9)).save(tmp_path / "img" / "0002.png")
    with pytest.raises(DataLoadError) as e:
        ImageFolderDataSource(folder=str(tmp_path)).load()
    assert "images differ in size: img/0000.png is 8×8, img/0002.png is 9×10" in e.value.message
    assert "size" in e.value.hint
    assert ImageFolderDataSource(folder=str(tmp_path), size=[8, 8]).load().x.shape == (5, 3, 8, 8)


def test_image_folder_unreadable_image(tmp_path):
    write_digits(tmp_path, 4)
    (tmp_path / "img" / "0001.png").write_text("not an image")
    with pytest.raises(DataLoadError) as e:
        ImageFolderDataSource(folder=str(tmp_path)).load()
    assert f"cannot read the image {tmp_path / 'img' / '0001.png'}" in e.value.message


@pytest.mark.parametrize("parameters, message", [
    ({"size": [8]}, r"size must be \[height, width\]"),
    ({"size": [8, 0]}, r"size must be \[height, width\]"),
    ({"labels_file": "labels.json"}, "labels_file 'labels.json' must end with one of"),
])
def test_bad_image_folder_parameters(parameters, message):
    with pytest.raises(ValueError, match=message):
        ImageFolderDataSource(folder="images", **parameters)


def test_image_folder_in_a_whole_pipeline(tmp_path):
    """Every digit as a PNG: the config's pipeline trains on the images and forgets writer w3."""
    write_digits(tmp_path / "digits", 1797)
    config = load_config(CONFIG)
    config["data"]["parameters"]["DataSource"] = {"class": "ImageFolderDataSource", "parameters": {
        "folder": str(tmp_path / "digits"), "grayscale": True, "group_columns": ["writer"]}}
    config["data"]["parameters"]["standardize"] = None
    forget = config["data"]["parameters"]["partitions"][1]
    assert forget["class"] == "GroupSplit"
    forget["parameters"].update(group="writer", values=["w3"])  # a text group value
    config["predictor"]["parameters"]["epochs"] = 5
    config["globals"]["device"] = "cpu"
    results = run(prepare(config, config_file=CONFIG), output=tmp_path / "out")
    doc = json.loads(results.read_text(encoding="utf-8"))
    for record in doc["records"]:
        assert record["status"] == "finished", (record["name"], record["error"])
    gold = doc["records"][0]["metrics"]
    assert gold["accuracy.test.original"] > 0.9 and gold["accuracy.forget.unlearned"] > 0.85
    data = prepare(config, config_file=CONFIG).data.load(0)
    assert data.x.shape == (1797, 1, 8, 8)
    assert set(data.groups["writer"][data["forget"]].tolist()) == {3}  # "w3" is code 3
    assert gold["size.forget"] == len(data["forget"]) > 0.8 * gold["size.train"] / 7
    assert "umia.forget.unlearned" in gold


def test_config_checks_image_folder_parameters_before_loading():
    config = load_config(CONFIG)
    config["data"]["parameters"]["DataSource"] = {"class": "ImageFolderDataSource", "parameters": {
        "folder": "images", "size": [16]}}
    with pytest.raises(ConfigError, match=r"size must be \[height, width\]"):
        prepare(config, config_file=CONFIG)
