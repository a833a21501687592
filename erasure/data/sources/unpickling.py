"""Reading a config's data files without unpickling anything that could run code.

A config is untrusted input, and so are the files it names: a dataset folder can hold a crafted
pickle whose loading runs code. The libraries behind the sources read pickles in places —
torchvision's CIFAR batches, PyTorch Geometric's raw Planetoid files and its processed caches
(read with a ``weights_only=False`` fallback), numpy ``.npz`` files with ``allow_pickle=True`` —
and the list changes with their versions. :func:`no_unpickling` wraps a source's whole load and,
for its duration,

- makes ``torch.load`` load with ``weights_only=True`` whatever its caller asked, so a tensor file
  gives tensors and plain data (and the classes a library registered as safe) and nothing else;
- makes the standard ``pickle`` module's ``load`` and ``loads`` (which numpy's ``load`` and
  pandas' ``read_pickle`` call too) use :class:`RestrictedUnpickler`, which builds containers,
  numbers, strings, numpy arrays and scipy sparse matrices and refuses every other global, so no
  callable of the file's choosing is ever called.

Legitimate files of those kinds (CIFAR batches, Planetoid's raw files, PyG's processed caches)
load as before; a file that needs anything else is refused, and the load ends in one
:class:`DataLoadError` naming the file. The functions are restored when the block ends (the
patch is process-wide meanwhile: not safe against another thread unpickling at the same moment).
"""
from __future__ import annotations

import _compat_pickle
import builtins
import contextlib
import importlib
import io
import os
import pickle
import re
from collections.abc import Iterator
from pickle import Unpickler, UnpicklingError
from typing import Any, Callable

from .base import DataLoadError

#: builtins a pickle may name: types whose call builds plain data, nothing that reaches code
_BUILTINS = frozenset({"bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset",
                       "int", "list", "object", "range", "set", "slice", "str", "tuple"})
#: scipy sparse classes (``scipy.sparse.csr_matrix``…), as Planetoid's raw files hold them
_SPARSE = frozenset(f"{kind}_{shape}" for kind in ("bsr", "coo", "csc", "csr", "dia", "dok", "lil")
                    for shape in ("array", "matrix"))
#: other globals a pickle may name, by (module, name) → (module to import, attribute); numpy 1's
#: ``numpy.core`` included, as old dataset files use it
_GLOBALS = {
    ("collections", "OrderedDict"): ("collections", "OrderedDict"),
    ("collections", "defaultdict"): ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"): ("copyreg", "_reconstructor"),
    ("_codecs", "encode"): ("_codecs", "encode"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    **{(f"numpy.{core}.multiarray", name): ("numpy._core.multiarray", name)
       for core in ("core", "_core") for name in ("_reconstruct", "scalar")},
    **{(f"numpy.{core}.numeric", "_frombuffer"): ("numpy._core.numeric", "_frombuffer")
       for core in ("core", "_core")},
}


class RefusedUnpickling(UnpicklingError):
    """A file was not loaded because reading it would unpickle more than plain data."""


class RestrictedUnpickler(Unpickler):
    """An unpickler that builds only plain data: containers, numbers, strings and bytes, numpy
    arrays and dtypes, scipy sparse matrices. Any other global the pickle names — a function to
    call, a class to build — raises :class:`RefusedUnpickling` before anything is called."""

    def find_class(self, module: str, name: str) -> Any:
        found = _allowed(module, name)
        if found is None:
            raise RefusedUnpickling(f"it refers to {module}.{name}")
        return found


def _allowed(module: str, name: str) -> Any:
    # Python 2 names (``__builtin__.xrange``, ``copy_reg``), mapped as the standard unpickler does
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    if module == "builtins":
        return getattr(builtins, name) if name in _BUILTINS else None
    if (module == "scipy.sparse" or module.startswith("scipy.sparse.")) and name in _SPARSE:
        try:
            import scipy.sparse
        except ImportError:
            return None
        return getattr(scipy.sparse, name, None)
    target = _GLOBALS.get((module, name))
    if target is None:
        return None
    return getattr(importlib.import_module(target[0]), target[1])


@contextlib.contextmanager
def no_unpickling(source: str, hint: str) -> Iterator[None]:
    """For the duration of the block, no file is unpickled beyond plain data (see the module's
    docstring); the functions it replaces are restored afterwards, even on an error.

    Args:
        source: names the source and dataset in the error (``"PyGDataSource: TUDataset"``).
        hint: how to get files that load, for the error.

    Raises:
        DataLoadError: the block failed after a file was refused, naming that file (whatever
            the library made of the refusal on the way out).
    """
    import torch
    import torch.serialization

    refused: list[str] = []
    load = _safe_torch_load(torch.serialization.load, refused)
    replacements = [(torch, "load", load), (torch.serialization, "load", load),
                    (pickle, "load", _restricted_load(refused)),
                    (pickle, "loads", _restricted_loads(refused))]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, value in replacements:
        setattr(owner, name, value)
    try:
        yield
    except Exception as e:
        if not refused:
            raise
        raise DataLoadError(f"{source}: refused to load {refused[0]}; unpickling it could run "
                            "code, so data files may hold only plain data (tensors, numbers, "
                            "strings, containers, numpy arrays)", hint) from e
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def _safe_torch_load(original: Callable[..., Any], refused: list[str]) -> Callable[..., Any]:
    def load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
             weights_only: bool | None = None, mmap: bool | None = None, **kwargs: Any) -> Any:
        """``torch.load`` with ``weights_only=True`` always (the caller's choice and unpickler
        are ignored)."""
        try:
            return original(f, map_location, weights_only=True, mmap=mmap, **kwargs)
        except UnpicklingError as e:
            refusal = f"{_file_name(f)} ({_reason(e)})"
            refused.append(refusal)
            raise RefusedUnpickling(refusal) from e
    return load


def _restricted_load(refused: list[str]) -> Callable[..., Any]:
    def load(file: Any, *, fix_imports: bool = True, encoding: str = "ASCII",
             errors: str = "strict", buffers: Any = None) -> Any:
        try:
            return RestrictedUnpickler(file, fix_imports=fix_imports, encoding=encoding,
                                       errors=errors, buffers=buffers).load()
        except EOFError:  # the end of a stream of pickles: the caller's loop stops on it
            raise
        except RefusedUnpickling as e:
            refused.append(f"{_file_name(file)} ({e})")
            raise
        except Exception as e:
            raise _refusal(refused, _file_name(file), e) from e
    return load


def _restricted_loads(refused: list[str]) -> Callable[..., Any]:
    def loads(data: Any, /, *, fix_imports: bool = True, encoding: str = "ASCII",
              errors: str = "strict", buffers: Any = None) -> Any:
        try:
            return RestrictedUnpickler(io.BytesIO(data), fix_imports=fix_imports,
                                       encoding=encoding, errors=errors, buffers=buffers).load()
        except EOFError:
            raise
        except RefusedUnpickling as e:
            refused.append(f"data in memory ({e})")
            raise
        except Exception as e:
            raise _refusal(refused, "data in memory", e) from e
    return loads


def _refusal(refused: list[str], name: str, error: Exception) -> RefusedUnpickling:
    """Any other failure of the restricted unpickler as a refusal: an ``UnpicklingError`` is one
    that no caller retries with another unpickler (pandas' ``read_pickle`` retries a
    ``TypeError`` or ``ValueError`` with its pure-Python one, which reads some opcodes
    differently)."""
    reason = f"not plain data: {type(error).__name__}: {error}"
    refused.append(f"{name} ({reason})")
    return RefusedUnpickling(reason)


def _file_name(file: Any) -> str:
    if isinstance(file, (str, os.PathLike)):
        return str(file)
    for attribute in ("name", "path"):
        name = getattr(file, attribute, None)
        if isinstance(name, (str, os.PathLike)):
            return str(name)
    return "data in memory"


def _reason(error: Exception) -> str:
    """torch's long weights-only message, cut to what the file holds."""
    text = str(error)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        return f"it refers to {found.group(1)}"
    found = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
    if found:
        return f"not a file torch reads without unpickling: {found.group(1).strip()}"
    return "not a file torch reads without unpickling"
