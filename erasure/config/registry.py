"""Short names for classes, and turning a config's ``"class"`` string into a class.

A short name (``"Scrub"``, ``"Adam"``, ``"CrossEntropyLoss"``) is looked up among the registered
classes that fit the slot; anything with a dot is imported as ``package.module.ClassName``. A
user's own module is importable when it lies in the config file's folder, in a folder listed in
``globals.paths`` (relative to the config file), or anywhere on ``PYTHONPATH``. Those folders are
searched only for the modules dotted paths name, after the installed packages: they never shadow
one.
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.abc
import importlib.machinery
import inspect
import os
import sys
from collections import defaultdict
from typing import Iterator, Optional, Sequence

from .errors import ConfigError, suggest

#: Packages whose import registers the built-in components.
BUILTIN_PACKAGES = ("erasure.data", "erasure.models", "erasure.unlearners", "erasure.measures")

_by_name: dict[str, list[type]] = defaultdict(list)

#: module prefixes always importable under an allow-list: the framework and PyTorch themselves
ALWAYS_ALLOWED = ("erasure", "torch", "torchvision")
_allowed: contextvars.ContextVar[Optional[tuple[str, ...]]] = contextvars.ContextVar(
    "allowed_modules", default=None)


@contextlib.contextmanager
def allowed_modules(prefixes: Optional[Sequence[str]]) -> Iterator[None]:
    """Within the block, a dotted class path is imported only when its module is one of
    ``prefixes`` (or inside one), or of :data:`ALWAYS_ALLOWED`; ``None`` allows everything.

    A config names code to import, like a Python script does: importing a module runs it. For a
    config from someone else, the allow-list is checked *before* anything is imported.
    """
    token = _allowed.set(None if prefixes is None else (*ALWAYS_ALLOWED, *prefixes))
    try:
        yield
    finally:
        _allowed.reset(token)


class _UserModules(importlib.abc.MetaPathFinder):
    """Finds the top-level modules that a config's dotted paths name in the config's folders (its
    own and ``globals.paths``). It sits last on ``sys.meta_path``: an installed package always
    wins, and no other module is ever looked up in those folders — a ``sklearn/`` or
    ``torchvision/`` folder beside a config is never imported."""

    def __init__(self) -> None:
        self.folders: list[str] = []
        self.names: set[str] = set()

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        if path is not None or fullname not in self.names or not self.folders:
            return None  # submodules are found through their package's own __path__
        return importlib.machinery.PathFinder.find_spec(fullname, self.folders)


_user_modules = _UserModules()


@contextlib.contextmanager
def user_folders(folders: Sequence[str | os.PathLike]) -> Iterator[None]:
    """Within the block, the top-level module of each dotted class path is looked for in
    ``folders`` too — after every installed package (see :class:`_UserModules`)."""
    if _user_modules not in sys.meta_path:
        sys.meta_path.append(_user_modules)
    saved = _user_modules.folders, _user_modules.names
    _user_modules.folders, _user_modules.names = [os.fspath(f) for f in folders], set()
    importlib.invalidate_caches()  # a module written a moment ago is found
    try:
        yield
    finally:
        _user_modules.folders, _user_modules.names = saved


def _shadowed(module_name: str, module: object) -> str:
    """A hint when a module of ``module_name``'s top-level name lies in the config's folders but
    an installed one (or the standard library's) was imported instead."""
    top = module_name.partition(".")[0]
    where = str(getattr(module, "__file__", "") or "")
    for folder in _user_modules.folders:
        for candidate in (os.path.join(folder, f"{top}.py"), os.path.join(folder, top)):
            if os.path.exists(candidate) and not where.startswith(candidate.removesuffix(".py")):
                return (f"'{top}' is also the name of an installed module (or of the standard "
                        f"library's), which wins over {candidate}: rename yours.")
    return ""


_loaded = False
#: abstract bases by short name: never offered, and naming one is refused with a reason
_abstract_by_name: dict[str, list[type]] = defaultdict(list)
#: PyTorch's own bases, which a config names only by mistake (filled in once torch is imported)
_pytorch_bases: set[type] = set()


def register(cls: type, name: str | None = None) -> type:
    """Registers ``cls`` under ``name`` (default: its class name). Usable as a decorator.

    An abstract base (``abstract = True`` in its body) is recorded apart, so that a config naming
    it learns why it cannot be used. A class of the same dotted path as a registered one (its
    module reloaded) replaces it.
    """
    table = _abstract_by_name if is_abstract(cls) else _by_name
    entries = table[name or cls.__name__]
    entries[:] = [c for c in entries if full_name(c) != full_name(cls)] + [cls]
    return cls


def is_abstract(cls: type) -> bool:
    """Whether ``cls`` is a base to subclass, not a class a config may use: it says
    ``abstract = True`` in its body, has abstract methods, or is one of PyTorch's bases
    (``torch.nn.Module``, ``torch.optim.Optimizer``…)."""
    torch = sys.modules.get("torch")
    if torch is not None and not _pytorch_bases:
        _pytorch_bases.update({torch.nn.Module, torch.optim.Optimizer,
                               torch.optim.lr_scheduler.LRScheduler,
                               torch.optim.lr_scheduler._LRScheduler, torch.nn.modules.loss._Loss,
                               torch.nn.modules.loss._WeightedLoss})
    return (cls.__dict__.get("abstract") is True or inspect.isabstract(cls)
            or cls in _pytorch_bases)


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for package in BUILTIN_PACKAGES:
        importlib.import_module(package)
    import torch

    for module, base in ((torch.optim, torch.optim.Optimizer),
                         (torch.optim.lr_scheduler, torch.optim.lr_scheduler.LRScheduler),
                         (torch.nn.modules.loss, torch.nn.modules.loss._Loss)):
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_"):
                register(obj, name)


def a(word: str) -> str:
    """``a('measure')`` → ``'a measure'``, ``a('unlearner')`` → ``'an unlearner'``."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def kind_of(cls: type) -> str:
    """A word for what a class is, for error messages."""
    word = getattr(cls, "kind_name", None)
    if isinstance(word, str) and word != "component":
        return word
    for base in cls.__mro__:
        if base.__module__.startswith("torch.optim.lr_scheduler"):
            return "learning-rate scheduler"
        if base.__module__.startswith("torch.optim"):
            return "optimizer"
        if base.__name__ == "_Loss":
            return "loss"
        if base.__name__ == "Module" and base.__module__.startswith("torch.nn"):
            return "torch module"
    return cls.__name__


def names_for(base: type) -> list[str]:
    """The short names that resolve to a subclass of ``base``."""
    _load_builtins()
    return sorted(n for n, classes in _by_name.items() if any(issubclass(c, base) for c in classes))


def names_of_kind(kind: str) -> list[str]:
    """The short names of one kind of class, as :func:`kind_of` words it (``"unlearner"``)."""
    _load_builtins()
    return sorted(n for n, classes in _by_name.items() if any(kind_of(c) == kind for c in classes))


def full_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve(name: object, base: type, path: str) -> type:
    """The class a config's ``"class"`` value names, checked to fit a slot that needs ``base``.

    Raises:
        ConfigError: unknown short name (with did-you-mean and the accepted names), a short name
            that two registered classes fitting the slot share, missing module or attribute, an
            import that fails inside the user's module, a non-class, a class of the wrong kind,
            or an abstract base.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError.single(path, f"'class' must be a non-empty string, not {name!r}")
    want = kind_of(base)
    if "." in name:
        cls = _import(name, path)
    else:
        _load_builtins()
        known = _by_name.get(name, []) + _abstract_by_name.get(name, [])
        fitting = [c for c in known if issubclass(c, base)]
        if len(fitting) > 1:
            raise ConfigError.single(
                path, f"'{name}' is ambiguous: it names {len(fitting)} classes "
                      f"({', '.join(sorted(map(full_name, fitting)))})",
                "Name the one you mean by its dotted path.")
        if not fitting:
            if known:
                raise ConfigError.single(path, f"'{name}' is {a(kind_of(known[0]))}, but this "
                                               f"slot needs {a(want)}",
                                         suggest(name, names_for(base), f"{want} names"))
            raise ConfigError.single(path, f"unknown {want} '{name}'",
                                     suggest(name, names_for(base), f"{want} names") +
                                     " Your own classes are named by dotted path "
                                     "('mymodule.MyClass').")
        cls = fitting[0]
    if not inspect.isclass(cls):
        raise ConfigError.single(path, f"'{name}' is {a(type(cls).__name__)}, not a class")
    if not issubclass(cls, base):
        raise ConfigError.single(path, f"'{name}' is {a(kind_of(cls))}, but this slot needs {a(want)} "
                                       f"(a subclass of {full_name(base)})")
    if is_abstract(cls):
        within = names_for(cls)
        raise ConfigError.single(
            path, f"'{name}' is an abstract base ({full_name(cls)}); subclass it"
                  + (", or name one of its subclasses" if within else ""),
            suggest(name, within, f"{kind_of(cls)} names") if within else "")
    return cls


def _import(dotted: str, path: str) -> object:
    module_name, _, attr = dotted.rpartition(".")
    allowed = _allowed.get()
    if allowed is not None and not any(module_name == p or module_name.startswith(p + ".")
                                       for p in allowed):
        raise ConfigError.single(
            path, f"'{dotted}' is outside the allowed modules ({', '.join(allowed)}): not imported",
            "If you trust that code, allow its module with --allow-module or "
            "globals.allowed_modules.")
    _user_modules.names.add(module_name.partition(".")[0])
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise ConfigError.single(
                path, f"cannot import '{dotted}': no module named '{e.name}'",
                "Put your module in the config file's folder or in a folder listed in "
                "globals.paths, or add its folder to PYTHONPATH.") from e
        raise ConfigError.single(path, f"importing module '{module_name}' failed: {e}") from e
    except Exception as e:  # the user's module raised while being imported
        raise ConfigError.single(path, f"importing module '{module_name}' raised "
                                       f"{type(e).__name__}: {e}") from e
    try:
        return getattr(module, attr)
    except AttributeError:
        classes = [n for n, v in vars(module).items() if inspect.isclass(v) and not n.startswith("_")]
        raise ConfigError.single(path, f"module '{module_name}' has no attribute '{attr}'",
                                 _shadowed(module_name, module)
                                 or suggest(attr, classes, "classes there")) from None
