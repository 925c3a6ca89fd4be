"""Load dataset pickles without executing code: only numpy arrays and plain containers are admitted.

Dataset files such as the 3DPW sequence pickles, MotionBERT's Human3.6M pickles or the object
arrays inside VideoPose3D's ``.npz`` files are pickles. ``pickle.load`` would run whatever callable a
tampered file names; :func:`load_pickle` resolves only numpy's array/scalar/dtype reconstructors and
a few builtin containers, and refuses anything else with a :class:`DataError` naming the file and the
refused global.

Example:
    >>> import io, pickle, numpy as np
    >>> from sic.utils.safe_pickle import loads
    >>> loads(pickle.dumps({"a": np.arange(3), "b": ["x", 1.5]}))["a"].tolist()
    [0, 1, 2]
    >>> loads(pickle.dumps(print))
    Traceback (most recent call last):
    ...
    sic.utils.errors.DataError: <bytes>: refusing to unpickle builtins.print (only numpy arrays, dicts, lists, tuples, sets, strings and numbers are allowed)
"""

from __future__ import annotations

import codecs
import importlib
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from sic.utils.errors import DataError

__all__ = ["load_npz_object", "load_pickle", "loads"]

_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
_NUMPY_FUNCS = {"_reconstruct": "multiarray", "scalar": "multiarray", "_frombuffer": "numeric"}
_TYPES = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("collections", "OrderedDict"): dict,
    ("_codecs", "encode"): codecs.encode,  # protocol-2 pickles rebuild bytes this way (str -> bytes only)
}


def _numpy_func(name: str) -> Any:
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{_NUMPY_FUNCS[name]}"), name)
        except (ImportError, AttributeError):
            continue
    raise DataError(f"this numpy has no {name}")  # pragma: no cover - every supported numpy has one


class _Restricted(pickle.Unpickler):
    def __init__(self, file, where: str, encoding: str) -> None:
        super().__init__(file, encoding=encoding)
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _TYPES:
            return _TYPES[(module, name)]
        if module in _NUMPY_MODULES and name in _NUMPY_FUNCS:
            return _numpy_func(name)
        raise DataError(
            f"{self.where}: refusing to unpickle {module}.{name} "
            "(only numpy arrays, dicts, lists, tuples, sets, strings and numbers are allowed)"
        )


def loads(data: bytes, where: str = "<bytes>", encoding: str = "ASCII") -> Any:
    """Restricted ``pickle.loads``; ``encoding="latin1"`` reads Python 2 pickles with numpy arrays."""
    try:
        return _Restricted(io.BytesIO(data), where, encoding).load()
    except DataError:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, UnicodeDecodeError, AttributeError) as e:
        raise DataError(f"{where}: truncated or malformed pickle ({type(e).__name__}: {e})") from None


def load_pickle(path: str | os.PathLike, encoding: str = "ASCII") -> Any:
    """Restricted ``pickle.load`` of a file; errors name the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    return loads(data, str(path), encoding)


def load_npz_object(path: str | os.PathLike, key: str) -> Any:
    """An object array stored under ``key`` in an ``.npz`` (e.g. VideoPose3D's ``positions_3d``), unpickled safely.

    Returns the single object of a 0-d object array (``np.load(...)[key].item()`` without
    ``allow_pickle``), or the plain array when ``key`` holds numbers.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            raw = z.read(f"{key}.npy")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except KeyError:
        raise DataError(f"{path}: no array {key!r} in the archive") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz archive ({e})") from None
    f = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        _, _, dtype = read_header(f)  # shape and order live inside the pickled array
    except ValueError as e:
        raise DataError(f"{path}: {key}.npy has a malformed header ({e})") from None
    if not dtype.hasobject:
        return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
    obj = loads(f.read(), f"{path}:{key}", encoding="latin1")
    if isinstance(obj, np.ndarray) and obj.shape == () and obj.dtype.hasobject:
        return obj.item()
    return obj
