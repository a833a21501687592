"""The base of the membership attacks: can an attacker tell the forget set from unseen data?"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, ClassVar

import numpy as np
import torch

from erasure.config import PartitionName

from .base import Measure, MeasureContext, Outputs, Targets, as_list, balanced_pick


@dataclass(frozen=True)
class Draw:
    """Members (positions in ``partition``) and as many non-members (positions in ``reference``),
    drawn once per measure and shared by its targets."""

    partition: str
    reference: str
    members: torch.Tensor
    others: torch.Tensor

    @property
    def picks(self) -> tuple[tuple[str, torch.Tensor], tuple[str, torch.Tensor]]:
        """``(partition, positions)``: the members first, then the non-members."""
        return (self.partition, self.members), (self.reference, self.others)

    @property
    def labels(self) -> np.ndarray:
        """1 for each member, then 0 for each non-member."""
        return np.r_[np.ones(len(self.members)), np.zeros(len(self.others))]

    def gather(self, outputs: Callable[[str], Outputs],
               statistic: Callable[[Outputs], torch.Tensor]) -> torch.Tensor:
        """``statistic`` (one value per sample) of the drawn samples, in :attr:`labels` order,
        on the CPU; ``outputs(partition)`` gives one model's outputs."""
        return torch.cat([statistic(outputs(p)).cpu()[pick] for p, pick in self.picks])

    def losses(self, outputs: Callable[[str], Outputs]) -> torch.Tensor:
        """The drawn samples' cross-entropy losses (see :meth:`gather`)."""
        return self.gather(outputs, lambda out: out.losses)


def draw(ctx: MeasureContext, partition: str, reference: str, attack: str,
         at_least: int = 1) -> Draw:
    """``min(|partition|, |reference|)`` members and as many non-members, from ``ctx.generator``.

    Raises:
        ValueError: fewer than ``at_least`` samples in either partition (``attack`` names the
            attack in the message).
    """
    members, others = len(ctx.data[partition]), len(ctx.data[reference])
    if min(members, others) < at_least:
        need = "samples" if at_least == 1 else f"at least {at_least} samples"
        raise ValueError(f"{attack} needs {need} in '{partition}' and '{reference}', "
                         f"got {members} and {others}")
    return Draw(partition, reference, *balanced_pick(members, others, ctx.generator))


class MembershipMeasure(Measure):
    """Base of the membership attacks (loss attack, U-MIA, LiRA, MIA-Efficacy): members are the
    forget set's samples, non-members unseen ones. Subclass it, add your own parameters and
    implement :meth:`~erasure.measures.Measure.measure` with :meth:`draw` and :meth:`report`.

    Args:
        partition: the forget partition (members).
        reference: the unseen partition (non-members).
        target: ``original``, ``unlearned`` or both.
    """

    abstract = True
    #: the attack's name in error messages ("LiRA needs samples in …")
    attack_name: ClassVar[str] = "the attack"

    partition: PartitionName = "forget"
    reference: PartitionName = "test"
    target: Targets = ("original", "unlearned")

    def draw(self, ctx: MeasureContext, at_least: int = 1) -> Draw:
        """This measure's members and non-members (see :func:`draw`)."""
        return draw(ctx, self.partition, self.reference, self.attack_name, at_least)

    def report(self, ctx: MeasureContext, key: str,
               score: Callable[[str], float]) -> dict[str, float]:
        """``<name>.<partition>.<target>`` → ``score(target)`` for each target; the original's
        score is computed once per experiment under ``key`` (``ctx.memo``)."""
        return {f"{self.name}.{self.partition}.{target}":
                ctx.memo(key, partial(score, target), model=target)
                for target in as_list(self.target)}
