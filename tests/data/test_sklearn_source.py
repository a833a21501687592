"""SklearnDataSource: scikit-learn's bundled datasets, offline, as float features and long labels."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from erasure.config import ConfigError
from erasure.data import SklearnDataSource
from erasure.data.sources.sklearn import read_bundled
from erasure.plan import prepare
from tests.helpers import digits_config


@pytest.fixture(scope="module")
def digits():
    return SklearnDataSource(name="digits").load()


def test_digits_flat_scaled_into_unit_interval(digits):
    assert digits.x.shape == (1797, 64)
    assert digits.x.dtype == torch.float32
    assert digits.y.shape == (1797,) and digits.y.dtype == torch.int64
    assert digits.x.min().item() == 0.0 and digits.x.max().item() == 1.0
    # scaled by the known pixel range 0..16: every value is a multiple of 1/16
    assert torch.equal(digits.x * 16, torch.round(digits.x * 16))
    assert torch.bincount(digits.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert digits.class_names == [str(i) for i in range(10)]
    assert digits.groups == {}


def test_digits_image_shape(digits):
    image = SklearnDataSource(name="digits", shape="image").load()
    assert image.x.shape == (1797, 1, 8, 8)
    assert torch.equal(image.x.reshape(1797, 64), digits.x)
    assert torch.equal(image.y, digits.y)


@pytest.mark.parametrize("name", ["digits", "iris", "wine", "breast_cancer"])
def test_read_from_the_data_files_exactly_as_scikit_learn_loads_them(name):
    """Read without importing scikit-learn, yet equal to its loader: data, target, names."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    data, target, names = read_bundled(name)
    assert data.dtype == bunch.data.dtype and np.array_equal(data, bunch.data)
    assert target.dtype == bunch.target.dtype and np.array_equal(target, bunch.target)
    assert names == [str(n) for n in bunch.target_names]
    samples = SklearnDataSource(name=name).load()
    scale = 16 if name == "digits" else 1
    assert torch.equal(samples.x, torch.tensor(bunch.data, dtype=torch.float32) / scale)
    assert torch.equal(samples.y, torch.tensor(bunch.target))


def test_a_data_file_not_where_expected_is_loaded_by_scikit_learn(monkeypatch):
    from erasure.data.sources import sklearn as source

    expected = read_bundled("wine")
    monkeypatch.setitem(source._FILES, "wine", "no-such-file.csv")
    data, target, names = read_bundled("wine")
    assert np.array_equal(data, expected[0]) and np.array_equal(target, expected[1])
    assert names == expected[2]


@pytest.mark.parametrize("name, n, features, counts, names", [
    ("iris", 150, 4, [50, 50, 50], ["setosa", "versicolor", "virginica"]),
    ("wine", 178, 13, [59, 71, 48], ["class_0", "class_1", "class_2"]),
    ("breast_cancer", 569, 30, [212, 357], ["malignant", "benign"]),
])
def test_other_datasets_sizes_and_classes(name, n, features, counts, names):
    samples = SklearnDataSource(name=name).load()
    assert samples.x.shape == (n, features)
    assert samples.x.dtype == torch.float32 and samples.y.dtype == torch.int64
    assert torch.bincount(samples.y).tolist() == counts
    assert samples.class_names == names


def test_other_datasets_are_returned_raw():
    iris = SklearnDataSource(name="iris").load()
    assert iris.x.max().item() == pytest.approx(7.9)  # sepal length in cm, not scaled
    assert iris.x[0].tolist() == pytest.approx([5.1, 3.5, 1.4, 0.2])


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_image_shape_needs_digits(name):
    with pytest.raises(ValueError, match=f"shape 'image' needs the digits dataset, not '{name}'"):
        SklearnDataSource(name=name, shape="image")


def test_defaults_are_flat_digits():
    source = SklearnDataSource()
    assert (source.name, source.shape) == ("digits", "flat")


def test_config_with_an_unknown_dataset_or_image_wine_fails_before_loading():
    config = digits_config()
    config["data"]["parameters"]["DataSource"]["parameters"] = {"name": "mnist"}
    with pytest.raises(ConfigError) as e:
        prepare(config)
    assert any(p.path.startswith("data.parameters.DataSource.parameters.name")
               for p in e.value.problems), e.value
    config["data"]["parameters"]["DataSource"]["parameters"] = {"name": "wine", "shape": "image"}
    with pytest.raises(ConfigError, match="shape 'image' needs the digits dataset"):
        prepare(config)


def test_digits_images_upscaled_bilinear(digits):
    """``size`` upscales the 8×8 digits once at load (the original ERASURE's 28×28 example)."""
    big = SklearnDataSource(name="digits", shape="image", size=28).load()
    assert big.x.shape == (1797, 1, 28, 28) and big.x.dtype == torch.float32
    assert torch.equal(big.y, digits.y)
    expected = torch.nn.functional.interpolate(digits.x.reshape(-1, 1, 8, 8), size=(28, 28),
                                               mode="bilinear", align_corners=False)
    assert torch.equal(big.x, expected)
    # bilinear weights are convex: the pixel range stays [0, 1] and every image's mean is kept
    assert big.x.min().item() >= 0.0 and big.x.max().item() <= 1.0
    assert torch.allclose(big.x.mean((1, 2, 3)), digits.x.mean(1), atol=0.02)
    same = SklearnDataSource(name="digits", shape="image", size=8).load()
    assert torch.equal(same.x, digits.x.reshape(-1, 1, 8, 8))


def test_size_needs_images_and_a_positive_size():
    with pytest.raises(ValueError, match="size upscales images"):
        SklearnDataSource(name="digits", size=28)
    with pytest.raises(ValueError, match="at least 1"):
        SklearnDataSource(name="digits", shape="image", size=0)
    config = digits_config(image=True)
    config["data"]["parameters"]["DataSource"]["parameters"]["size"] = 28
    plan = prepare(config)
    assert plan.resolved["data"]["parameters"]["DataSource"]["parameters"]["size"] == 28
