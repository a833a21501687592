"""torchvision's datasets (MNIST, FashionMNIST, CIFAR10/100, SVHN, FakeData, …) as one tensor.

Any class of ``torchvision.datasets`` is named by its class name. Its train and test splits are
loaded and concatenated; the split each sample came from is the group ``"split"``, so a splitter
that partitions by group can rebuild the dataset's own train/test division. Transforms are
components (``{"class": "torchvision.transforms.Resize", "parameters": {"size": 32}}``), built and
checked with the rest of the config — never strings to evaluate.
"""
from __future__ import annotations

import inspect
import os
from abc import ABCMeta
from typing import Annotated, Any

import torch

from erasure.config import Slot
from erasure.config.errors import suggest
from erasure.seeding import seeded_value

from .base import DataLoadError, DataSource, Samples
from .unpickling import no_unpickling

#: Where datasets are looked for and downloaded to unless the config says otherwise.
DEFAULT_ROOT = "~/.cache/erasure/torchvision"
#: Split names of classes that take ``train: bool``.
_TRAIN_FLAG = {"train": True, "test": False}
#: Constructor arguments the source sets itself (plus the class's split argument).
_OWN_ARGUMENTS = ("root", "download", "transform", "target_transform", "transforms")
#: The source's parameter that sets each of those arguments.
_OWN_PARAMETER = {"root": "root", "download": "download", "transform": "transforms",
                  "train": "splits", "split": "splits"}
#: Seed of the random transforms (RandomCrop…), applied once when the data is loaded.
_TRANSFORM_SEED = 0


class Transform(metaclass=ABCMeta):
    """What a transform slot accepts: any class whose instances are callable (torchvision's
    transforms v1 and v2, or your own), named by dotted path. Not a base to subclass."""

    kind_name = "transform"

    @classmethod
    def __subclasshook__(cls, other: type) -> Any:
        if cls is not Transform:
            return NotImplemented
        module = getattr(other, "__module__", "") or ""
        if module.startswith(("erasure.", "torch.nn.modules.loss")):
            return False  # networks, losses and the framework's components are not transforms
        return any("__call__" in vars(base) for base in other.__mro__ if base is not object)


#: One transform of the config, built when the config is validated.
TransformSlot = Annotated[Any, Slot(Transform, lazy=False)]


class TorchVisionDataSource(DataSource):
    """A dataset of ``torchvision.datasets``, loaded whole into one float tensor.

    Args:
        dataset: the class name in ``torchvision.datasets``: ``MNIST``, ``FashionMNIST``,
            ``KMNIST``, ``CIFAR10``, ``CIFAR100``, ``SVHN``, ``STL10``, ``FakeData``,
            ``ImageFolder``…
        root: the folder the class reads its files from (and downloads to); ``~`` is expanded.
        download: let torchvision download the files when they are not in ``root`` (needs
            network access).
        splits: the splits to load and concatenate, in this order. For classes with a
            ``train`` flag (MNIST, CIFAR…) the names are ``train`` and ``test``; for classes with
            a ``split`` argument (SVHN, STL10…) any value the class accepts (``extra``…). Default
            ``["train", "test"]``; classes without splits (FakeData, ImageFolder) take none.
            Sample ``i`` came from split ``group_values["split"][groups["split"][i]]``.
        transforms: transforms applied to each image, in order, each a component named by dotted
            path, e.g. ``{"class": "torchvision.transforms.Resize", "parameters": {"size": 32}}``.
            Random transforms are applied once, at load time, from a fixed seed.
        options: other constructor arguments of the class, e.g. ``{"size": 500, "image_size":
            [1, 28, 28]}`` for FakeData or ``{"split": "balanced"}`` for EMNIST.

    Images become float tensors ``(n, channels, height, width)``: PIL images and integer tensors
    are scaled to [0, 1]; float tensors (after ``ToTensor`` or ``Normalize``) are kept as they
    are. Labels come from the dataset, class names from its ``classes`` when it has them.

    Never unpickles: tensor files load weights-only, CIFAR batches as plain data, or are refused.
    """

    dataset: str
    root: str = DEFAULT_ROOT
    download: bool = False
    splits: list[str] | None = None
    transforms: list[TransformSlot] = ()
    options: dict | None = None

    def __post_init__(self) -> None:
        self._class = _dataset_class(self.dataset)
        accepted, required = _arguments(self._class)
        self._split_argument = ("train" if "train" in accepted
                                else "split" if "split" in accepted else None)
        if self._split_argument is None:
            if self.splits is not None:
                raise ValueError(f"{self.dataset} has no train/test splits; leave out 'splits'")
        else:
            if self.splits is None:
                self.splits = ["train", "test"]
            if not self.splits:
                raise ValueError("'splits' must name at least one split")
            if len(set(self.splits)) != len(self.splits):
                raise ValueError(f"'splits' names a split twice: {self.splits}")
            if self._split_argument == "train":
                for name in self.splits:
                    if name not in _TRAIN_FLAG:
                        raise ValueError(f"{self.dataset} has the splits 'train' and 'test', "
                                         f"not '{name}'")
        if self.download and "download" not in accepted:
            raise ValueError(f"{self.dataset} cannot download; set 'download' to false")
        options = self.options or {}
        reserved = {*_OWN_ARGUMENTS, *([self._split_argument] if self._split_argument else [])}
        for name in options:
            if name in reserved:
                own = _OWN_PARAMETER.get(name, "")
                raise ValueError(f"options: '{name}' of {self.dataset} is set by the source"
                                 + (f"; use the source's parameter '{own}'" if own else ""))
            if name not in accepted:
                raise ValueError(f"options: {self.dataset} has no argument '{name}'. "
                                 + suggest(name, set(accepted) - reserved, "arguments"))
        missing = [n for n in required if n not in reserved and n not in options]
        if missing:
            raise ValueError(f"{self.dataset} needs {', '.join(repr(n) for n in missing)}: "
                             "give it in 'options'")
        self._accepted = accepted

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> Samples:
        with no_unpickling(self._name(), f"Replace the files in {self._root()} with the "
                                         "dataset's original ones (set \"download\": true to "
                                         "download them again)."):
            return self._load()

    def _load(self) -> Samples:
        splits = self.splits if self._split_argument else [None]
        parts = [self._load_split(split) for split in splits]
        shapes = {tuple(p[0].shape[1:]) for p in parts}
        if len(shapes) > 1:
            raise DataLoadError(f"{self._name()}: the splits have images of different shapes "
                                f"{sorted(shapes)}",
                                "Add a transform such as torchvision.transforms.Resize.")
        x = torch.cat([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        y = torch.cat([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        groups, group_values = {}, {}
        if self._split_argument:
            sizes = torch.tensor([len(p[1]) for p in parts])
            groups["split"] = torch.repeat_interleave(torch.arange(len(parts)), sizes)
            group_values["split"] = list(self.splits)
        return Samples(x=x, y=y, groups=groups, group_values=group_values,
                       class_names=parts[0][2])

    def _name(self, split: str | None = None) -> str:
        where = f" split '{split}'" if split is not None else ""
        return f"TorchVisionDataSource: {self.dataset}{where}"

    def _load_split(self, split: str | None) -> tuple[torch.Tensor, torch.Tensor, list[str] | None]:
        dataset = self._open(split)
        n = len(dataset)
        if n == 0:
            raise DataLoadError(f"{self._name(split)} has no samples (root {self._root()})")
        names = getattr(dataset, "classes", None)
        class_names = [str(c) for c in names] if isinstance(names, (list, tuple)) and names else None
        with seeded_value(_TRANSFORM_SEED):
            fast = None if self.transforms else _whole_arrays(dataset)
            x, y = fast if fast is not None else self._iterate(dataset, split)
        if y.dim() != 1 or (len(y) and int(y.min()) < 0):
            raise DataLoadError(f"{self._name(split)} has samples without a class label "
                                f"(labels from {int(y.min())} to {int(y.max())})",
                                "Choose a split whose samples are labelled.")
        return x, y, class_names

    def _root(self) -> str:
        return os.path.expanduser(self.root)

    def _open(self, split: str | None) -> Any:
        kwargs: dict[str, Any] = dict(self.options or {})
        if "root" in self._accepted:
            kwargs["root"] = self._root()
        if "download" in self._accepted:
            kwargs["download"] = self.download
        if self._split_argument == "train":
            kwargs["train"] = _TRAIN_FLAG[split]
        elif self._split_argument == "split":
            kwargs["split"] = split
        if self.transforms:
            kwargs["transform"] = _Chain(list(self.transforms))
        try:
            return self._class(**kwargs)
        except Exception as e:  # torchvision raises RuntimeError, ValueError, OSError…
            raise self._open_error(split, e) from e

    def _open_error(self, split: str | None, error: Exception) -> DataLoadError:
        looked = f" (looked in {self._root()})" if "root" in self._accepted else ""
        message = f"{self._name(split)} could not be loaded{looked}: {_first_line(error)}"
        if isinstance(error, ValueError) and "split" in str(error).lower():
            return DataLoadError(message, "Set 'splits' to values the class accepts.")
        if isinstance(error, (TypeError, ValueError)):
            return DataLoadError(message, f"Check 'options' against the arguments of "
                                          f"torchvision.datasets.{self.dataset}.")
        if "download" not in self._accepted:
            return DataLoadError(message)
        files = _expected_files(self._class, self._root())
        place = (f"place {files}" if files else f"place the files of torchvision's "
                 f"{self.dataset} in {self._root()}, in the folder layout torchvision expects")
        if not self.download:
            hint = (f"Set \"download\": true in the source's parameters on a machine with network "
                    f"access, or {place}.")
        else:
            hint = f"Downloading needs network access; or {place} and set \"download\": false."
        return DataLoadError(message, hint)

    def _iterate(self, dataset: Any, split: str | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Every sample through ``__getitem__`` (and the transforms), into one preallocated
        tensor."""
        n = len(dataset)
        x: torch.Tensor | None = None
        y = torch.empty(n, dtype=torch.long)
        for i in range(n):
            try:
                image, target = dataset[i]
            except Exception as e:
                raise DataLoadError(f"{self._name(split)}: reading sample {i} failed: "
                                    f"{_first_line(e)}",
                                    "Check the source's 'transforms' and 'options'.") from e
            try:
                image = _image_tensor(image)
            except TypeError as e:
                raise DataLoadError(f"{self._name(split)}: {e}",
                                    "End the transforms with one that returns an image or a "
                                    "tensor.") from e
            if x is None:
                x = torch.empty((n, *image.shape), dtype=torch.float32)
            elif image.shape != x.shape[1:]:
                raise DataLoadError(
                    f"{self._name(split)}: images have different shapes (sample 0: "
                    f"{tuple(x.shape[1:])}, sample {i}: {tuple(image.shape)})",
                    "Add transforms that give every image one size, e.g. "
                    "torchvision.transforms.Resize and torchvision.transforms.CenterCrop.")
            x[i] = image
            y[i] = _label(target, self._name(split))
        assert x is not None
        return x, y


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class _Chain:
    """The config's transforms applied in order (``Compose`` without the v1/v2 distinction)."""

    def __init__(self, transforms: list) -> None:
        self.transforms = transforms

    def __call__(self, image: Any) -> Any:
        for transform in self.transforms:
            image = transform(image)
        return image


def _dataset_class(name: str) -> type:
    """The ``torchvision.datasets`` class called ``name``, or ValueError listing close names."""
    from torch.utils.data import Dataset
    from torchvision import datasets

    known = {n: c for n, c in vars(datasets).items()
             if inspect.isclass(c) and issubclass(c, Dataset) and not n.startswith("_")
             and n != "VisionDataset"}
    if name in known:
        return known[name]
    same = [n for n in known if n.lower() == str(name).lower()]
    hint = (f"Did you mean '{same[0]}'? " + suggest("", known, "datasets") if same
            else suggest(str(name), known, "datasets"))
    raise ValueError(f"unknown torchvision dataset '{name}'. {hint}")


def _expected_files(cls: type, root: str) -> str:
    """For the MNIST family (raw IDX files), where the files go; empty for other classes."""
    from torchvision import datasets

    if getattr(cls, "_check_exists", None) is not datasets.MNIST._check_exists:
        return ""
    names = [os.path.splitext(os.path.basename(url))[0] for url, _ in cls.resources]
    return f"{', '.join(names)} in {os.path.join(root, cls.__name__, 'raw')}"


def _arguments(cls: type) -> tuple[set[str], list[str]]:
    """The named constructor arguments of ``cls``, following ``**kwargs`` up the class chain
    (EMNIST passes them to MNIST), and the required ones."""
    accepted: set[str] = set()
    required: list[str] = []
    for level, klass in enumerate(c for c in cls.__mro__ if "__init__" in vars(c)):
        try:
            parameters = inspect.signature(klass.__init__).parameters
        except (TypeError, ValueError):
            break
        named = [p for n, p in parameters.items() if n != "self"
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        accepted.update(p.name for p in named)
        if level == 0:
            required = [p.name for p in named if p.default is inspect.Parameter.empty]
        if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            break
    return accepted, required


def _whole_arrays(dataset: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Fast path: the dataset's ``data`` array and ``targets``/``labels``, converted at once.

    Used only when the result equals what ``__getitem__`` gives for the first and last samples,
    so a layout this function misreads falls back to iterating.
    """
    import numpy as np

    data = getattr(dataset, "data", None)
    targets = getattr(dataset, "targets", getattr(dataset, "labels", None))
    if data is None or targets is None:
        return None
    try:
        data = torch.from_numpy(np.ascontiguousarray(data)) if isinstance(data, np.ndarray) else data
        targets = torch.as_tensor(np.asarray(targets))
    except (TypeError, ValueError):
        return None
    n = len(dataset)
    if not isinstance(data, torch.Tensor) or data.dtype != torch.uint8 or len(data) != n \
            or targets.shape != (n,) or targets.is_floating_point():
        return None
    if data.dim() == 3:
        images = data.unsqueeze(1)
    elif data.dim() == 4 and data.shape[-1] in (1, 3, 4) and data.shape[1] not in (1, 3, 4):
        images = data.permute(0, 3, 1, 2)  # HWC (CIFAR)
    elif data.dim() == 4 and data.shape[1] in (1, 3, 4):
        images = data  # CHW (SVHN, STL10)
    else:
        return None
    for i in {0, n - 1}:
        image, target = dataset[i]
        try:
            expected = _image_tensor(image)
        except TypeError:
            return None
        try:
            same_label = int(target) == int(targets[i])
        except (TypeError, ValueError, RuntimeError):
            return None
        if not same_label or expected.shape != images.shape[1:] \
                or not torch.equal(expected, images[i].float() / 255):
            return None
    return images.contiguous().float().div_(255), targets.long()


def _image_tensor(image: Any) -> torch.Tensor:
    """One image as a float ``(channels, height, width)`` tensor, integers scaled to [0, 1]."""
    import numpy as np
    from PIL import Image
    from torchvision.transforms.v2 import functional as F

    if isinstance(image, Image.Image):
        tensor = F.pil_to_tensor(image)
    elif isinstance(image, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(image))
        if tensor.dim() == 3:
            tensor = tensor.permute(2, 0, 1)  # numpy images are height × width × channels
    elif isinstance(image, torch.Tensor):
        tensor = image.as_subclass(torch.Tensor)
    else:
        raise TypeError(f"a transform or the dataset returned {type(image).__name__}, not an image")
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 3:
        raise TypeError(f"an image has shape {tuple(tensor.shape)}, expected (channels, height, width)")
    if tensor.dtype == torch.bool or tensor.is_floating_point():
        return tensor.float()
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255)  # exactly as the fast path divides
    return F.to_dtype(tensor, torch.float32, scale=True)


def _label(target: Any, name: str) -> int:
    try:
        return int(target)
    except (TypeError, ValueError, RuntimeError):
        raise DataLoadError(f"{name}: a sample's target is {type(target).__name__} "
                            f"{target!r}, not a class label",
                            "Choose options that give one class label per sample.") from None
