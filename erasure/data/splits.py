"""Splitters: each reads named partitions and writes new ones, as sorted index sets.

A chain of splitters in ``data.parameters.partitions`` builds every partition the experiment
names, starting from ``"all"`` (every sample). The usual chain is all → train/test, then
train → forget/retain. Splits that promise it are disjoint and complete: the two parts together
are exactly the partition read, and neither is empty.
"""
from __future__ import annotations

from typing import Optional, Union

import torch

from erasure.config import Component, Count, Fraction, PartitionName, PartitionNames
from erasure.config.errors import suggest

from .sources.base import Samples


class Splitter(Component):
    """Base of splitters. Subclass it and implement :meth:`split`.

    Args:
        parts_names: the names of the partitions written (two for a split).
        ref_data: the partition read (default: every sample).

    Example (forget every sample whose first feature exceeds a threshold)::

        class ThresholdSplit(Splitter):
            threshold: float = 0.5

            def split(self, index, samples, generator):
                above = samples.x[index, 0] > self.threshold
                return [index[above], index[~above]]
    """

    kind_name = "splitter"
    abstract = True

    parts_names: list[str]
    ref_data: PartitionName = "all"
    #: how many names ``parts_names`` must hold
    n_parts = 2

    def __post_init__(self) -> None:
        if len(self.parts_names) != self.n_parts:
            raise ValueError(f"parts_names must hold {self.n_parts} names, got {self.parts_names}")
        if len(set(self.parts_names)) != len(self.parts_names):
            raise ValueError(f"parts_names must differ, got {self.parts_names}")

    def reads(self) -> list[str]:
        return [self.ref_data] if isinstance(self.ref_data, str) else list(self.ref_data)

    def split(self, index: torch.Tensor, samples: Samples,
              generator: torch.Generator) -> list[torch.Tensor]:
        """Divides ``index`` (the sorted sample ids of ``ref_data``) into ``parts_names``.

        Args:
            index: sample ids of the partition read.
            samples: all samples (for splits by label or attribute).
            generator: this splitter's own seeded stream.

        Returns:
            One index tensor per name in ``parts_names``.
        """
        raise NotImplementedError

    def redraw(self, index: torch.Tensor, samples: Samples,
               generator: torch.Generator) -> list[torch.Tensor]:
        """Another split drawn the same way from ``index`` (which leaves out what the first
        split's forget part took): the stand-in forget set of tuning's ``held_out`` protocol
        (:mod:`erasure.tuning`). By default :meth:`split` again, with another stream."""
        return self.split(index, samples, generator)

    def _ordered(self, index: torch.Tensor, shuffle: bool, generator: torch.Generator) -> torch.Tensor:
        if not shuffle:
            return index
        return index[torch.randperm(len(index), generator=generator)]

    def _cut(self, index: torch.Tensor, first: int) -> list[torch.Tensor]:
        n = len(index)
        if not 0 < first < n:
            empty = self.parts_names[0] if first <= 0 else self.parts_names[1]
            sizes = f"into {first} and {n - first}" if first <= n else f"by taking {first} of them"
            raise ValueError(f"splitting '{self.ref_data}' ({n} samples) {sizes} leaves a "
                             f"partition empty: '{empty}' would have no sample")
        return [index[:first], index[first:]]


class PercentageSplit(Splitter):
    """The first part gets ``percentage`` of the samples (rounded), the second the rest.

    Args:
        percentage: fraction for the first part, in (0, 1).
        shuffle: draw the samples at random (seeded from ``globals.seed``); otherwise take them
            in dataset order.
    """

    percentage: Fraction
    shuffle: bool = True

    def split(self, index, samples, generator):
        return self._cut(self._ordered(index, self.shuffle, generator),
                         round(self.percentage * len(index)))


class CountSplit(Splitter):
    """The first part gets ``count`` samples, the second the rest."""

    count: Count
    shuffle: bool = True

    def split(self, index, samples, generator):
        return self._cut(self._ordered(index, self.shuffle, generator), self.count)


class IdsSplit(Splitter):
    """The first part is the samples with the given ids (positions in the dataset); the second is
    the rest of ``ref_data``. Every id must belong to ``ref_data``."""

    ids: list[int]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.ids:
            raise ValueError("ids is empty")

    def split(self, index, samples, generator):
        wanted = torch.tensor(sorted(set(self.ids)), dtype=torch.long)
        inside = torch.isin(wanted, index)
        if not inside.all():
            missing = wanted[~inside][:10].tolist()
            raise ValueError(f"ids {missing} are not in partition '{self.ref_data}'")
        chosen = torch.isin(index, wanted)
        if chosen.all():
            raise ValueError(f"the ids are every sample of '{self.ref_data}': "
                             f"'{self.parts_names[1]}' would be empty")
        return [index[chosen], index[~chosen]]


class ClassSplit(Splitter):
    """The first part is every sample whose label is in ``classes``; the second is the rest."""

    classes: Union[int, list[int]]

    def split(self, index, samples, generator):
        wanted = torch.tensor([self.classes] if isinstance(self.classes, int) else self.classes)
        chosen = torch.isin(samples.y[index], wanted)
        if not chosen.any():
            present = sorted(set(samples.y[index].tolist()))
            raise ValueError(f"no sample of class {self.classes} in partition '{self.ref_data}' "
                             f"(its classes: {present})")
        if chosen.all():
            raise ValueError(f"every sample of '{self.ref_data}' has class {self.classes}: "
                             f"'{self.parts_names[1]}' would be empty")
        return [index[chosen], index[~chosen]]

    def redraw(self, index, samples, generator):
        """As many other classes, drawn at random among those in ``index``."""
        count = 1 if isinstance(self.classes, int) else len(self.classes)
        present = torch.unique(samples.y[index].cpu())
        if len(present) <= count:
            raise ValueError(f"only {len(present)} classes are left to draw {count} from")
        drawn = present[torch.randperm(len(present), generator=generator)[:count]]
        chosen = torch.isin(samples.y[index].cpu(), drawn)
        return [index[chosen], index[~chosen]]


class StratifiedSplit(PercentageSplit):
    """Like :class:`PercentageSplit`, but takes ``percentage`` of each class separately, so both
    parts keep the class proportions."""

    def split(self, index, samples, generator):
        index = self._ordered(index, self.shuffle, generator)
        labels = samples.y[index]
        first, second = [], []
        for label in torch.unique(labels):
            members = index[labels == label]
            k = round(self.percentage * len(members))
            first.append(members[:k])
            second.append(members[k:])
        parts = [torch.cat(first), torch.cat(second)]
        if min(len(p) for p in parts) == 0:
            raise ValueError(f"stratified split of '{self.ref_data}' leaves a partition empty")
        return parts


class ConcatSplit(Splitter):
    """Writes one partition: the union of the partitions listed in ``ref_data``."""

    ref_data: PartitionNames = ("all",)
    n_parts = 1

    def split(self, index, samples, generator):
        return [index]


class GroupSplit(Splitter):
    """The first part is every sample whose group attribute is one of ``values`` (or inside
    ``range``); the second is the rest. "Forget all data of user 17" is
    ``{"group": "user", "values": [17]}``.

    The group attributes are carried by the data source beside the samples (a table's
    ``group_columns``, the ``split`` a torchvision or Hugging Face sample came from, a graph's
    community…).

    Args:
        group: the attribute's name.
        values: the group values to take: integers as they are in the data, or the names of a
            text attribute (``"alice"``).
        range: ``[low, high]``, both included: every numeric group value in it.

    Exactly one of ``values`` and ``range`` is given. Asking for a group or value that does not
    exist in the partition read is an error, never an empty forget set.
    """

    group: str
    values: list[Union[int, str]] = ()
    range: Optional[list[float]] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if bool(self.values) == (self.range is not None):
            raise ValueError("give exactly one of 'values' (a list of group values) and "
                             "'range' ([low, high])")
        if self.range is not None and (len(self.range) != 2 or self.range[0] > self.range[1]):
            raise ValueError(f"range must be [low, high] with low <= high, got {self.range}")

    def split(self, index, samples, generator):
        if self.group not in samples.groups:
            raise ValueError(f"the data has no group '{self.group}'. "
                             f"{suggest(self.group, samples.groups, 'groups') or 'It has no groups.'}")
        codes = samples.groups[self.group][index]
        names = samples.group_values.get(self.group)
        present = torch.unique(codes)
        shown = [names[c] if names else c for c in present.tolist()]
        if self.range is not None:
            try:
                numeric = [float(v) for v in names] if names else None
            except (TypeError, ValueError):
                raise ValueError(f"range needs numeric values of {self.group}, but its values are "
                                 f"names ({_preview(shown)}): give them in 'values'") from None
            values = torch.tensor(numeric, dtype=torch.float64)[codes] if names else codes.double()
            chosen = (values >= self.range[0]) & (values <= self.range[1])
            if not chosen.any():
                raise ValueError(f"no sample of '{self.ref_data}' has {self.group} in "
                                 f"{self.range} (its values: {_preview(shown)})")
        else:
            wanted = []
            for value in self.values:
                code = (names.index(value) if value in names else None) if names else \
                    (value if isinstance(value, int) else None)
                if code is None or not bool((present == code).any()):
                    raise ValueError(f"{self.group} {value!r} does not exist in partition "
                                     f"'{self.ref_data}' (its values: {_preview(shown)})")
                wanted.append(code)
            chosen = torch.isin(codes, torch.tensor(wanted, dtype=codes.dtype))
        if chosen.all():
            raise ValueError(f"every sample of '{self.ref_data}' is in the chosen {self.group} "
                             f"groups: '{self.parts_names[1]}' would be empty")
        return [index[chosen], index[~chosen]]


def _preview(values: list, limit: int = 10) -> str:
    head = ", ".join(repr(v) for v in values[:limit])
    return head + (f", … ({len(values)} in all)" if len(values) > limit else "")
