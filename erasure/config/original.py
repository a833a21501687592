"""The original ERASURE's configs, translated into ours before validation.

The original framework (aiim-research/ERASURE, CC0) names classes by its own module layout
(``erasure.unlearners.Scrub.Scrub``, ``erasure.data.datasets.DataSplitter.DataSplitterPercentage``,
``erasure.model.TorchModel.TorchModel``, ``erasure.evaluations.measures.AUS``…), names some
parameters otherwise (``T``, ``KL_temperature``, ``ref_data``, ``forget_part``…) and composes
snippets with ``{"compose_<anything>": "configs/snippets/x.json"}``. :func:`load_config` calls
:func:`translate_original` on every file it reads; a file is *original-style* when one of its
class names is in :data:`TABLE`, starts with one of :data:`ORIGINAL_PREFIXES` or reads
``erasure.unlearners.<Name>.<Name>`` (the original names each module after its class), or when it
has a ``compose_*`` key. Such a file is translated into our config (one INFO line says so, another
lists the parameters dropped); everything after it — ``--set``, validation, the resolved config
in ``results.json`` — sees only ours.

- **The table** (:data:`TABLE`): the original's class path → our class and the renames of its
  parameters (``None``: dropped, ours has no such knob). A parameter that is in neither is passed
  on unchanged, so a misspelt one is reported by the validator as usual.
- **Cannot map**: an original-style class path absent from the table is a :class:`ConfigError` at
  its ``class`` path naming our nearest class (from :data:`NEAREST`, else the closest of our
  registered names of the same kind) — never a silent drop. Whole components ours does without
  (:data:`DROPPED_COMPONENTS`: ``SaveValues``) are dropped and listed in the INFO line.
- **Snippets**: a ``compose_*`` path is resolved relative to the working folder, as the original
  does, then relative to the parent of the config file's folder (the original keeps its configs
  in ``configs/`` and names snippets ``configs/snippets/…`` from the folder above), then relative
  to the config file's folder. The object holding the key is replaced by the snippet (its other
  keys merged over it).
"""
from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .errors import ConfigError, Problem, join_path

log = logging.getLogger(__name__)

#: class paths that only the original's layout has (ours are lower-case modules: erasure.unlearners.scrub)
ORIGINAL_PREFIXES = ("erasure.data.datasets.", "erasure.data.data_sources.",
                     "erasure.data.preprocessing.", "erasure.model.", "erasure.evaluations.",
                     "erasure.unlearners.composite.")
COMPOSE_PREFIX = "compose_"


@dataclass(frozen=True)
class Mapping:
    """One of the original's classes as ours.

    Args:
        ours: our class's registered name.
        renames: the original's parameter → ours; ``None`` drops it (ours has no such knob).
        note: where the mapping is approximate (guide/reference.md lists them).
        rewrite: an adjustment of the translated parameters that renames cannot say; gets the
            translated parameters and the translation state, returns (class, parameters).
    """

    ours: str
    renames: dict[str, Optional[str]] = field(default_factory=dict)
    note: str = ""
    rewrite: Optional[Callable[[dict, "_Translation", str], tuple[str, dict]]] = None


# -- rewrites that renames cannot say -------------------------------------------------------------

def _splitter(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    names = [state.unused_name() if n == "-" else n for n in params.get("parts_names", [])]
    source = params.get("ref_data", "all")
    shuffle = params.get("shuffle")
    # the original shuffles once ("all_shuffled") and then cuts in order; ours keeps partitions as
    # sorted index sets, so a cut of a shuffled partition is drawn at random to keep the intent
    if shuffle is False and source in state.shuffled:
        shuffle = True
    params = {**params, "parts_names": names}
    if shuffle is not None:
        params["shuffle"] = shuffle
    if shuffle is not False:
        state.shuffled.update(names)
    if params.get("percentage") in (1, 1.0, 0, 0.0):  # all to one part: a copy of the partition
        kept = names[0] if params["percentage"] else names[1]
        return "ConcatSplit", {"parts_names": [kept], "ref_data": [source]}
    return "PercentageSplit", params


def _concat(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    names = [n for n in params.get("parts_names", []) if n != "-"]
    return "ConcatSplit", {**params, "parts_names": names}


def _by_z(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    return "GroupSplit", {"group": "z", **params}


def _vision(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    dataset = str(params.pop("path", "")).rsplit(".", 1)[-1]
    transforms = [t for t in params.pop("transform", None) or [] if t != "ToTensor"]
    out = {"dataset": dataset, **params}
    if transforms:  # ours gives ToTensor's [0, 1] floats itself
        out["transforms"] = [{"class": f"torchvision.transforms.{t}"} if isinstance(t, str) else t
                             for t in transforms]
    return "TorchVisionDataSource", out


def _celeba(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    target_type = params.pop("target_type", None)
    _, out = _vision(params, state, where)
    if target_type is not None:
        out["options"] = {"target_type": target_type}
    log.warning("%s: the original's CelebA source keeps attributes as labels and identities as "
                "its z; our TorchVisionDataSource gives neither as it does (its labels, its "
                "label_column and preprocess are dropped): the config validates, its data do not "
                "load as the original's", where)
    return "TorchVisionDataSource", out


def _finetuning(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    # the original's Finetuning with last_trainable_layers is CF-k
    return ("CFk" if "last_trainable_layers" in params else "Finetuning"), params


def _sklearn_measure(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    function = params.pop("function", None)
    name = params.pop("name", None)
    if function is None:
        return "Accuracy", params
    metric = str(function.get("class", "")).rsplit(".", 1)[-1]
    out = {**params, "metric": metric}
    if function.get("parameters"):
        out["kwargs"] = function["parameters"]
    if name is not None:
        out["key"] = name
    return "SklearnMetric", out


def _scrub(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    # ours runs max steps in the first msteps (2) epochs, which must lie within the epochs
    epochs = params.get("epochs")
    if "msteps" not in params and isinstance(epochs, int) and 1 <= epochs < 2:
        params["msteps"] = epochs
    return "Scrub", params


_SALIENCY = "erasure.unlearners.SaliencyMapGeneration.SaliencyMapGeneration"
_RELABEL = "erasure.unlearners.SuccessiveRandomLabels.SuccessiveRandomLabels"


def _salun(node: dict, state: "_Translation", where: str) -> Optional[dict]:
    """The original's SalUn — a Cascade of a saliency mask, then random labels on the masked
    weights — as our SalUn (its epochs, optimizer… the relabelling's), else None."""
    params = node.get("parameters")
    steps = params.get("sub_unlearner") if isinstance(params, dict) else None
    if (not isinstance(steps, list) or len(steps) != 2
            or not all(isinstance(s, dict) and isinstance(s.get("parameters", {}), dict) for s in steps)
            or [s.get("class") for s in steps] != [_SALIENCY, _RELABEL]):
        return None
    mask, relabel = (s.get("parameters", {}) for s in steps)
    merged = {k: v for k, v in relabel.items() if k != "model_mask_path"}
    if "treshold" in mask:  # sic: the original's spelling
        merged["mask_fraction"] = mask["treshold"]
    # the mask is passed in memory, not through files; its partition is SalUn's ref_data_forget
    for i, params in enumerate((mask, relabel)):
        state.dropped += [join_path(where, "parameters", "sub_unlearner", i, "parameters", k)
                          for k in params if k in ("ref_data", "save_dir", "file_name",
                                                   "model_mask_path")]
    return {**{k: v for k, v in node.items() if k != "parameters"}, "class": _RELABEL,
            "parameters": merged, "_salun": True}


_CASCADE = "erasure.unlearners.composite.Cascade"
_UNLEARNER = {"ref_data_retain": "ref_data_retain", "ref_data_forget": "ref_data_forget"}
_ON_RETAIN = {**_UNLEARNER, "ref_data": "ref_data_retain"}
_ON_FORGET = {**_UNLEARNER, "ref_data": "ref_data_forget"}
_RESNET_NOTE = ("the original's torchvision ResNet-18 (7×7 stem) becomes ours, the CIFAR variant "
                "of unlearning papers (3×3 stem, no max-pool), input channels from the data")

#: the original's class path → ours. Unlearner and measure modules of the original are named
#: after their class (erasure.unlearners.Scrub.Scrub).
TABLE: dict[str, Mapping] = {
    # data
    "erasure.data.datasets.DatasetManager.DatasetManager": Mapping("DatasetManager"),
    "erasure.data.data_sources.TVDataSource.TVDataSource": Mapping(
        "TorchVisionDataSource", rewrite=_vision),
    "erasure.data.data_sources.TVDataSource.TVDataSourceCelebA": Mapping(
        "TorchVisionDataSource", {"label_column": None, "preprocess": None},
        "identities and attribute labels are not loaded as the original does", _celeba),
    "erasure.data.datasets.DataSplitter.DataSplitterPercentage": Mapping(
        "PercentageSplit", note="'-' parts get an unused name; percentage 1 is a ConcatSplit; "
        "an in-order cut of a shuffled partition is drawn at random", rewrite=_splitter),
    "erasure.data.datasets.DataSplitter.DataSplitterConcat": Mapping(
        "ConcatSplit", {"concat_splits": "ref_data"}, rewrite=_concat),
    "erasure.data.datasets.DataSplitter.DataSplitterByZ": Mapping(
        "GroupSplit", {"z_labels": "values"}, "the z labels are the values of the group 'z'",
        _by_z),
    # the predictor and its networks
    "erasure.model.TorchModel.TorchModel": Mapping("Predictor"),
    "erasure.model.classifiers.MNIST_classifiers.MNISTResNet18": Mapping("ResNet18", note=_RESNET_NOTE),
    "erasure.model.classifiers.resnet18_for_celeba.CelebAResNet18": Mapping("ResNet18", note=_RESNET_NOTE),
    # unlearners
    "erasure.unlearners.GoldModel.GoldModel": Mapping(
        "GoldModel", {**_UNLEARNER, "training_set": "ref_data_retain", "ref_data": "ref_data_forget",
                      "train_data": None, "cached": None}),
    "erasure.unlearners.AdvancedNegGrad.AdvancedNegGrad": Mapping("AdvancedNegGrad", _UNLEARNER),
    "erasure.unlearners.BadTeaching.BadTeaching": Mapping(
        "BadTeaching", {**_UNLEARNER, "KL_temperature": "temperature"}),
    "erasure.unlearners.Finetuning.Finetuning": Mapping(
        "Finetuning", _ON_RETAIN, "with last_trainable_layers: CFk", _finetuning),
    "erasure.unlearners.FisherForgetting.FisherForgetting": Mapping("FisherForgetting", _ON_RETAIN),
    "erasure.unlearners.eu_k.eu_k": Mapping("EUk", _ON_RETAIN),
    "erasure.unlearners.composite.Identity": Mapping("Identity", _UNLEARNER),
    "erasure.unlearners.Identity.Identity": Mapping("Identity", _UNLEARNER),
    "erasure.unlearners.NegGrad.NegGrad": Mapping("NegGrad", _ON_FORGET),
    "erasure.unlearners.Scrub.Scrub": Mapping(
        "Scrub", {**_UNLEARNER, "T": "temperature"}, "msteps at most its epochs", _scrub),
    "erasure.unlearners.SelectiveSynapticDampening.SelectiveSynapticDampening": Mapping(
        "SSD", {**_UNLEARNER, "ref_data_train": None, "optimizer": None},
        "full-data importance on the predictor's training set"),
    "erasure.unlearners.composite.Cascade": Mapping(
        "Cascade", {"sub_unlearner": "unlearners"},
        "[SaliencyMapGeneration, SuccessiveRandomLabels] is SalUn"),
    "erasure.unlearners.UNSIR.UNSIR": Mapping(
        "UNSIR", {**_UNLEARNER, "epochs": "impair_epochs", "optimizer": "impair_optimizer"},
        "its epochs and optimizer are the impair step's; the repair step keeps our defaults"),
    "erasure.unlearners.SuccessiveRandomLabels.SuccessiveRandomLabels": Mapping(
        "SuccessiveRandomLabels", {**_UNLEARNER, "model_mask_path": None}),
    # the evaluator and measures
    "erasure.evaluations.manager.Evaluator": Mapping("Evaluator"),
    "erasure.evaluations.running.RunTime": Mapping("Runtime"),
    "erasure.evaluations.measures.TorchSKLearn": Mapping(
        "Accuracy", note="with a sklearn function: SklearnMetric", rewrite=_sklearn_measure),
    "erasure.evaluations.measures.AUS": Mapping("AUS", {"forget_part": "forget", "test_part": "test"}),
    "erasure.evaluations.measures.RelearnTime": Mapping("RelearnTime", {"forget_part": "partition"}),
    "erasure.evaluations.measures.AIN": Mapping(
        "AIN", {"forget_part": "partition", "gold_model": None},
        "the gold model is the pipeline's, retrained on retain"),
    "erasure.evaluations.MIA.umia.Attack": Mapping(
        "UMIA", {"attack_in_data": None},
        "ours attacks forget vs test of the run's own data, not a separate attack dataset"),
}

#: the original's classes with no counterpart here, and the nearest thing we have
NEAREST: dict[str, str] = {
    "SaliencyMapGeneration": "SalUn (a Cascade of SaliencyMapGeneration then "
                             "SuccessiveRandomLabels translates to it)",
    "SaveValues": "results.json, written by every run",
    "TorchFileDataSource": "TableDataSource, or your own DataSource",
    "reshape_y_z_legacy": "a group column (TableDataSource's group_columns) and GroupSplit",
}
#: components that ours does without, dropped from a list (logged): results.json replaces them
DROPPED_COMPONENTS = {"erasure.evaluations.measures.SaveValues":
                      "every run writes its results.json"}
_GLOBALS = {"cached": "cache"}
#: the kind of our classes an unmappable class is compared with, by its original module
_KINDS = (("erasure.unlearners.", "unlearner"), ("erasure.evaluations.", "measure"),
          ("erasure.data.data_sources.", "data source"),
          ("erasure.data.datasets.DataSplitter.", "splitter"))


def is_original(config: Any) -> bool:
    """Whether a config tree is written for the original ERASURE (see the module's docstring)."""
    if isinstance(config, list):  # a list of ids is skipped in one pass
        return any(is_original(v) for v in config if isinstance(v, (dict, list)))
    if not isinstance(config, dict):
        return False
    name = config.get("class")
    if isinstance(name, str) and (name in TABLE or name in DROPPED_COMPONENTS
                                  or name.startswith(ORIGINAL_PREFIXES)
                                  or _original_unlearner(name)):
        return True
    return (any(isinstance(k, str) and k.startswith(COMPOSE_PREFIX) for k in config)
            or any(is_original(v) for v in config.values()))


def _original_unlearner(name: str) -> bool:
    # erasure.unlearners.<Name>.<Name>: the original names each module after its class
    parts = name.split(".")
    return len(parts) == 4 and parts[:2] == ["erasure", "unlearners"] and parts[2] == parts[3]


@dataclass
class _Translation:
    file: Path
    shuffled: set[str] = field(default_factory=set)
    dropped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unused: int = 0

    def unused_name(self) -> str:
        self.unused += 1
        return f"unused_{self.unused}"


def translate_original(config: dict, file: Path) -> dict:
    """``config`` in our terms when it is original-style (see the module's docstring), else as it is.

    Raises:
        ConfigError: a ``compose_*`` file that cannot be read, or classes that cannot map, each at
            its config path with the nearest equivalent.
    """
    if not is_original(config):
        return config
    state = _Translation(Path(file))
    out = _node(_compose(config, state.file, ""), state, "")
    if isinstance(out.get("globals"), dict):
        out["globals"] = {_GLOBALS.get(k, k): _flag(v) if k in _GLOBALS else v
                          for k, v in out["globals"].items()}
    data, predictor = out.get("data"), out.get("predictor")
    if (isinstance(data, dict) and isinstance(predictor, dict)
            and isinstance(data.get("parameters"), dict) and "batch_size" in data["parameters"]):
        # the original's one batch size also trains
        predictor.setdefault("parameters", {}).setdefault("batch_size", data["parameters"]["batch_size"])
    if state.problems:
        raise ConfigError(state.problems)
    log.info("%s is an original ERASURE config: translated into erasure's (ARCHITECTURE.md, "
             "erasure/config/original.py)", state.file.name)
    if state.dropped:
        log.info("dropped from %s, which erasure does without: %s", state.file.name,
                 "; ".join(state.dropped))
    return out


def _flag(value: Any) -> Any:
    return {"true": True, "false": False}.get(value.lower(), value) if isinstance(value, str) else value


def _compose(node: Any, file: Path, where: str) -> Any:
    if isinstance(node, list):
        return [_compose(v, file, join_path(where, i)) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    keys = [k for k in node if isinstance(k, str) and k.startswith(COMPOSE_PREFIX)]
    if not keys:
        return {k: _compose(v, file, join_path(where, k)) for k, v in node.items()}
    from .load import read_file  # load imports this module

    key = keys[0]
    target = node[key]
    here = join_path(where, key)
    if not isinstance(target, str):
        raise ConfigError.single(here, f"a {key} names a file (a string), not {type(target).__name__}")
    places = [Path.cwd(), file.parent.parent, file.parent]
    found = next((p / target for p in places if (p / target).is_file()), None)
    if found is None:
        raise ConfigError.single(here, f"snippet {target!r} not found in the working folder, "
                                       f"{file.parent.parent} or {file.parent}")
    snippet = _compose(read_file(found.resolve()), found.resolve(), where)
    rest = {k: v for k, v in node.items() if k != key}
    return {**snippet, **_compose(rest, file, where)} if isinstance(snippet, dict) else snippet


def _node(node: Any, state: _Translation, where: str) -> Any:
    if isinstance(node, list):
        out = []
        for i, item in enumerate(node):
            name = item.get("class") if isinstance(item, dict) else None
            if name in DROPPED_COMPONENTS:
                state.dropped.append(f"{join_path(where, i)} ({name.rsplit('.', 1)[-1]}: "
                                     f"{DROPPED_COMPONENTS[name]})")
                continue
            out.append(_node(item, state, join_path(where, i)))
        return out
    if not isinstance(node, dict):
        return node
    if node.get("class") == _CASCADE:
        node = _salun(node, state, where) or node
    name = node.get("class")
    mapping = TABLE.get(name) if isinstance(name, str) else None
    if mapping is None:
        if isinstance(name, str) and (name.startswith(ORIGINAL_PREFIXES) or _original_unlearner(name)):
            state.problems.append(_unmappable(name, join_path(where, "class")))
        return {k: _node(v, state, join_path(where, k)) for k, v in node.items()}
    out = {k: _node(v, state, join_path(where, k)) for k, v in node.items()
           if k not in ("class", "parameters", "_salun")}
    params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
    renamed = {}
    for key, value in params.items():
        ours = mapping.renames.get(key, key)
        if ours is None:  # not looked into: what it holds is dropped with it
            state.dropped.append(join_path(where, "parameters", key))
        else:
            renamed[ours] = _node(value, state, join_path(where, "parameters", key))
    ours_name, renamed = (mapping.rewrite(renamed, state, where) if mapping.rewrite
                          else (mapping.ours, renamed))
    out["class"] = "SalUn" if node.get("_salun") else ours_name
    if renamed or "parameters" in node:
        out["parameters"] = renamed
    return out


def _unmappable(name: str, where: str) -> Problem:
    short = name.rsplit(".", 1)[-1]
    nearest = NEAREST.get(short)
    if nearest is None:
        from .registry import names_for, names_of_kind

        kind = next((k for prefix, k in _KINDS if name.startswith(prefix)), None)
        names = names_of_kind(kind) if kind else names_for(object)
        lower = {n.lower(): n for n in names}  # SCRUB is Scrub
        close = difflib.get_close_matches(short.lower(), list(lower), n=1, cutoff=0.0)
        nearest = lower[close[0]] if close else "none"
    return Problem(where, f"the original ERASURE's {name} has no counterpart in erasure",
                   f"Nearest equivalent: {nearest}. The table of what maps is in "
                   "erasure/config/original.py (guide/reference.md, 'The original's configs').")
