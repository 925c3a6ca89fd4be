# ruff: noqa: RUF002
"""PKU-MMD (phase I) skeleton, label and split files, and cutting labelled actions out of a video.

* Skeleton ``0XXX-{L,M,R}.txt``: one line per frame of **150** numbers, 2 bodies × 25 joints × (x, y, z) in
  the Kinect v2 order of NTU RGB+D (``ntu25``); body 2 is all zeros when absent.
* Label file of the same name: CSV rows ``class, start, end, confidence`` with classes 1..51 and 1-indexed
  inclusive frame numbers.
* Split ``cross-subject.txt`` / ``cross-view.txt``: line 2 lists the training video ids, line 4 the test ids,
  comma separated (``0002-L, 0002-M, ...``); lines 1 and 3 are headers.

Example:
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from sic.data.formats.pku import cut_actions, read_pku_labels, read_pku_skeleton
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "0002-L.txt").write_text("".join(" ".join([str(t + 1.0)] * 150) + "\\n" for t in range(10)))
    >>> _ = (d / "label.txt").write_text("3,2,4,1\\n51,7,10,2\\n")
    >>> x = read_pku_skeleton(d / "0002-L.txt")
    >>> labels = read_pku_labels(d / "label.txt")
    >>> x.shape, labels
    ((10, 2, 25, 3), [(2, 1, 4), (50, 6, 10)])
    >>> [(c, clip.shape[0], float(clip[0, 0, 0, 0])) for c, clip in cut_actions(x, labels)]
    [(2, 3, 2.0), (50, 4, 7.0)]
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from sic.data.formats.asf_amc import read_lines
from sic.utils.errors import DataError

__all__ = ["NUM_CLASSES", "cut_actions", "read_pku_labels", "read_pku_skeleton", "read_pku_split"]

NUM_CLASSES = 51
_WIDTH = 2 * 25 * 3
_VIDEO_ID = re.compile(r"[A-Za-z0-9_]+-[A-Za-z0-9]+")


def _rows(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers."""
    return [(n, line) for n, line in enumerate(read_lines(path), 1) if line.strip()]


def read_pku_skeleton(path: str | os.PathLike) -> np.ndarray:
    """Read a skeleton file: ``(T, 2, 25, 3)`` float32 (values separated by spaces, tabs or commas).

    Raises:
        DataError: ``file:line`` for a line without exactly 150 numbers or with a non-numeric/non-finite value,
            or an empty file.
    """
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise DataError(f"{path}: empty skeleton file (expected one line of {_WIDTH} numbers per frame)")
    tokens: list[list[str]] = []
    for n, line in rows:
        parts = line.replace(",", " ").split()
        if len(parts) != _WIDTH:
            raise DataError(f"{path}:{n}: frame line has {len(parts)} values, expected {_WIDTH} "
                            "(2 bodies x 25 joints x xyz)")  # fmt: skip
        tokens.append(parts)
    try:
        x = np.asarray(tokens, dtype=np.float64)
    except ValueError:
        for (n, _), parts in zip(rows, tokens, strict=True):
            try:
                np.asarray(parts, dtype=np.float64)
            except ValueError:
                raise DataError(f"{path}:{n}: non-numeric value in frame line: {' '.join(parts)[:80]!r}") from None
        raise
    bad = ~np.isfinite(x).all(1)
    if bad.any():
        raise DataError(f"{path}:{rows[int(np.argmax(bad))][0]}: NaN or infinite value in frame line")
    return x.reshape(len(x), 2, 25, 3).astype(np.float32)


def read_pku_labels(path: str | os.PathLike, num_classes: int = NUM_CLASSES) -> list[tuple[int, int, int]]:
    """Read a label file: ``[(class0, start0, end_exclusive), ...]`` in file order.

    ``class0`` is the 0-indexed class (file class − 1); ``start0`` / ``end_exclusive`` index the skeleton
    frames of the action (``x[start0:end_exclusive]`` for the file's 1-indexed inclusive ``start..end``).

    Args:
        path: the CSV file (``class, start, end, confidence``; the confidence may be missing and is ignored).
        num_classes: file classes must lie in ``1..num_classes``.

    Raises:
        DataError: ``file:line`` for a row that is not 3–4 integers, a class out of range, a start below 1 or
            an end before its start; or a file without rows.
    """
    path = Path(path)
    out = []
    for n, line in _rows(path):
        parts = [p.strip() for p in line.split(",")]
        while parts and not parts[-1]:  # a trailing comma
            parts.pop()
        try:
            if len(parts) not in (3, 4):
                raise ValueError
            cls, start, end = (int(p) for p in parts[:3])
        except ValueError:
            raise DataError(f"{path}:{n}: expected a label row 'class,start,end,confidence' of integers, "
                            f"got {line.strip()[:60]!r}") from None  # fmt: skip
        if not 1 <= cls <= num_classes:
            raise DataError(f"{path}:{n}: class {cls} is outside 1..{num_classes}")
        if start < 1 or end < start:
            raise DataError(f"{path}:{n}: frames {start}..{end} are not a 1-indexed interval with start <= end")
        out.append((cls - 1, start - 1, end))
    if not out:
        raise DataError(f"{path}: no label rows (expected 'class,start,end,confidence' per line)")
    return out


def read_pku_split(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Read a split file: ``(train_ids, test_ids)`` from its second and fourth non-blank lines.

    Raises:
        DataError: fewer than four lines, an id line that looks like anything but comma-separated video ids
            (``0002-L``), an empty list, or an id in both lists.
    """
    path = Path(path)
    rows = _rows(path)
    if len(rows) < 4:
        raise DataError(f"{path}: a split file needs 4 lines (header, training ids, header, test ids), "
                        f"got {len(rows)}")  # fmt: skip
    lists = []
    for n, line in (rows[1], rows[3]):
        ids = [t.strip() for t in line.split(",") if t.strip()]
        bad = [t for t in ids if not _VIDEO_ID.fullmatch(t)]
        if not ids or bad:
            raise DataError(f"{path}:{n}: expected comma-separated video ids like '0002-L', "
                            f"got {(bad or [line.strip()])[0][:40]!r}")  # fmt: skip
        lists.append(ids)
    both = sorted(set(lists[0]) & set(lists[1]))
    if both:
        raise DataError(f"{path}: {len(both)} video id(s) are in both the training and test lists, e.g. {both[0]!r}")
    return lists[0], lists[1]


def cut_actions(joints: np.ndarray, labels: list[tuple[int, int, int]]) -> list[tuple[int, np.ndarray]]:
    """Cut each labelled interval out of a video.

    An interval running past the last frame is clipped to it (labels are sometimes a frame or two longer than
    the skeleton file).

    Args:
        joints: ``(T, M, J, 3)`` the video's skeletons.
        labels: ``(class0, start0, end_exclusive)`` as :func:`read_pku_labels` returns.

    Returns:
        ``[(class0, clip (t, M, J, 3)), ...]`` in label order; clips are copies.

    Raises:
        DataError: an interval that starts after the last frame.
    """
    out = []
    for cls, start, end in labels:
        if start >= len(joints) or end <= start:
            raise DataError(f"action of class {cls + 1} at frames {start + 1}..{end} starts after the last of "
                            f"{len(joints)} skeleton frames")  # fmt: skip
        out.append((cls, np.array(joints[start : min(end, len(joints))])))
    return out
