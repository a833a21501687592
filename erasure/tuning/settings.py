"""An unlearner's ``"tune"`` block, checked before any work: budget, search space, objective,
protocol and validation data (what tuning does with it: :mod:`erasure.tuning.study`)."""
from __future__ import annotations

import dataclasses
import importlib.util
import re
import typing
from pathlib import Path
from typing import Any, Literal, Optional, Union

from erasure.config import Builder, Count, Distribution, Fraction, Positive, Slot, copy_config
from erasure.config import space as spaces
from erasure.config.errors import suggest
from erasure.measures import Evaluator
from erasure.unlearners import Unlearner

#: the study file in the run folder (unless ``tune.storage`` names another)
STUDY_FILE = "tuning.db"
#: trials when a tune block names no budget
DEFAULT_TRIALS = 20
#: the default objective: SalUn's Avg. Gap to the gold model, computed by tuning itself
AVG_GAP = "avg_gap"
DIRECTIONS = ("minimize", "maximize")


@dataclasses.dataclass(kw_only=True)
class Tuning:
    """An unlearner entry's ``"tune"`` block (``"tune": true`` takes every default).

    Args:
        trials: trials to run (default 20 when no ``timeout`` is given either).
        timeout: seconds this process may spend on the study (stops after the trial running
            then); with ``trials``, whichever comes first.
        space: parameter path → range, replacing the method's default ``search_space``:
            ``{"optimizer.parameters.lr": {"low": 1e-4, "high": 0.1, "log": true},
            "epochs": {"low": 1, "high": 20}}`` (an int parameter draws ints),
            ``{"labels": {"choices": ["expected", "true"]}}``.
        objective: ``"avg_gap"`` (default): the mean absolute gap to the gold model of forget,
            retain and held-out accuracy and of the MIA-Efficacy attack score (SalUn's "Avg.
            Gap"), computed on the tuning's own data. Or a key of a configured measure
            (``"tow.forget.unlearned"``), optimised in the measure's direction, or
            ``{"key": ..., "direction": "minimize" | "maximize"}``.
        protocol: ``"held_out"`` (default): tune on another forget set drawn the way the
            evaluated one was, against its own gold model, then run once with the chosen knobs
            on the evaluated forget set. ``"oracle"``: tune on the evaluated forget set against
            its gold model (what papers do; the record says which ran).
        validation: the held-out data of tuning: a fraction of the training data (outside the
            forget set) set aside before the tuning's original is trained, or the name of a
            partition outside the training data. The evaluated test data is never read.
        prune: stop trials early whose per-epoch gap is worse than the median of earlier
            trials at the same epoch (Optuna's median pruner; the default objective only).
        storage: the SQLite file of the study (default ``tuning.db`` in the run folder),
            relative to the config file: runs naming one file share their studies.
        parallel: trials drawn at once (default 1): each batch is drawn from the trials told
            before it, then run — on the ray executor as that many Ray tasks at the same time,
            locally one after another. The values drawn depend on ``parallel``, never on the
            executor: the same config gives the same study either way. More parallel trials
            finish sooner on a cluster, and TPE learns from fewer trials per draw.
    """

    trials: Optional[Count] = None
    timeout: Optional[Positive] = None
    space: Optional[dict] = None
    objective: Union[str, dict] = AVG_GAP
    protocol: Literal["held_out", "oracle"] = "held_out"
    validation: Union[Fraction, str] = 0.1
    prune: bool = True
    storage: Optional[str] = None
    parallel: Count = 1


@dataclasses.dataclass
class TuningPlan:
    """A checked tune block of one unlearner entry: what :func:`erasure.tuning.study.tune`
    runs."""

    trials: Optional[int]
    timeout: Optional[float]
    space: dict[str, Distribution]
    objective: str
    direction: str
    protocol: str
    validation: Union[float, str]
    prune: bool
    storage: Optional[str]
    #: the unlearner's resolved config, into which a trial's values are set
    base: dict
    #: the entry's place in the config (``unlearners[3]``)
    where: str
    #: trials drawn and run at once
    parallel: int = 1

    def describe(self) -> dict[str, Any]:
        """What the record's ``tuning`` block says of the setting."""
        return {"protocol": self.protocol, "objective": self.objective,
                "direction": self.direction, "budget": {"trials": self.trials,
                                                        "timeout": self.timeout,
                                                        "parallel": self.parallel},
                "validation": self.validation,
                "space": {path: d.as_config() for path, d in self.space.items()}}


def with_values(config: dict, values: dict[str, Any]) -> dict:
    """A copy of a resolved component config with each ``path`` (relative to its parameters)
    set to its value.

    Raises:
        ValueError: a path crosses something that is not a component or a list of them.
    """
    out = copy_config(config)
    for path, value in values.items():
        node: Any = out.setdefault("parameters", {})
        segments = path.split(".")
        for j, segment in enumerate(segments):
            name, index = _segment(segment)
            last = j == len(segments) - 1
            if last and index is None:
                node[name] = copy_config(value)
                break
            if not isinstance(node, dict) or name not in node:
                where = ".".join(segments[:j]) or "the parameters"
                raise ValueError(f"'{path}': {where} has no '{name}'")
            node = node[name]
            if index is not None:
                if not isinstance(node, list) or not 0 <= index < len(node):
                    raise ValueError(f"'{path}': '{name}' has no item {index}")
                if last:
                    node[index] = copy_config(value)
                    break
                node = node[index]
    return out


_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


def _segment(segment: str) -> tuple[str, int | None]:
    match = _SEGMENT.match(segment)
    if not match:
        raise ValueError(f"'{segment}' is not a parameter name (or name[index])")
    return match.group(1), None if match.group(2) is None else int(match.group(2))


def _int_field(cls: type, path: str) -> bool:
    """Whether the top-level parameter ``path`` names is an integer field of ``cls``."""
    if "." in path or "[" in path:
        return False
    fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
    if path not in fields:
        return False
    hint = typing.get_type_hints(cls).get(path)
    args = [a for a in typing.get_args(hint) if a is not type(None)] \
        if typing.get_origin(hint) is Union else [hint]
    return len(args) == 1 and args[0] is int


def check(builder: Builder, raw: Any, unlearner: Unlearner, resolved: dict, where: str,
          evaluator: Any, switch: Optional[bool], config_file: Optional[Path]
          ) -> Optional[TuningPlan]:
    """The checked tune block of one entry (problems recorded in ``builder`` at
    ``<where>.tune…``), or None when this entry is not tuned.

    Args:
        raw: the entry's ``"tune"`` value (None when absent).
        unlearner, resolved: the built entry and its resolved config.
        evaluator: the built evaluator (for objectives naming a measure's key).
        switch: ``globals.tune`` (``--tune``/``--no-tune``): True tunes every entry that has
            something to tune, False none, None each as its block says.
    """
    path = f"{where}.tune"
    if raw is None and switch:
        if not _default_space(unlearner):
            return None  # --tune: entries with nothing to tune run as they are
        raw = {}
    if raw is True:
        raw = {}
    if raw is None or raw is False:
        return None
    if not isinstance(raw, dict):
        builder.fail(path, "'tune' is true, false or an object such as "
                           '{"trials": 20}, not ' + type(raw).__name__)
        return None
    before = len(builder.problems)
    kwargs, _ = builder.parameters(Tuning, raw, path)
    if len(builder.problems) > before:
        return None
    block = Tuning(**kwargs)
    if importlib.util.find_spec("optuna") is None:
        builder.fail(path, "tuning needs Optuna, which is not installed",
                     "Install it with: pip install 'erasure[tune]'")
    if isinstance(block.validation, str):
        builder.partition_refs.append((f"{path}.validation", block.validation))
    space = _space(builder, block, unlearner, resolved, path)
    objective, direction = _objective(builder, block.objective, evaluator, f"{path}.objective")
    if len(builder.problems) > before or switch is False:
        return None
    trials = block.trials if block.trials is not None or block.timeout is not None \
        else DEFAULT_TRIALS
    storage = None
    if block.storage is not None:
        from erasure.plan import config_path  # noqa: PLC0415 (plan imports this module)

        storage = str(config_path(config_file, block.storage).resolve())
    return TuningPlan(trials, block.timeout, space, objective, direction, block.protocol,
                      block.validation, block.prune, storage, resolved, where, block.parallel)


def _default_space(unlearner: Unlearner) -> dict[str, Distribution]:
    return dict(getattr(unlearner, "search_space", {}) or {})


def _space(builder: Builder, block: Tuning, unlearner: Unlearner, resolved: dict,
           path: str) -> dict[str, Distribution]:
    name = type(unlearner).__name__
    if block.space is None:
        space = _default_space(unlearner)
        if not space:
            builder.fail(path, f"{name} has nothing to tune: it declares no search space",
                         'Name the parameters to tune in "space", e.g. '
                         '{"space": {"epochs": {"low": 1, "high": 10}}}, or drop "tune".')
        return space
    if not block.space:
        builder.fail(f"{path}.space", "the search space is empty: name at least one parameter")
        return {}
    space = {}
    for key, node in block.space.items():
        where = f"{path}.space.{key}"
        try:
            space[key] = spaces.parse(node, integer=_int_field(type(unlearner), key))
        except ValueError as e:
            builder.fail(where, str(e))
            continue
        _check_corners(builder, key, space[key], resolved, where)
    return space


def _check_corners(builder: Builder, key: str, distribution: Distribution, resolved: dict,
                   where: str) -> None:
    """Builds the unlearner with each end of the range (and each choice) set: a path naming no
    parameter, or a value its constraints refuse, is reported at the space's entry."""
    top = key.split(".")[0].split("[")[0]
    known = list(resolved.get("parameters", {}))
    if top not in known:
        cls = str(resolved.get("class", "")).rsplit(".", 1)[-1]
        builder.fail(where, f"{cls} has no parameter '{top}'", suggest(top, known, "parameters"))
        return
    for value in distribution.corners():
        try:
            config = with_values(resolved, {key: value})
        except ValueError as e:
            builder.fail(where, str(e))
            return
        scratch = Builder()
        scratch.component(config, Slot(Unlearner, lazy=False), "u")
        if scratch.problems:
            problem = scratch.problems[0]
            builder.fail(where, f"{json_value(value)} cannot be tried: {problem.message}",
                         problem.hint)
            return


def json_value(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _objective(builder: Builder, objective: Union[str, dict], evaluator: Any,
               path: str) -> tuple[str, str]:
    direction = None
    if isinstance(objective, dict):
        unknown = [k for k in objective if k not in ("key", "direction")]
        if unknown or "key" not in objective or not isinstance(objective["key"], str):
            builder.fail(path, 'an objective is a measure key, or {"key": "<measure key>", '
                               '"direction": "minimize" | "maximize"}')
            return AVG_GAP, "minimize"
        direction = objective.get("direction")
        if direction not in DIRECTIONS:
            builder.fail(f"{path}.direction", f"direction must be one of {', '.join(DIRECTIONS)},"
                                              f" got {direction!r}")
            return AVG_GAP, "minimize"
        objective = objective["key"]
    if objective == AVG_GAP:
        return AVG_GAP, direction or "minimize"
    measures = list(getattr(evaluator, "measures", ()) or ()) \
        if isinstance(evaluator, Evaluator) else []
    producers = [m for m in measures if _produces(m, objective)]
    if not producers:
        prefixes = sorted({p for m in measures for p in m.key_prefixes()})
        builder.fail(path, f"no configured measure produces '{objective}'",
                     suggest(objective.split(".")[0], [AVG_GAP, *prefixes], "objectives")
                     or f"Use '{AVG_GAP}' or a key of a measure in the evaluator.")
        return AVG_GAP, "minimize"
    last = objective.rsplit(".", 1)[-1]
    if last == "original" or last.startswith("gold"):
        builder.fail(path, f"'{objective}' is a number of the {last} model, which no trial "
                           "changes: tuning optimises what the unlearner produces",
                     f"Use '{objective.rsplit('.', 1)[0]}.unlearned'.")
    direction = direction or producers[0].direction
    if direction is None:
        builder.fail(path, f"'{objective}' has no direction of its own (closer to the gold model "
                           "is better for it, not higher or lower)",
                     f'Say which: {{"key": "{objective}", "direction": "minimize"}}, or use '
                     f"'{AVG_GAP}'.")
        return AVG_GAP, "minimize"
    return objective, direction


def _produces(measure: Any, key: str) -> bool:
    first = key.split(".")[0]
    return any(first == p or first.startswith(p + "_") for p in measure.key_prefixes())


def objective_measures(evaluator: Evaluator, key: str) -> list:
    """The configured measures that may produce ``key`` (run in each trial)."""
    return [m for m in evaluator.measures if _produces(m, key)]
