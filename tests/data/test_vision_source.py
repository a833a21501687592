"""TorchVisionDataSource: torchvision datasets by class name, offline.

FakeData needs no files; MNIST is read by torchvision's real MNIST class from raw IDX files that
the tests write (scikit-learn's digits, upscaled to 28×28).
"""
from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import erasure.data.sources.vision  # noqa: F401  (registers the source)
from erasure import prepare, run
from erasure.config import ConfigError, Slot, load_config
from erasure.config.build import Builder
from erasure.data.manager import DatasetManager
from erasure.data.sources.base import DataLoadError, DataSource
from erasure.data.sources.vision import TorchVisionDataSource, _whole_arrays
from tests.helpers import digits_config

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "data" / "mnist.jsonc"
N_TRAIN = 1500  # the first 1,500 digits are MNIST's "train" split, the other 297 its "test"
SOURCE = "data.parameters.DataSource"


# -- MNIST files written by the test ---------------------------------------------------------------

def digits_28() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as uint8 28×28 images (24×24 upscaled, padded by 2 like MNIST)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = torch.tensor(bunch.data, dtype=torch.float32).reshape(-1, 1, 8, 8) * (255 / 16)
    big = torch.nn.functional.interpolate(small, size=(24, 24), mode="bilinear",
                                          align_corners=False)
    big = torch.nn.functional.pad(big, (2, 2, 2, 2))
    images = big.round().clamp(0, 255).to(torch.uint8)[:, 0]
    return images, torch.tensor(bunch.target, dtype=torch.uint8)


def write_idx(path: Path, array: torch.Tensor) -> None:
    """The raw IDX format: magic (0, 0, type 0x08 = unsigned byte, number of dimensions), each
    dimension as a big-endian uint32, then the bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.dim())
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    path.write_bytes(header + array.contiguous().numpy().tobytes())


def write_mnist(root: Path, images: torch.Tensor, labels: torch.Tensor, name: str = "MNIST") -> Path:
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    for prefix, part in (("train", slice(0, N_TRAIN)), ("t10k", slice(N_TRAIN, None))):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images[part])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[part])
    return root


@pytest.fixture(scope="module")
def digits():
    return digits_28()


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory, digits):
    return write_mnist(tmp_path_factory.mktemp("torchvision"), *digits)


@pytest.fixture(scope="module")
def mnist(mnist_root):
    return TorchVisionDataSource(dataset="MNIST", root=str(mnist_root)).load()


def test_written_files_are_read_by_torchvisions_mnist(mnist_root, digits):
    from torchvision.datasets import MNIST

    images, labels = digits
    train = MNIST(str(mnist_root), train=True)
    test = MNIST(str(mnist_root), train=False)
    assert torch.equal(train.data, images[:N_TRAIN]) and torch.equal(test.data, images[N_TRAIN:])
    assert torch.equal(train.targets, labels[:N_TRAIN].long())
    assert len(test) == 1797 - N_TRAIN


def test_mnist_values_match_what_was_written(mnist, digits):
    images, labels = digits
    assert mnist.x.shape == (1797, 1, 28, 28) and mnist.x.dtype == torch.float32
    assert mnist.y.shape == (1797,) and mnist.y.dtype == torch.int64
    assert mnist.x.min().item() == 0.0 and mnist.x.max().item() <= 1.0
    assert torch.equal((mnist.x[:, 0] * 255).round().to(torch.uint8), images)
    assert torch.equal(mnist.y, labels.long())
    assert mnist.class_names[:2] == ["0 - zero", "1 - one"] and len(mnist.class_names) == 10


def test_split_group_records_where_each_sample_came_from(mnist):
    assert mnist.group_values == {"split": ["train", "test"]}
    assert mnist.groups["split"].dtype == torch.int64
    assert mnist.groups["split"].tolist() == [0] * N_TRAIN + [1] * (1797 - N_TRAIN)


def test_splits_in_the_order_given_and_a_single_split(mnist_root, mnist):
    reversed_ = TorchVisionDataSource(dataset="MNIST", root=str(mnist_root),
                                      splits=["test", "train"]).load()
    assert reversed_.group_values == {"split": ["test", "train"]}
    assert reversed_.groups["split"].tolist() == [0] * (1797 - N_TRAIN) + [1] * N_TRAIN
    assert torch.equal(reversed_.x[:1797 - N_TRAIN], mnist.x[N_TRAIN:])
    assert torch.equal(reversed_.y[1797 - N_TRAIN:], mnist.y[:N_TRAIN])
    test = TorchVisionDataSource(dataset="MNIST", root=str(mnist_root), splits=["test"]).load()
    assert test.x.shape == (1797 - N_TRAIN, 1, 28, 28)
    assert test.groups["split"].tolist() == [0] * (1797 - N_TRAIN)
    assert test.group_values == {"split": ["test"]}


def test_fast_path_equals_reading_every_sample(mnist_root, mnist):
    """A transform forces the per-sample path (PIL image → tensor); it must give the same data."""
    source = build_source({"dataset": "MNIST", "root": str(mnist_root), "transforms": [
        {"class": "torchvision.transforms.PILToTensor"}]})
    slow = source.load()
    assert torch.equal(slow.x, mnist.x) and torch.equal(slow.y, mnist.y)
    assert torch.equal(slow.groups["split"], mnist.groups["split"])


def test_other_mnist_like_classes_read_their_own_folder(tmp_path, digits):
    root = write_mnist(tmp_path, *digits, name="FashionMNIST")
    samples = TorchVisionDataSource(dataset="FashionMNIST", root=str(root)).load()
    assert torch.equal((samples.x[:, 0] * 255).round().to(torch.uint8), digits[0])
    assert samples.class_names[0] == "T-shirt/top"
    with pytest.raises(DataLoadError, match="MNIST split 'train' could not be loaded"):
        TorchVisionDataSource(dataset="MNIST", root=str(root)).load()


# -- errors --------------------------------------------------------------------------------------

def test_missing_files_name_the_class_the_folder_and_how_to_provide_them(tmp_path):
    root = tmp_path / "empty"
    with pytest.raises(DataLoadError) as e:
        TorchVisionDataSource(dataset="MNIST", root=str(root)).load()
    assert "TorchVisionDataSource: MNIST" in e.value.message
    assert str(root) in e.value.message
    assert '"download": true' in e.value.hint
    assert str(root / "MNIST" / "raw") in e.value.hint
    assert "train-images-idx3-ubyte" in e.value.hint


def test_missing_files_of_another_class_and_with_download_on(tmp_path):
    with pytest.raises(DataLoadError) as e:
        TorchVisionDataSource(dataset="CIFAR10", root=str(tmp_path)).load()
    assert "CIFAR10" in e.value.message and str(tmp_path) in e.value.message
    assert '"download": true' in e.value.hint and str(tmp_path) in e.value.hint


def test_missing_files_become_a_config_error_at_the_source(tmp_path):
    manager = DatasetManager(DataSource=TorchVisionDataSource(dataset="KMNIST", root=str(tmp_path)))
    with pytest.raises(ConfigError) as e:
        manager.load(seed=0)
    [problem] = e.value.problems
    assert problem.path == SOURCE
    assert "KMNIST" in problem.message and str(tmp_path) in problem.message
    assert "download" in problem.hint


def test_a_split_value_the_class_rejects_is_a_load_error(tmp_path):
    source = TorchVisionDataSource(dataset="SVHN", root=str(tmp_path), splits=["valid"])
    with pytest.raises(DataLoadError, match="SVHN split 'valid'") as e:
        source.load()
    assert "'splits'" in e.value.hint


def test_an_option_value_the_class_rejects_is_a_load_error():
    source = TorchVisionDataSource(dataset="FakeData", options={"image_size": "big"})
    with pytest.raises(DataLoadError, match="FakeData: reading sample 0 failed: TypeError") as e:
        source.load()
    assert "\n" not in e.value.message and "'options'" in e.value.hint


@pytest.mark.parametrize("name, close", [("mnist", "MNIST"), ("CIFAR11", "CIFAR10"),
                                         ("FashionMnist", "FashionMNIST")])
def test_unknown_dataset_names_close_ones(name, close):
    with pytest.raises(ValueError, match=f"unknown torchvision dataset '{name}'") as e:
        TorchVisionDataSource(dataset=name)
    assert f"Did you mean '{close}'?" in str(e.value)
    assert "SVHN" in str(e.value)  # the accepted names are listed


@pytest.mark.parametrize("parameters, message", [
    ({"dataset": "FakeData", "splits": ["train"]}, "FakeData has no train/test splits"),
    ({"dataset": "MNIST", "splits": ["validation"]}, "splits 'train' and 'test', not 'validation'"),
    ({"dataset": "MNIST", "splits": []}, "at least one split"),
    ({"dataset": "MNIST", "splits": ["train", "train"]}, "names a split twice"),
    ({"dataset": "FakeData", "options": {"sise": 10}}, "no argument 'sise'. Did you mean 'size'"),
    ({"dataset": "MNIST", "options": {"train": False}},
     "'train' of MNIST is set by the source; use the source's parameter 'splits'"),
    ({"dataset": "SVHN", "options": {"split": "extra"}}, "use the source's parameter 'splits'"),
    ({"dataset": "MNIST", "options": {"transform": None}}, "parameter 'transforms'"),
    ({"dataset": "EMNIST"}, "EMNIST needs 'split': give it in 'options'"),
    ({"dataset": "FakeData", "download": True}, "FakeData cannot download"),
])
def test_constructor_rejects_bad_parameters(parameters, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        TorchVisionDataSource(**parameters)


def test_split_arguments_follow_the_class_signature():
    assert TorchVisionDataSource(dataset="MNIST")._split_argument == "train"
    assert TorchVisionDataSource(dataset="SVHN")._split_argument == "split"
    # EMNIST's own "split" is the subset; its train/test comes through **kwargs from MNIST
    emnist = TorchVisionDataSource(dataset="EMNIST", options={"split": "digits"})
    assert emnist._split_argument == "train" and emnist.splits == ["train", "test"]
    assert TorchVisionDataSource(dataset="FakeData")._split_argument is None


# -- FakeData and transforms -----------------------------------------------------------------------

def fake(**options) -> dict:
    return {"dataset": "FakeData",
            "options": {"size": 30, "image_size": [3, 10, 12], "num_classes": 4, **options}}


def build_source(parameters: dict) -> TorchVisionDataSource:
    """The source as the config builder makes it (transforms built from their components)."""
    builder = Builder()
    source, _ = builder.component({"class": "TorchVisionDataSource", "parameters": parameters},
                                  Slot(DataSource, lazy=False), SOURCE)
    builder.raise_if_problems()
    return source


def test_fakedata_images_and_labels():
    from torchvision.datasets import FakeData
    from torchvision.transforms.functional import pil_to_tensor

    samples = TorchVisionDataSource(**fake()).load()
    assert samples.x.shape == (30, 3, 10, 12) and samples.x.dtype == torch.float32
    assert 0.0 <= samples.x.min().item() and samples.x.max().item() <= 1.0
    assert samples.y.dtype == torch.int64 and set(samples.y.tolist()) <= {0, 1, 2, 3}
    assert samples.groups == {} and samples.group_values == {} and samples.class_names is None
    reference = FakeData(size=30, image_size=(3, 10, 12), num_classes=4)
    for i in (0, 17, 29):
        image, label = reference[i]
        assert torch.equal(samples.x[i], pil_to_tensor(image).float() / 255)
        assert samples.y[i].item() == label


def test_transforms_from_the_config_run_in_order():
    source = build_source({**fake(), "transforms": [
        {"class": "torchvision.transforms.Grayscale"},
        {"class": "torchvision.transforms.Resize", "parameters": {"size": [8, 8]}},
        {"class": "torchvision.transforms.ToTensor"},
        {"class": "torchvision.transforms.v2.Normalize", "parameters": {"mean": [0.5], "std": [0.5]}},
    ]})
    samples = source.load()
    assert samples.x.shape == (30, 1, 8, 8) and samples.x.dtype == torch.float32
    assert samples.x.min().item() < 0  # Normalize's output is kept as it is
    plain = build_source({**fake(), "transforms": [
        {"class": "torchvision.transforms.Grayscale"},
        {"class": "torchvision.transforms.Resize", "parameters": {"size": [8, 8]}}]}).load()
    assert torch.allclose(samples.x, (plain.x - 0.5) / 0.5, atol=1e-6)  # PIL result scaled to [0, 1]


def test_v2_transforms_to_uint8_images_are_scaled():
    samples = build_source({**fake(), "transforms": [
        {"class": "torchvision.transforms.v2.ToImage"},
        {"class": "torchvision.transforms.v2.CenterCrop", "parameters": {"size": 6}}]}).load()
    direct = TorchVisionDataSource(**fake()).load()
    assert samples.x.shape == (30, 3, 6, 6)
    assert torch.equal(samples.x, direct.x[:, :, 2:8, 3:9])


def test_random_transforms_are_deterministic_and_leave_global_random_state_alone():
    parameters = {**fake(), "transforms": [
        {"class": "torchvision.transforms.RandomCrop", "parameters": {"size": 6}},
        {"class": "torchvision.transforms.RandomHorizontalFlip"}]}
    torch_state, python_state = torch.get_rng_state(), random.getstate()
    first = build_source(parameters).load()
    assert torch.equal(torch.get_rng_state(), torch_state) and random.getstate() == python_state
    torch.manual_seed(123)
    random.seed(123)
    second = build_source(parameters).load()
    assert torch.equal(first.x, second.x) and first.x.shape == (30, 3, 6, 6)


def test_images_of_different_sizes_need_a_resize():
    class Ragged(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return Image.new("L", (4 + i, 4)), i

    source = TorchVisionDataSource(**fake())
    with pytest.raises(DataLoadError, match=r"different shapes \(sample 0: \(1, 4, 4\), sample 1") as e:
        source._iterate(Ragged(), None)
    assert "Resize" in e.value.hint


def transform_problems(transform: dict) -> list:
    config = digits_config()
    config["data"]["parameters"]["DataSource"] = {
        "class": "TorchVisionDataSource", "parameters": {**fake(), "transforms": [transform]}}
    with pytest.raises(ConfigError) as e:
        prepare(config)
    return e.value.problems


def test_a_misspelt_transform_is_a_config_error_with_a_suggestion():
    [problem] = transform_problems({"class": "torchvision.transforms.Rezise",
                                    "parameters": {"size": 8}})
    assert problem.path == f"{SOURCE}.parameters.transforms[0].class"
    assert "no attribute 'Rezise'" in problem.message and "Did you mean 'Resize'?" in problem.hint


def test_a_short_transform_name_must_be_a_dotted_path():
    [problem] = transform_problems({"class": "Resize", "parameters": {"size": 8}})
    assert problem.path == f"{SOURCE}.parameters.transforms[0].class"
    assert "unknown transform 'Resize'" in problem.message
    assert "dotted path" in problem.hint


def test_a_network_or_loss_is_not_a_transform():
    [problem] = transform_problems({"class": "MLP"})
    assert "needs a transform" in problem.message
    [problem] = transform_problems({"class": "torch.nn.CrossEntropyLoss"})
    assert "needs a transform" in problem.message


def test_a_bad_transform_parameter_is_a_config_error():
    problems = transform_problems({"class": "torchvision.transforms.Resize",
                                   "parameters": {"sise": 8}})
    assert {p.path for p in problems} == {f"{SOURCE}.parameters.transforms[0].parameters.sise",
                                          f"{SOURCE}.parameters.transforms[0].parameters.size"}
    # the transform's own constructor rejects the value, naming it: reported at the parameter
    [problem] = transform_problems({"class": "torchvision.transforms.RandomRotation",
                                    "parameters": {"degrees": -5}})
    assert problem.path == f"{SOURCE}.parameters.transforms[0].parameters.degrees"
    assert "RandomRotation" in problem.message and "positive" in problem.message


def test_an_unknown_dataset_is_a_config_error_before_loading():
    config = digits_config()
    config["data"]["parameters"]["DataSource"] = {
        "class": "TorchVisionDataSource", "parameters": {"dataset": "CIFAR-10"}}
    with pytest.raises(ConfigError) as e:
        prepare(config)
    [problem] = e.value.problems
    assert problem.path == f"{SOURCE}.parameters.dataset"  # the message names the parameter
    assert "unknown torchvision dataset 'CIFAR-10'" in problem.message
    assert "Did you mean 'CIFAR10'?" in problem.message


# -- the array fast path ---------------------------------------------------------------------------

class ArrayDataset(torch.utils.data.Dataset):
    """Like CIFAR (``channels_last``: data n×H×W×C, list targets) or SVHN (n×C×H×W, labels)."""

    def __init__(self, channels_last: bool, lie: bool = False) -> None:
        rng = np.random.default_rng(0)
        shape = (5, 6, 7, 3) if channels_last else (5, 3, 6, 7)
        self.data = rng.integers(0, 256, size=shape, dtype=np.uint8)
        self.channels_last, self.lie = channels_last, lie
        if channels_last:
            self.targets = [0, 1, 2, 1, 0]
        else:
            self.labels = np.array([0, 1, 2, 1, 0])

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        image = self.data[i] if self.channels_last else np.transpose(self.data[i], (1, 2, 0))
        if self.lie:
            image = 255 - image  # __getitem__ is not what the array says
        label = self.targets[i] if self.channels_last else int(self.labels[i])
        return Image.fromarray(image), label


@pytest.mark.parametrize("channels_last", [True, False])
def test_fast_path_reads_both_channel_layouts(channels_last):
    dataset = ArrayDataset(channels_last)
    x, y = _whole_arrays(dataset)
    assert x.shape == (5, 3, 6, 7) and x.is_contiguous() and y.tolist() == [0, 1, 2, 1, 0]
    for i in range(5):
        image = torch.from_numpy(np.array(dataset[i][0])).permute(2, 0, 1).float() / 255
        assert torch.equal(x[i], image)


def test_fast_path_falls_back_when_getitem_disagrees():
    assert _whole_arrays(ArrayDataset(True, lie=True)) is None
    source = TorchVisionDataSource(**fake())
    x, _ = source._iterate(ArrayDataset(True, lie=True), None)
    truth = _whole_arrays(ArrayDataset(True))[0]
    assert torch.equal((x * 255).round(), 255 - (truth * 255).round())


# -- the whole pipeline ----------------------------------------------------------------------------

def test_mnist_config_runs_end_to_end(mnist_root, tmp_path):
    config = load_config(CONFIG)
    source = config["data"]["parameters"]["DataSource"]["parameters"]
    assert source["dataset"] == "MNIST" and source["download"] is True
    source.update(root=str(mnist_root), download=False)
    config["globals"]["device"] = "cpu"
    config["predictor"]["parameters"]["epochs"] = 4
    plan = prepare(config, config_file=CONFIG)
    results = run(plan, output=tmp_path / "out")
    doc = json.loads(results.read_text(encoding="utf-8"))
    assert doc["status"] == "finished"
    records = {r["name"]: r for r in doc["records"]}
    assert set(records) == {"Identity", "GoldModel", "Finetuning"}
    for record in records.values():
        assert record["status"] == "finished", (record["name"], record["error"])
        metrics = record["metrics"]
        for part in ("forget", "retain", "test"):
            assert 0.0 <= metrics[f"accuracy.{part}.unlearned"] <= 1.0
        assert "umia.forget.unlearned" in metrics
    gold = records["GoldModel"]["metrics"]
    assert gold["accuracy.test.unlearned"] > 0.8 and gold["accuracy.forget.unlearned"] > 0.8
    assert records["Identity"]["metrics"]["accuracy.retain.unlearned"] > 0.9
