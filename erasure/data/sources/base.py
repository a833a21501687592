"""The data-source interface: one method that returns every sample as tensors."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from erasure.config import Component


@dataclass
class Samples:
    """Every sample of a dataset, held once.

    Attributes:
        x: features, shape ``(n, *input_shape)``, float.
        y: integer class labels, shape ``(n,)``.
        groups: optional per-sample attributes (a person's id, a movie…), each shape ``(n,)``,
            for splitters that forget by group.
        class_names: a name per class label, when the source knows them.
    """

    x: torch.Tensor
    y: torch.Tensor
    groups: dict[str, torch.Tensor] = field(default_factory=dict)
    class_names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"{self.x.shape[0]} samples but {self.y.shape[0]} labels")
        self.x = self.x.float()
        self.y = self.y.long()


class DataSource(Component):
    """Where the samples come from. Subclass it and implement :meth:`load`.

    Example::

        @dataclass(kw_only=True)
        class MyCsv(DataSource):
            path: str
            label_column: str = "label"

            def load(self) -> Samples:
                table = numpy.genfromtxt(self.path, delimiter=",", names=True)
                ...
                return Samples(x=torch.tensor(features), y=torch.tensor(labels))
    """

    kind_name = "data source"
    abstract = True

    def load(self) -> Samples:
        raise NotImplementedError
