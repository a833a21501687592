"""No data file a config names is ever unpickled beyond plain data (erasure/data/sources/unpickling).

Every test plants a pickle whose loading would create a marker folder (``os.mkdir``) where a
source reads files, and checks that the marker never appears and that the source fails with a
clean DataLoadError — or, for legitimate files in the formats the libraries pickle (CIFAR
batches, Planetoid's raw files, PyG's processed caches), that they still load, with the right
numbers. Control tests show that each planted file does run its payload when the library reads
it unguarded, so a missing marker means something. Offline: every dataset is written here.
"""
from __future__ import annotations

import collections
import fractions
import importlib.util
import io
import json
import os
import pickle
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from erasure.cache import ModelCache
from erasure.cli import main
from erasure.data.sources import (DataLoadError, HuggingFaceDataSource, ImageFolderDataSource,
                                  PyGDataSource, TableDataSource, TorchVisionDataSource,
                                  UCIDataSource)
from erasure.data.sources.unpickling import RestrictedUnpickler, no_unpickling


class Payload:
    """Unpickling it calls ``os.mkdir(marker)``: code of the file's choosing."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def enticing(marker: Path) -> tuple:
    """The payload behind a global that torch's weights-only check reports with an
    ``add_safe_globals`` hint — which makes PyG retry with ``weights_only=False``."""
    return (fractions.Fraction(1, 3), Payload(marker))


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "MARKER"


def test_the_payload_runs_when_unpickled_without_a_guard(marker):
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.is_dir()


# -- the guard itself ------------------------------------------------------------------------

PLAIN = {"arrays": [np.arange(6, dtype=np.int64).reshape(2, 3), np.zeros((2, 2), np.float32)],
         "scalar": np.float64(2.5), "dtype": np.dtype("u1"), "objects": np.array([1, "a"], object),
         "default": collections.defaultdict(list, {1: [2, 3]}),
         "ordered": collections.OrderedDict(a=1), "set": {1, 2}, "frozen": frozenset({3}),
         "complex": 1 + 2j, "bytes": b"\x00\xff", "range": range(2, 5), "tuple": (1.5, None, True)}


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_restricted_unpickler_reads_plain_data_numpy_and_scipy(protocol):
    import scipy.sparse

    sparse = scipy.sparse.csr_matrix(np.array([[0.0, 1.5], [2.0, 0.0]]))
    data = pickle.dumps({**PLAIN, "sparse": sparse}, protocol=protocol)
    out = RestrictedUnpickler(io.BytesIO(data)).load()
    assert out["arrays"][0].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert out["arrays"][1].dtype == np.float32 and out["arrays"][1].shape == (2, 2)
    assert out["scalar"] == pytest.approx(2.5, abs=1e-12) and out["dtype"] == np.dtype("u1")
    assert out["objects"].tolist() == [1, "a"]
    assert out["default"][1] == [2, 3] and out["default"]["new"] == []  # still a defaultdict
    assert (out["ordered"], out["set"], out["frozen"]) == ({"a": 1}, {1, 2}, frozenset({3}))
    assert out["complex"] == pytest.approx(1 + 2j, abs=1e-12)
    assert (out["bytes"], out["range"]) == (b"\x00\xff", range(2, 5))
    assert out["tuple"][0] == pytest.approx(1.5, abs=1e-12) and out["tuple"][1:] == (None, True)
    assert isinstance(out["sparse"], scipy.sparse.csr_matrix)
    assert np.allclose(out["sparse"].toarray(), [[0.0, 1.5], [2.0, 0.0]], rtol=0, atol=1e-12)


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_restricted_unpickler_refuses_any_other_global(marker, protocol):
    data = pickle.dumps({"x": np.arange(3), "run": Payload(marker)}, protocol=protocol)
    with pytest.raises(pickle.UnpicklingError) as caught:
        RestrictedUnpickler(io.BytesIO(data)).load()
    assert not marker.exists()
    assert f"it refers to {os.mkdir.__module__}.mkdir" in str(caught.value)


def test_the_guard_restores_the_functions_it_replaces(marker):
    originals = (torch.load, torch.serialization.load, pickle.load, pickle.loads)
    with no_unpickling("Test", "hint"):
        assert torch.load is not originals[0] and pickle.load is not originals[2]
    assert (torch.load, torch.serialization.load, pickle.load, pickle.loads) == originals
    with pytest.raises(DataLoadError):
        with no_unpickling("Test", "hint"):
            pickle.loads(pickle.dumps(Payload(marker)))
    assert (torch.load, torch.serialization.load, pickle.load, pickle.loads) == originals
    assert not marker.exists()


def test_an_error_without_a_refusal_passes_through_unchanged():
    with pytest.raises(KeyError) as caught:
        with no_unpickling("Test", "hint"):
            raise KeyError("unrelated")
    assert caught.value.args == ("unrelated",)


def test_torch_load_is_weights_only_whatever_the_caller_asks(tmp_path, marker):
    tensors = {"w": torch.arange(4.0)}
    (tmp_path / "ok.pt").write_bytes(torch_bytes(tensors))
    (tmp_path / "bad.pt").write_bytes(torch_bytes(enticing(marker)))
    with no_unpickling("Test", "hint"):
        loaded = torch.load(tmp_path / "ok.pt", weights_only=False)
    assert torch.allclose(loaded["w"], torch.arange(4.0), rtol=0, atol=1e-12)
    with pytest.raises(DataLoadError) as caught:
        with no_unpickling("Test", "Get better files."):
            torch.load(tmp_path / "bad.pt", weights_only=False, pickle_module=pickle)
    assert not marker.exists()
    assert caught.value.message.startswith(
        f"Test: refused to load {tmp_path / 'bad.pt'} (it refers to fractions.Fraction)")
    assert caught.value.hint == "Get better files."


def test_numpy_load_with_allow_pickle_reads_plain_objects_and_refuses_code(tmp_path, marker):
    np.save(tmp_path / "plain.npy", np.array([1, "a", [2]], dtype=object), allow_pickle=True)
    np.save(tmp_path / "bad.npy", np.array([1, Payload(marker)], dtype=object), allow_pickle=True)
    with no_unpickling("Test", "hint"):
        plain = np.load(tmp_path / "plain.npy", allow_pickle=True)
    assert plain.tolist() == [1, "a", [2]]
    with pytest.raises(DataLoadError) as caught:
        with no_unpickling("Test", "hint"):
            np.load(tmp_path / "bad.npy", allow_pickle=True)
    assert not marker.exists()
    assert "bad.npy" in caught.value.message and "mkdir" in caught.value.message


def c_rejects(marker) -> bytes:
    """A pickle the C unpickler rejects (``F1_0`` is a ValueError there) and pandas' pure-Python
    fallback, which reads it as 10.0, would go on to run: pandas must not get to retry it."""
    payload = b"F1_0\n0cos\nmkdir\n(V" + str(marker).encode() + b"\ntR."
    with pytest.raises(ValueError):
        pickle.loads(payload)  # what pandas' read_pickle falls back on
    return payload


@pytest.mark.parametrize("payload, said", [(lambda m: pickle.dumps(Payload(m)), "mkdir"),
                                           (c_rejects, "not plain data: ValueError")])
def test_pandas_read_pickle_is_refused(tmp_path, marker, payload, said):
    pd = pytest.importorskip("pandas")
    (tmp_path / "frame.pkl").write_bytes(payload(marker))
    with pytest.raises(DataLoadError) as caught:
        with no_unpickling("Test", "hint"):
            pd.read_pickle(tmp_path / "frame.pkl")
    assert not marker.exists()
    assert said in caught.value.message


# -- the model cache (weights_only=True already) ----------------------------------------------

def test_a_planted_model_cache_entry_is_not_unpickled(tmp_path, marker):
    import hashlib

    cache = ModelCache(tmp_path / "cache")
    key = "ab" + "0" * 62
    weights, meta = cache._paths(key)
    weights.parent.mkdir(parents=True)
    blob = torch_bytes(enticing(marker))
    weights.write_bytes(blob)
    meta.write_text(json.dumps({"sha256": hashlib.sha256(blob).hexdigest()}), encoding="utf-8")
    model = torch.nn.Linear(2, 1)
    before = model.weight.detach().clone()
    assert cache.load(key, model) is None
    assert not marker.exists()
    assert cache.corrupted == [key] and not weights.exists() and not meta.exists()
    assert torch.allclose(model.weight.detach(), before, rtol=0, atol=1e-12)  # untouched


# -- PyTorch Geometric ------------------------------------------------------------------------

needs_pyg = pytest.mark.skipif(importlib.util.find_spec("torch_geometric") is None,
                               reason="needs torch_geometric")

#: a tiny TU-format collection: three graphs (a triangle, an edge, a path), labels 0, 1, 0
TU_EDGES = [(1, 2), (2, 1), (2, 3), (3, 2), (1, 3), (3, 1), (4, 5), (5, 4),
            (6, 7), (7, 6), (7, 8), (8, 7)]
TU_GRAPH = [1, 1, 1, 2, 2, 3, 3, 3]
TU_NODE_LABELS = [0, 1, 0, 1, 1, 0, 2, 0]
TU_LABELS = [0, 1, 0]


def write_tu(root: Path, name: str = "TOY") -> Path:
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    (raw / f"{name}_A.txt").write_text("".join(f"{a}, {b}\n" for a, b in TU_EDGES))
    (raw / f"{name}_graph_indicator.txt").write_text("".join(f"{g}\n" for g in TU_GRAPH))
    (raw / f"{name}_node_labels.txt").write_text("".join(f"{v}\n" for v in TU_NODE_LABELS))
    (raw / f"{name}_graph_labels.txt").write_text("".join(f"{v}\n" for v in TU_LABELS))
    return root


def tu_source(root: Path, **options) -> PyGDataSource:
    return PyGDataSource(dataset="TUDataset", options={"name": "TOY", **options}, root=str(root))


@pytest.fixture
def tu_root(tmp_path) -> Path:
    """A TU collection processed once by PyG: raw files plus processed/data.pt."""
    root = write_tu(tmp_path / "pyg")
    tu_source(root).load()
    assert (root / "TOY" / "processed" / "data.pt").is_file()
    return root


def check_tu(samples) -> None:
    assert samples.y.tolist() == TU_LABELS
    one_hot = torch.tensor([[float(i == v) for i in range(3)] for v in TU_NODE_LABELS])
    assert torch.allclose(samples.graph.features, one_hot, rtol=0, atol=1e-12)
    assert samples.graph.edge_index.shape == (2, len(TU_EDGES))


@needs_pyg
def test_a_processed_pyg_cache_still_loads(tu_root):
    check_tu(tu_source(tu_root).load())  # read back from processed/data.pt, weights only


@needs_pyg
@pytest.mark.parametrize("file", ["data.pt", "pre_transform.pt", "pre_filter.pt"])
def test_a_planted_pyg_processed_file_runs_its_payload_without_the_guard(tu_root, marker, file):
    from torch_geometric.datasets import TUDataset

    (tu_root / "TOY" / "processed" / file).write_bytes(torch_bytes(enticing(marker)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyG's own warnings about the file
        try:
            TUDataset(str(tu_root), "TOY")
        except Exception:  # the payload's value is no dataset; it ran all the same
            pass
    assert marker.is_dir()


@needs_pyg
@pytest.mark.parametrize("file", ["data.pt", "pre_transform.pt", "pre_filter.pt"])
def test_a_planted_pyg_processed_file_is_refused(tu_root, marker, file):
    planted = tu_root / "TOY" / "processed" / file
    planted.write_bytes(torch_bytes(enticing(marker)))
    with pytest.raises(DataLoadError) as caught:
        tu_source(tu_root).load()
    assert not marker.exists()
    assert caught.value.message.startswith(f"PyGDataSource: TUDataset: refused to load {planted} "
                                           "(it refers to fractions.Fraction)")
    assert "force_reload" in caught.value.hint
    # as the hint says: rebuilt from the raw files, the data is back
    check_tu(tu_source(tu_root, force_reload=True).load())
    assert not marker.exists()


def planetoid_raw(n_train: int = 4, n_all: int = 510, n_test: int = 10):
    """Planetoid's raw files as its authors pickled them: sparse features, one-hot labels, a
    defaultdict of neighbours (here a path through every node)."""
    import scipy.sparse

    n = n_all + n_test
    generator = np.random.default_rng(0)
    features = (generator.random((n, 3)) < 0.5).astype(np.float32)
    labels = np.arange(n) % 3
    one_hot = np.eye(3, dtype=np.int64)[labels]
    graph = collections.defaultdict(list)
    for i in range(n - 1):
        graph[i].append(i + 1)
        graph[i + 1].append(i)
    items = {"x": scipy.sparse.csr_matrix(features[:n_train]), "y": one_hot[:n_train],
             "allx": scipy.sparse.csr_matrix(features[:n_all]), "ally": one_hot[:n_all],
             "tx": scipy.sparse.csr_matrix(features[n_all:]), "ty": one_hot[n_all:],
             "graph": graph}
    return items, features, labels


def write_planetoid(root: Path, items: dict, n_all: int = 510, n_test: int = 10) -> Path:
    raw = root / "Cora" / "raw"
    raw.mkdir(parents=True)
    for name, value in items.items():
        (raw / f"ind.cora.{name}").write_bytes(pickle.dumps(value, protocol=2))
    (raw / "ind.cora.test.index").write_text("".join(f"{i}\n" for i in range(n_all, n_all + n_test)))
    return root


@needs_pyg
def test_planetoid_raw_pickles_load_as_plain_data(tmp_path):
    items, features, labels = planetoid_raw()
    root = write_planetoid(tmp_path / "pyg", items)
    source = PyGDataSource(dataset="Planetoid", options={"name": "Cora"}, root=str(root))
    for _ in range(2):  # built from the raw pickles, then read back from processed/data.pt
        samples = source.load()
        assert samples.y.tolist() == labels.tolist()
        assert torch.allclose(samples.graph.features, torch.from_numpy(features), rtol=0,
                              atol=1e-7)
        assert samples.graph.edge_index.shape == (2, 2 * (len(labels) - 1))
        split = [samples.group_values["split"][c] for c in samples.groups["split"].tolist()]
        assert split == ["train"] * 4 + ["val"] * 500 + ["unused"] * 6 + ["test"] * 10


@needs_pyg
def test_a_planted_planetoid_raw_file_runs_without_the_guard_and_is_refused_with_it(tmp_path,
                                                                                  marker):
    from torch_geometric.datasets import Planetoid

    items, _, _ = planetoid_raw()
    items["graph"] = {0: [1], "run": Payload(marker)}
    bare = write_planetoid(tmp_path / "bare", items)
    with pytest.raises(Exception):
        Planetoid(str(bare), "Cora")
    assert marker.is_dir()
    marker.rmdir()

    root = write_planetoid(tmp_path / "pyg", items)
    with pytest.raises(DataLoadError) as caught:
        PyGDataSource(dataset="Planetoid", options={"name": "Cora"}, root=str(root)).load()
    assert not marker.exists()
    assert f"ind.cora.graph (it refers to {os.mkdir.__module__}.mkdir)" in caught.value.message


# -- torchvision ------------------------------------------------------------------------------

CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def write_cifar(root: Path, per_batch: int = 2) -> tuple[np.ndarray, list[int]]:
    """A ``cifar-10-batches-py`` folder in CIFAR's own format (pickled dicts of uint8 rows of
    3×32×32 pixels), ``per_batch`` images a batch; returns every image (HWC) and label in the
    source's order (the five training batches, then the test batch)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    generator = np.random.default_rng(0)
    images, labels = [], []
    for i, name in enumerate(CIFAR_FILES):
        data = generator.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        batch_labels = [(i * per_batch + j) % 10 for j in range(per_batch)]
        batch = {"batch_label": f"batch {i}", "labels": batch_labels, "data": data,
                 "filenames": [f"{name}_{j}.png" for j in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels += batch_labels
    meta = {"label_names": [f"class {c}" for c in range(10)], "num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return np.concatenate(images), labels


@pytest.fixture
def no_md5(monkeypatch):
    """torchvision checks CIFAR's files against fixed md5 sums before unpickling them, which
    written files cannot match: the check is replaced by one that the file exists (as if a file
    matched the sum — md5 is broken — or a torchvision version skipped it)."""
    import torchvision.datasets.cifar as cifar

    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))


def test_cifar_batches_load_as_plain_data(tmp_path, no_md5):
    images, labels = write_cifar(tmp_path)
    samples = TorchVisionDataSource(dataset="CIFAR10", root=str(tmp_path)).load()
    expected = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    assert samples.x.shape == (12, 3, 32, 32)
    assert torch.allclose(samples.x, expected, rtol=0, atol=1e-7)
    assert samples.y.tolist() == labels
    assert samples.class_names == [f"class {c}" for c in range(10)]
    assert samples.groups["split"].tolist() == [0] * 10 + [1] * 2


@pytest.mark.parametrize("file", ["data_batch_3", "test_batch", "batches.meta"])
def test_a_planted_cifar_file_runs_without_the_guard_and_is_refused_with_it(tmp_path, marker,
                                                                          no_md5, file):
    from torchvision.datasets import CIFAR10

    write_cifar(tmp_path)
    planted = tmp_path / "cifar-10-batches-py" / file
    planted.write_bytes(pickle.dumps({"data": Payload(marker), "labels": []}, protocol=2))
    with pytest.raises(Exception):
        CIFAR10(str(tmp_path), train=file != "test_batch")
    assert marker.is_dir()
    marker.rmdir()

    with pytest.raises(DataLoadError) as caught:
        TorchVisionDataSource(dataset="CIFAR10", root=str(tmp_path)).load()
    assert not marker.exists()
    assert caught.value.message.startswith(
        f"TorchVisionDataSource: CIFAR10: refused to load {planted} "
        f"(it refers to {os.mkdir.__module__}.mkdir)")
    assert "original" in caught.value.hint


def test_a_planted_legacy_mnist_file_is_refused(tmp_path, marker):
    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    for name in ("training.pt", "test.pt"):
        (processed / name).write_bytes(torch_bytes(enticing(marker)))
    with pytest.raises(DataLoadError) as caught:
        TorchVisionDataSource(dataset="MNIST", root=str(tmp_path)).load()
    assert not marker.exists()
    assert (f"refused to load {processed / 'training.pt'} (it refers to fractions.Fraction)"
            in caught.value.message)


# -- Hugging Face datasets --------------------------------------------------------------------

def write_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def object_npy(obj) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, obj], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def webdataset(tmp_path: Path, entry: str, blob: bytes) -> HuggingFaceDataSource:
    """A folder holding one webdataset shard of two samples: a label and ``blob`` each."""
    folder = tmp_path / "repo"
    folder.mkdir()
    write_tar(folder / "train.tar", {f"{i}.{name}": data for i in range(2)
                                     for name, data in (("cls", str(i).encode()), (entry, blob))})
    return HuggingFaceDataSource(path=str(folder), label_column="cls",
                                 cache_dir=str(tmp_path / "cache"))


@pytest.mark.parametrize("entry", ["pth", "npy"])
def test_a_webdataset_tensor_or_numpy_entry_holding_a_pickle_is_refused(tmp_path, marker, entry):
    pytest.importorskip("datasets")
    blob = torch_bytes(enticing(marker)) if entry == "pth" else object_npy(Payload(marker))
    source = webdataset(tmp_path, entry, blob)
    with pytest.raises(DataLoadError) as caught:
        source.load()
    assert not marker.exists()
    assert caught.value.message.startswith(f"HuggingFaceDataSource {source.path!r}")
    if entry == "pth":
        assert "refused to load data in memory (it refers to fractions.Fraction)" \
            in caught.value.message
    else:  # datasets reads .npy entries with allow_pickle=False
        assert "cannot be loaded when allow_pickle=False" in caught.value.message


def test_a_webdataset_pickle_entry_stays_bytes(tmp_path, marker):
    pytest.importorskip("datasets")
    samples = webdataset(tmp_path, "pickle", pickle.dumps(Payload(marker))).load()
    assert not marker.exists()
    assert samples.y.tolist() == [0, 1]


def test_a_pickle_named_as_a_data_file_is_not_unpickled(tmp_path, marker):
    pytest.importorskip("datasets")
    for suffix in (".parquet", ".json", ".csv", ".arrow"):
        path = tmp_path / f"data{suffix}"
        path.write_bytes(pickle.dumps(Payload(marker)))
        folder = tmp_path / f"folder{suffix}"
        folder.mkdir()
        (folder / f"train{suffix}").write_bytes(pickle.dumps(Payload(marker)))
        for where in (path, folder):
            try:
                HuggingFaceDataSource(path=str(where), cache_dir=str(tmp_path / "cache")).load()
            except DataLoadError:
                pass
            assert not marker.exists(), where


# -- local files: no format they read can carry a pickle ---------------------------------------

def test_pickles_named_as_tables_images_or_a_uci_cache_are_not_unpickled(tmp_path, marker):
    pytest.importorskip("pandas")
    blob = pickle.dumps(Payload(marker))
    for suffix in (".csv", ".tsv", ".parquet"):
        (tmp_path / f"table{suffix}").write_bytes(blob)
        with pytest.raises(DataLoadError):
            TableDataSource(path=str(tmp_path / f"table{suffix}")).load()
    images = tmp_path / "images"
    images.mkdir()
    (images / "labels.csv").write_text("file,label\na.png,1\n")
    (images / "a.png").write_bytes(blob)
    with pytest.raises(DataLoadError) as caught:
        ImageFolderDataSource(folder=str(images)).load()
    assert "cannot read the image" in caught.value.message
    uci = tmp_path / "uci" / "7"
    uci.mkdir(parents=True)
    (uci / "data.csv").write_bytes(blob)
    (uci / "metadata.json").write_text(json.dumps({"features": ["a"], "targets": ["b"]}))
    with pytest.raises(DataLoadError):
        UCIDataSource(id=7, cache_dir=str(tmp_path / "uci")).load()
    assert not marker.exists()


# -- through the command line -----------------------------------------------------------------

def graph_config(root: Path) -> dict:
    return {
        "globals": {"seed": 0, "device": "cpu"},
        "data": {"class": "DatasetManager", "parameters": {
            "DataSource": {"class": "PyGDataSource", "parameters": {
                "dataset": "TUDataset", "options": {"name": "TOY"}, "root": str(root)}},
            "partitions": [
                {"class": "PercentageSplit",
                 "parameters": {"parts_names": ["train", "test"], "percentage": 0.67}},
                {"class": "PercentageSplit", "parameters": {
                    "parts_names": ["forget", "retain"], "percentage": 0.5, "ref_data": "train"}},
            ]}},
        "predictor": {"class": "Predictor", "parameters": {
            "model": {"class": "GCN", "parameters": {"hidden": [4]}},
            "optimizer": {"class": "Adam", "parameters": {"lr": 0.01}},
            "epochs": 1, "batch_size": 2}},
        "unlearners": [{"class": "Identity"}],
        "evaluator": {"class": "Evaluator", "parameters": {"measures": [
            {"class": "Accuracy", "parameters": {"partition": "test"}}]}},
    }


def cifar_config(root: Path) -> dict:
    from tests.helpers import digits_config

    config = digits_config(epochs=1, model={"class": "MLP", "parameters": {"hidden": [4]}})
    config["data"]["parameters"]["DataSource"] = {
        "class": "TorchVisionDataSource", "parameters": {"dataset": "CIFAR10", "root": str(root)}}
    return config


@pytest.mark.parametrize("dataset", [pytest.param("pyg", marks=needs_pyg), "cifar"])
def test_the_cli_exits_2_without_a_traceback_and_runs_nothing(tmp_path, marker, capsys,
                                                              no_md5, dataset):
    if dataset == "pyg":
        root = write_tu(tmp_path / "pyg")
        tu_source(root).load()
        planted = root / "TOY" / "processed" / "data.pt"
        planted.write_bytes(torch_bytes(enticing(marker)))
        config = graph_config(root)
    else:
        write_cifar(tmp_path / "cifar")
        planted = tmp_path / "cifar" / "cifar-10-batches-py" / "data_batch_1"
        planted.write_bytes(pickle.dumps(Payload(marker), protocol=2))
        config = cifar_config(tmp_path / "cifar")
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    out = tmp_path / "results"
    status = main([str(path), "--output", str(out), "--quiet",
                   "--cache-dir", str(tmp_path / "models")])
    err = capsys.readouterr().err
    assert status == 2
    assert not marker.exists()
    assert "Traceback" not in err
    assert "data.parameters.DataSource: " in err and f"refused to load {planted}" in err
    assert not out.exists()
