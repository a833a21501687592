"""The one exception type for problems with a configuration."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config, with its place in the config.

    Args:
        path: where in the config, e.g. ``unlearners[3].parameters.epoch``.
        message: what is wrong.
        hint: a did-you-mean and/or the accepted names (optional).
    """

    path: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text}\n    {self.hint}" if self.hint else text


@dataclass
class ConfigError(Exception):
    """Every problem found in a config, reported together.

    The CLI prints it and exits with status 2; nothing has been trained or written by then.
    """

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __reduce__(self) -> tuple:
        # rebuilt from its problems (not from its message) when it crosses a process boundary:
        # a Ray task's config error reaches the driver whole
        return type(self), (list(self.problems),)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the config:"
        return "\n".join([head] + [f"  - {p}" for p in self.problems])

    @classmethod
    def single(cls, path: str, message: str, hint: str = "") -> "ConfigError":
        return cls([Problem(path, message, hint)])


def suggest(name: str, accepted: Iterable[str], what: str = "names") -> str:
    """A did-you-mean (when a close name exists) followed by the accepted names."""
    accepted = sorted({str(a) for a in accepted})  # a broken config may hold other types
    name = str(name)
    same_but_case = [a for a in accepted if a.lower() == name.lower() and a != name]
    close = same_but_case or difflib.get_close_matches(name, accepted, n=1, cutoff=0.6)
    parts = []
    if close:
        parts.append(f"Did you mean '{close[0]}'?")
    if accepted:
        parts.append(f"Accepted {what}: {', '.join(accepted)}.")
    return " ".join(parts)


def join_path(base: str, *parts: str | int) -> str:
    """Builds a config path: ``join_path('unlearners', 3, 'parameters')`` → ``unlearners[3].parameters``."""
    out = base
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def problems_of(errors: Sequence[ConfigError]) -> list[Problem]:
    return [p for e in errors for p in e.problems]
