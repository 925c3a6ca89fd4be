"""The action-recognition archive: CTR-GCN-style ``x_train / y_train / x_test / y_test`` NPZ files.

This is the layout the public NTU/PKU pipelines save (``NTU60_CS.npz``, ``NTU120_CSub.npz``, Neuron's
``pkuv1_xsub.npz``) and the one ``python -m sic.data.prepare.ntu`` / ``...pku`` write:

* ``x_<split>``: ``(N, T, M * J * 3)`` float (CTR-GCN: ``(N, 300, 150)``, 2 persons x 25 joints x xyz,
  person-major), zero rows after a sample's last frame and zeros for an absent person; ``(N, T, M, J, 3)``
  is accepted too.
* ``y_<split>``: ``(N,)`` integer class ids (0-indexed) or ``(N, C)`` one-hot rows.
* ``valid_<split>`` (optional, written by ``sic``): ``(N,)`` number of valid frames; without it the count is
  the index after the last non-zero frame, as in CTR-GCN's feeder.
* ``names_<split>`` (optional): ``(N,)`` sample names (e.g. ``S001C001P001R001A001``).

Uncompressed archives (``np.savez``) are memory-mapped member by member, so a 7 GB NTU-120 file costs no
RAM until batches touch it; compressed ones are read into memory.

Example:
    >>> import numpy as np, tempfile, os
    >>> from sic.data.formats.skeleton_npz import read_skeleton_npz, write_skeleton_npz
    >>> x = np.zeros((2, 4, 2, 25, 3), np.float32); x[0, :3] = 1; x[1, :] = 2
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.npz")
    >>> write_skeleton_npz(path, {"train": (x, np.array([3, 7]))}, num_persons=2)
    >>> s = read_skeleton_npz(path, num_persons=2)["train"]
    >>> s.joints.shape, s.labels.tolist(), s.valid.tolist()
    ((2, 4, 2, 25, 3), [3, 7], [3, 4])
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sic.utils.errors import DataError
from sic.utils.io import atomic_file

__all__ = ["SkeletonSplit", "read_skeleton_npz", "valid_frames", "write_skeleton_npz"]


@dataclass
class SkeletonSplit:
    """One split of an archive.

    Attributes:
        joints: ``(N, T, M, J, 3)`` float32 (possibly a read-only memory map).
        labels: ``(N,)`` int64 class ids.
        valid: ``(N,)`` int64 number of valid frames per sample (at least 1).
        names: ``(N,)`` sample names, or ``None``.
    """

    joints: np.ndarray
    labels: np.ndarray
    valid: np.ndarray
    names: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)


def valid_frames(x: np.ndarray) -> np.ndarray:
    """``(N,)`` index after the last frame with any non-zero value (at least 1), of ``(N, T, ...)`` data."""
    n, t = x.shape[:2]
    out = np.ones(n, dtype=np.int64)
    for start in range(0, n, 256):  # chunks: a memory map is read a slice at a time
        nonzero = np.abs(np.asarray(x[start : start + 256]).reshape(min(256, n - start), t, -1)).sum(-1) > 0
        last = t - np.argmax(nonzero[:, ::-1], axis=1)
        out[start : start + 256] = np.where(nonzero.any(1), last, 1)
    return out


def _member_map(path: Path, archive: zipfile.ZipFile, key: str) -> np.ndarray | None:
    """A read-only memory map of ``key.npy`` inside an uncompressed archive, or ``None`` if it is compressed."""
    info = archive.getinfo(f"{key}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = reader(member)
        header = member.tell()
    if dtype.hasobject or fortran:
        return None
    with open(path, "rb") as raw:  # the member's data start: local header + name + extra field
        raw.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(raw.read(4), dtype="<u2")
    offset = info.header_offset + 30 + int(name_len) + int(extra_len) + header
    return np.memmap(path, dtype=dtype, mode="r", shape=shape, offset=offset)


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2:  # one-hot rows
        if not np.all((y == 0) | (y == 1)) or not np.all(y.sum(1) == 1):
            raise DataError(f"{where}: 2-D labels must be one-hot rows, got other values")
        return y.argmax(1).astype(np.int64)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.number) or np.any(y != np.round(y)) or np.any(y < 0):
        raise DataError(f"{where}: labels must be (N,) non-negative integer ids or (N, C) one-hot, got {y.shape}")
    return y.astype(np.int64)


def read_skeleton_npz(path: str | os.PathLike, num_persons: int = 2, num_joints: int = 25) -> dict[str, SkeletonSplit]:
    """Every split (``train``, ``test``, ...) of the archive at ``path``.

    Args:
        path: the ``.npz`` file.
        num_persons: persons ``M`` per frame in the file.
        num_joints: joints ``J`` per person.

    Raises:
        DataError: a missing or unreadable file, a split without its labels, mismatched lengths, wrong widths,
            NaN/inf values (checked on the first frames of every sample).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: recognition archive not found (expected an .npz with x_train/y_train/x_test/y_test)")
    try:
        archive = zipfile.ZipFile(path)
        data = np.load(path, allow_pickle=False)
    except (OSError, zipfile.BadZipFile, ValueError) as err:
        raise DataError(f"{path}: not a readable .npz archive ({err})") from None
    with archive, data:
        keys = set(data.files)
        splits = sorted(k[2:] for k in keys if k.startswith("x_"))
        if not splits:
            raise DataError(f"{path}: no x_<split> arrays; found keys {sorted(keys)}")
        out = {}
        for split in splits:
            where = f"{path}[x_{split}]"
            if f"y_{split}" not in keys:
                raise DataError(f"{path}: x_{split} has no labels y_{split}")
            x = _member_map(path, archive, f"x_{split}")
            x = data[f"x_{split}"] if x is None else x
            n, width = x.shape[0], num_persons * num_joints * 3
            if x.ndim == 3 and x.shape[2] == width:
                x = x.reshape(n, x.shape[1], num_persons, num_joints, 3)
            elif x.shape[2:] != (num_persons, num_joints, 3):
                raise DataError(f"{where}: expected (N, T, {width}) or (N, T, {num_persons}, {num_joints}, 3), "
                                f"got {tuple(x.shape)}")  # fmt: skip
            labels = _labels(data[f"y_{split}"], f"{path}[y_{split}]")
            if len(labels) != n:
                raise DataError(f"{path}: x_{split} has {n} samples but y_{split} has {len(labels)}")
            head = np.asarray(x[:, : min(8, x.shape[1])])
            if not np.isfinite(head).all():
                raise DataError(f"{where}: NaN or infinite coordinates")
            valid = data[f"valid_{split}"].astype(np.int64) if f"valid_{split}" in keys else valid_frames(x)
            if len(valid) != n or np.any(valid < 1) or np.any(valid > x.shape[1]):
                raise DataError(f"{path}[valid_{split}]: expected {n} frame counts in [1, {x.shape[1]}]")
            names = data[f"names_{split}"] if f"names_{split}" in keys else None
            out[split] = SkeletonSplit(x, labels, valid, names)
    return out


def write_skeleton_npz(path: str | os.PathLike, splits: Mapping[str, tuple[np.ndarray, np.ndarray]],
                       num_persons: int = 2, names: Mapping[str, np.ndarray] | None = None) -> None:  # fmt: skip
    """Write ``{split: (joints (N, T, M, J, 3), labels (N,))}`` uncompressed and atomically (temp file + rename).

    The valid-frame counts are stored so that readers need not scan the data.
    """
    arrays: dict[str, np.ndarray] = {}
    for split, (x, y) in splits.items():
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 5 or x.shape[2] != num_persons or x.shape[4] != 3:
            raise DataError(f"{path}: split {split!r} needs joints (N, T, {num_persons}, J, 3), got {x.shape}")
        arrays[f"x_{split}"] = x.reshape(*x.shape[:2], -1)
        arrays[f"y_{split}"] = np.asarray(y, dtype=np.int64)
        arrays[f"valid_{split}"] = valid_frames(x)
        if names is not None and split in names:
            arrays[f"names_{split}"] = np.asarray(names[split], dtype=str)
    with atomic_file(path, suffix=".tmp.npz") as tmp:
        np.savez(tmp, **arrays)
