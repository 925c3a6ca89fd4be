"""Atomic file output: write to a temporary sibling, then rename, so nothing half-written is left.

Example:
    >>> import tempfile, pathlib
    >>> from sic.utils.io import atomic_write_text
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> atomic_write_text(p, "{}")
    >>> p.read_text()
    '{}'
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sic.utils.errors import DataError

__all__ = ["atomic_dir", "atomic_file", "atomic_save_npy", "atomic_write_text", "read_meta"]


@contextmanager
def atomic_file(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; it replaces ``path`` on success and vanishes on failure.

    Args:
        path: final file.
        suffix: end of the temporary name (writers that pick a format by extension need ``.tmp.gif`` etc.).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` ``array`` to ``path`` atomically (an interrupted write leaves the old file)."""
    with atomic_file(path, suffix=".tmp.npy") as tmp:  # np.save appends .npy to other names
        np.save(tmp, array, allow_pickle=False)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (same-directory temp file + ``os.replace``)."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)


@contextmanager
def atomic_dir(path: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``path`` on success and vanishes on failure.

    Args:
        path: final directory.
        replace: swap out an existing ``path`` (the old copy stays in place until the new one is
            complete). Otherwise, if another process created ``path`` meanwhile, its copy wins.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        if replace and path.is_dir():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / path.name)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
            return
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_meta(path: Path, kind: str, format_name: str, expected: str) -> dict:
    """``path/meta.json`` of an on-disk store, checked to declare ``format_name``.

    Args:
        path: the store's directory.
        kind: what it is, for messages ("clip archive", "motion archive").
        format_name: the required ``format`` value.
        expected: what the directory should hold, for the missing-directory message.

    Raises:
        DataError: naming the directory or file when it is missing, not JSON or another format.
    """
    if not path.is_dir():
        raise DataError(f"{kind} {str(path)!r} does not exist (expected a directory with {expected})")
    meta_file = path / "meta.json"
    try:
        meta = json.loads(meta_file.read_text())
    except FileNotFoundError:
        raise DataError(f"{kind} {str(path)!r} has no meta.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{meta_file}: malformed JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != format_name:
        raise DataError(f"{meta_file}: not a {format_name} (missing or wrong 'format' key)")
    return meta
