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
- **Its benchmark configs** (``configs/benchmark/``, abridged in
  tests/data/erasure_original/benchmark/) map family by family:

  - *tabular*: ``UCI_Adult_DataSource`` / ``UCIRepositoryDataSource`` → ``UCIDataSource``
    (``label`` → ``label_column``, ``data_columns`` → ``feature_columns``; ``to_encode`` dropped:
    ours one-hot encodes categorical columns itself); ``SpotifyHFDataSource`` →
    ``HuggingFaceDataSource`` (``keep_top_k`` dropped with a warning: every label is kept); the
    original's normalisation becomes the data manager's ``standardize: "train"``; ``AdultNN`` /
    ``SpotifyNN`` → ``MLP`` with ``n_layers`` hidden layers of ``hidden_size`` (100). Adult's own
    clean-up (countries merged, income's ``.``-suffixed spellings folded) is not done: a warning
    says so.
  - *graphs*: ``TorchGeometricDataSource`` (its ``datasource`` a ``torch_geometric.datasets``
    class) → ``PyGDataSource``; ``DownstreamGCN`` → ``GCN`` with ``node_features × conv_booster``
    wide convolutions (one, or two whatever ``num_conv_layers`` > 1 says, as the original builds),
    no dropout, one linear layer (``num_dense_layers`` > 1 warned and dropped).
  - *image*: ``TVDataSourceCifar100`` → ``TorchVisionDataSource``; ``Cifar100ResNet18`` →
    ``ResNet18``. ``Cifar100ResNet50`` / ``CelebAResNet50`` do not map (nearest: ``ResNet18``), nor
    does CelebA's multi-label training (``TorchModelMultilabel``, ``CelebAResNet18_logits``:
    nearest ``Predictor`` / ``ResNet18``, single-label).
  - *text*: ``HFDataSource`` / ``IMDBHFDataSource`` whose preprocessing is ``reshape_x_z`` then
    ``TokenizeX`` → ``HuggingFaceDataSource`` with ``text_column`` (the kept x column) and
    ``group_columns`` (the columns moved to z), and the tokenizer moved up to the data manager as
    ``HuggingFaceTokenizer`` (``path``, ``max_length``, ``padding``, ``truncation``);
    ``BERTClassifier`` / ``DistilBERTClassifier`` → ``HuggingFaceSequenceClassifier`` on
    ``bert-base-uncased`` / ``distilbert-base-uncased`` (the hub's classification head, not the
    original's 512-wide one). AG News's ``UnifyStringColumns`` and ``StringContain`` do not map
    (nearest: one ``text_column``; a group column written beforehand and ``GroupSplit``).
  - *splitters*: ``DataSplitterAnyZisInRange`` → ``GroupSplit`` with ``range`` (both ends
    included, as the original's) and ``DataSplitterAnyZisIn`` / ``DataSplitterByZ`` with
    ``values``, on the group column the source's ``reshape_x_z`` named (else ``z``). The original
    label-encodes a group column first (``to_encode``); ours keeps integer groups as they are and
    encodes text ones in sorted order, so a range means the same groups only for text ids or ids
    already 0…n-1. ``split_seed`` is dropped: ours draws from the run's seed.
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
    #: parameters handed to ``rewrite`` as written, not translated first (a preprocessing chain
    #: that the rewrite reads itself)
    raw: tuple[str, ...] = ()


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
    return "GroupSplit", {"group": state.z_group or "z", **params}


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


# -- the benchmark configs' data sources, networks and splitters ----------------------------------

def _manager(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    # what the source's rewrite found for its manager: the original tokenises in its source's
    # preprocessing, ours in the data manager; the original normalises features over all data,
    # ours standardises with the training partition's statistics
    if state.tokenizer is not None:
        params.setdefault("tokenizer", state.tokenizer)
    names = {n for step in params.get("partitions") or [] if isinstance(step, dict)
             for n in (step.get("parameters") or {}).get("parts_names") or []}
    if state.standardize and "train" in names:
        params.setdefault("standardize", "train")
    state.tokenizer, state.standardize, state.z_group = None, False, None
    return "DatasetManager", params


def _uci(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    state.standardize = True
    return "UCIDataSource", params


def _uci_adult(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    log.warning("%s: the original's Adult source merges native-country into United-States / "
                "Other and maps income to 0 ('<=50K', '<=50K.') / 1; our UCIDataSource reads "
                "UCI's table as it is (its 'income' has four spellings, so four classes)", where)
    return _uci(params, state, where)



def _hf(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    """The original's HFDataSource family: a table, or text when its preprocessing tokenises."""
    columns = list(params.pop("data_columns", None) or [])
    steps = params.pop("preprocess", None) or []
    if params.pop("to_normalize", None):
        state.standardize = True
    keep, move, tokenizer = None, [], None
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        name = step.get("class") if isinstance(step, dict) else None
        short = str(name).rsplit(".", 1)[-1]
        step_params = step.get("parameters") or {} if isinstance(step, dict) else {}
        here = join_path(where, "parameters", "preprocess", i)
        if short == "reshape_x_z":
            keep, move = step_params.get("keep_as_x"), step_params.get("move_to_z") or []
        elif short == "TokenizeX":
            tokenizer = (step_params.get("tokenizer") or {}).get("parameters") or {}
        elif short == "ListToTensor":  # ours gives float tensors itself
            state.dropped.append(here + " (ListToTensor)")
        else:
            state.problems.append(_unmappable(str(name), join_path(here, "class")))
    pick = (lambda ix: [columns[i] for i in ix if isinstance(i, int) and 0 <= i < len(columns)])
    groups = pick(move) if move else []
    if groups:
        params["group_columns"] = groups
        state.z_group = groups[0]
    if tokenizer is None:
        if columns:
            params["feature_columns"] = [c for c in columns if c not in groups]
        return "HuggingFaceDataSource", params
    texts = pick(keep) if keep is not None else [c for c in columns if c not in groups]
    if len(texts) != 1:
        state.problems.append(Problem(
            join_path(where, "parameters", "data_columns"),
            f"the original tokenises {len(texts)} columns ({', '.join(texts)}); erasure reads one "
            "text column", "Nearest equivalent: HuggingFaceDataSource's text_column, with the "
            "columns joined into one beforehand."))
    else:
        params["text_column"] = texts[0]
    ours = {"path": tokenizer.get("tokenizer")}
    ours.update({k: tokenizer[k] for k in ("max_length", "padding", "truncation") if k in tokenizer})
    state.tokenizer = {"class": "HuggingFaceTokenizer", "parameters": ours}
    return "HuggingFaceDataSource", params


def _spotify(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    top = params.pop("keep_top_k", None)
    if top is not None:
        log.warning("%s: the original keeps the %s most frequent labels (keep_top_k); ours keeps "
                    "every label", where, top)
        state.dropped.append(join_path(where, "parameters", "keep_top_k"))
    return _hf(params, state, where)


def _pyg(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    inner = params.pop("datasource", None) or {}
    options = dict(inner.get("parameters") or {}) if isinstance(inner, dict) else {}
    if isinstance(inner, dict) and inner.get("preprocess"):
        state.dropped.append(join_path(where, "parameters", "datasource", "preprocess"))
    out = {"dataset": str(inner.get("class", "")).rsplit(".", 1)[-1] if isinstance(inner, dict) else ""}
    if "root" in options:
        out["root"] = options.pop("root")
    if options:
        out["options"] = options
    return "PyGDataSource", {**params, **out}


def _cifar100(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    classes = params.pop("classes", None)
    if classes not in (None, 100):
        log.warning("%s: classes %s: ours gives CIFAR-100's 100 fine labels", where, classes)
    return _vision(params, state, where)


def _layers_mlp(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    # AdultNN / SpotifyNN: n_layers hidden layers of hidden_size (defaults 3 and 100)
    layers, width = params.pop("n_layers", 3), params.pop("hidden_size", 100)
    return "MLP", {**params, "hidden": [width] * layers}


def _gcn(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    features = params.pop("node_features", None)
    booster = params.pop("conv_booster", 2)
    layers = params.pop("num_conv_layers", 2)
    dense = params.pop("num_dense_layers", 2)
    if isinstance(dense, int) and dense > 1:
        log.warning("%s: num_dense_layers %s: our GCN has one linear layer after its mean "
                    "pooling", where, dense)
        state.dropped.append(join_path(where, "parameters", "num_dense_layers"))
    out = {**params, "dropout": 0.0}  # the original's has none
    if isinstance(features, (int, float)) and isinstance(booster, (int, float)):
        # the original builds one convolution, then one more whatever num_conv_layers > 1 says
        out["hidden"] = [int(features * booster)] * (1 if layers == 1 else 2)
    return "GCN", out


def _text_model(path: str) -> Callable[[dict, "_Translation", str], tuple[str, dict]]:
    def rewrite(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
        return "HuggingFaceSequenceClassifier", {**params, "path": path}
    return rewrite


def _z_range(params: dict, state: "_Translation", where: str) -> tuple[str, dict]:
    # the original takes every integer z in [low, high], both included
    return "GroupSplit", {"group": state.z_group or "z", **params}


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

_UCI = {"label": "label_column", "data_columns": "feature_columns", "to_encode": None,
        "preprocess": None}  # ours one-hot encodes categorical columns itself
_HF = {"label": "label_column", "to_encode": None}  # ours encodes text labels and groups itself
_NET = {"n_classes": None, "inputsize": None}  # from the data

#: the original's class path → ours. Unlearner and measure modules of the original are named
#: after their class (erasure.unlearners.Scrub.Scrub).
TABLE: dict[str, Mapping] = {
    # data
    "erasure.data.datasets.DatasetManager.DatasetManager": Mapping(
        "DatasetManager", {"split_seed": None},
        "takes the tokenizer and standardize that its source's translation asks for", _manager),
    "erasure.data.data_sources.TVDataSource.TVDataSource": Mapping(
        "TorchVisionDataSource", rewrite=_vision),
    "erasure.data.data_sources.TVDataSource.TVDataSourceCelebA": Mapping(
        "TorchVisionDataSource", {"label_column": None, "label_columns": None, "preprocess": None},
        "identities and attribute labels are not loaded as the original does", _celeba),
    "erasure.data.data_sources.TVDataSource.TVDataSourceCifar100": Mapping(
        "TorchVisionDataSource", {"label_column": None}, rewrite=_cifar100),
    "erasure.data.data_sources.UCIRepositoryDataSource.UCIRepositoryDataSource": Mapping(
        "UCIDataSource", _UCI, "features standardised with the training partition's statistics",
        _uci),
    "erasure.data.data_sources.UCIRepositoryDataSource.UCI_Adult_DataSource": Mapping(
        "UCIDataSource", _UCI, "UCI's table as it is: no merged countries, income's four "
        "spellings", _uci_adult),
    "erasure.data.data_sources.HFDataSource.HFDataSource": Mapping(
        "HuggingFaceDataSource", _HF, "TokenizeX: text_column and the manager's tokenizer",
        _hf, raw=("preprocess",)),
    "erasure.data.data_sources.HFDataSource.IMDBHFDataSource": Mapping(
        "HuggingFaceDataSource", _HF, "TokenizeX: text_column and the manager's tokenizer",
        _hf, raw=("preprocess",)),
    "erasure.data.data_sources.HFDataSource.SpotifyHFDataSource": Mapping(
        "HuggingFaceDataSource", {**_HF, "keep_top_k_artist": None},
        "every label kept (no keep_top_k)", _spotify, raw=("preprocess",)),
    "erasure.data.data_sources.TorchGeometricDataSource.TorchGeometricDataSource": Mapping(
        "PyGDataSource", rewrite=_pyg),
    "erasure.data.datasets.DataSplitter.DataSplitterPercentage": Mapping(
        "PercentageSplit", note="'-' parts get an unused name; percentage 1 is a ConcatSplit; "
        "an in-order cut of a shuffled partition is drawn at random", rewrite=_splitter),
    "erasure.data.datasets.DataSplitter.DataSplitterConcat": Mapping(
        "ConcatSplit", {"concat_splits": "ref_data"}, rewrite=_concat),
    "erasure.data.datasets.DataSplitter.DataSplitterByZ": Mapping(
        "GroupSplit", {"z_labels": "values"}, "the z labels are the values of the group 'z'",
        _by_z),
    "erasure.data.datasets.DataSplitter.DataSplitterAnyZisInRange": Mapping(
        "GroupSplit", {"z_labels": "range"}, "the z is the source's group column", _z_range),
    "erasure.data.datasets.DataSplitter.DataSplitterAnyZisIn": Mapping(
        "GroupSplit", {"z_labels": "values"}, "the z is the source's group column", _by_z),
    # the predictor and its networks
    "erasure.model.TorchModel.TorchModel": Mapping("Predictor"),
    "erasure.model.classifiers.MNIST_classifiers.MNISTResNet18": Mapping("ResNet18", note=_RESNET_NOTE),
    "erasure.model.classifiers.resnet18_for_celeba.CelebAResNet18": Mapping("ResNet18", note=_RESNET_NOTE),
    "erasure.model.classifiers.resnet18_for_cifar100.Cifar100ResNet18": Mapping(
        "ResNet18", {"n_classes": None}, "ours, the CIFAR variant (3×3 stem, no max-pool)"),
    "erasure.model.classifiers.standard_classifier.AdultNN": Mapping(
        "MLP", _NET, "n_layers hidden layers of hidden_size", _layers_mlp),
    "erasure.model.classifiers.standard_classifier.SpotifyNN": Mapping(
        "MLP", _NET, "n_layers hidden layers of hidden_size", _layers_mlp),
    "erasure.model.gcn.DownstreamGCN": Mapping(
        "GCN", {"batch_size": None, "n_classes": None, "linear_decay": None, "pooling": None},
        "its convolutions as hidden widths, mean pooling, one linear layer", _gcn),
    "erasure.model.classifiers.BERT_classifier.BERTClassifier": Mapping(
        "HuggingFaceSequenceClassifier", {"n_classes": None},
        "the hub's classification head, not the original's 512-wide one",
        _text_model("bert-base-uncased")),
    "erasure.model.classifiers.BERT_classifier.DistilBERTClassifier": Mapping(
        "HuggingFaceSequenceClassifier", {"n_classes": None},
        "the hub's classification head, not the original's 512-wide one",
        _text_model("distilbert-base-uncased")),
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
    "Cifar100ResNet50": "ResNet18 (erasure has no ResNet-50)",
    "CelebAResNet50": "ResNet18 (erasure has no ResNet-50)",
    "CelebAResNet18_logits": "ResNet18 (single-label: erasure trains no multi-label model)",
    "CelebAResNet50_logits": "ResNet18 (single-label: erasure trains no multi-label model)",
    "TorchModelMultilabel": "Predictor (single-label: erasure trains no multi-label model)",
    "UnifyStringColumns": "HuggingFaceDataSource's text_column (one column: join them into one "
                          "beforehand)",
    "StringContain": "a group column written beforehand (HuggingFaceDataSource's group_columns) "
                     "and GroupSplit",
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
    #: set by a data source's rewrite for its data manager: the tokenizer (the original's
    #: TokenizeX, on the source) and whether the original standardised the features
    tokenizer: Optional[dict] = None
    standardize: bool = False
    #: the group column the original's z holds (reshape_x_z's move_to_z), for the z splitters
    z_group: Optional[str] = None

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
        elif key in mapping.raw:
            renamed[ours] = value
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
