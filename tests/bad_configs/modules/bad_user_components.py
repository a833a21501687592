"""A user's own module that the bad configs name by dotted path (``bad_user_components.X``),
importable through ``"globals": {"paths": ["modules"]}``.

It imports cleanly; each name is wrong in its own way for the slot a bad config puts it in.
"""
from __future__ import annotations

from dataclasses import dataclass

from erasure.data import Splitter
from erasure.unlearners import Unlearner

#: not a class: a config naming it as one must be told so
DEFAULTS = {"epochs": 3}


def make_unlearner():
    """A factory function, not a class."""


class PlainThing:
    """A class that is no component of any kind."""


@dataclass(kw_only=True)
class EmptyFirstSplit(Splitter):
    """A user's splitter that writes an empty first part (a forget set with nothing in it)."""

    def split(self, index, samples, generator):
        return [index[:0], index]


@dataclass(kw_only=True)
class KeepAll(Unlearner):
    """A valid unlearner (used beside other faults)."""

    def unlearn(self, model, ctx):
        return model

