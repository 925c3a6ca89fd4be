"""Biovision BVH files: hierarchy, channels and forward kinematics.

Conventions: a joint's local rotation is the product of its rotation channels in the order listed,
read left to right (``Zrotation Yrotation Xrotation`` gives ``Rz·Ry·Rx``); a joint with position
channels uses them as its local translation, otherwise its ``OFFSET``; ``End Site`` blocks become
extra leaf joints named ``<parent>/end``. Positions stay in file units (centimetres, inches, CMU's
1/0.45 inch ...); the caller scales them.

Example:
    >>> import tempfile, pathlib
    >>> from sic.data.formats.bvh import read_bvh
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.bvh"
    >>> _ = p.write_text(
    ...     "HIERARCHY\\nROOT Hips\\n{\\n OFFSET 0 0 0\\n CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\\n"
    ...     " JOINT Knee\\n {\\n  OFFSET 0 -40 0\\n  CHANNELS 3 Zrotation Yrotation Xrotation\\n"
    ...     "  End Site\\n  {\\n   OFFSET 0 -40 0\\n  }\\n }\\n}\\nMOTION\\nFrames: 1\\nFrame Time: 0.0333333\\n"
    ...     "0 90 0 0 0 0 0 0 90\\n")
    >>> bvh = read_bvh(p)
    >>> bvh.names, bvh.positions().round(3).tolist()
    (['Hips', 'Knee', 'Knee/end'], [[[0.0, 90.0, 0.0], [0.0, 50.0, 0.0], [0.0, 50.0, -40.0]]])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sic.data.formats.asf_amc import read_lines
from sic.data.rotation import euler_matrix
from sic.utils.errors import DataError

__all__ = ["Bvh", "read_bvh"]

_ROT = {"xrotation": "x", "yrotation": "y", "zrotation": "z"}
_POS = {"xposition": 0, "yposition": 1, "zposition": 2}


@dataclass
class Bvh:
    """A parsed BVH file.

    Attributes:
        names: joint names in file order; end sites are ``<parent>/end``.
        parents: parent index per joint (``-1`` for the root).
        offsets: ``(J, 3)`` rest offsets from the parent, file units.
        channels: per joint, its channel names (lower case; empty for end sites).
        motion: ``(T, C)`` channel values, columns in joint then channel order.
        frame_time: seconds per frame from the header.
        path: the file it was read from.
    """

    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    motion: np.ndarray
    frame_time: float
    path: Path | None = None

    @property
    def num_frames(self) -> int:
        """Frames ``T``."""
        return self.motion.shape[0]

    @property
    def fps(self) -> float:
        """Frame rate written in the header (CMU writes 120 for every trial: prefer an index)."""
        return 1.0 / self.frame_time

    def channel_values(self, joint: int) -> np.ndarray:
        """``(T, len(channels[joint]))`` values of one joint's channels."""
        start = sum(len(c) for c in self.channels[:joint])
        return self.motion[:, start : start + len(self.channels[joint])]

    def positions(self, frames: slice | np.ndarray | None = None) -> np.ndarray:
        """Joint positions ``(T, J, 3)`` float64 in file units by forward kinematics."""
        motion = self.motion if frames is None else self.motion[frames]
        t = motion.shape[0]
        rot = np.zeros((len(self.names), t, 3, 3))
        pos = np.zeros((len(self.names), t, 3))
        column = 0
        for j, (parent, chans) in enumerate(zip(self.parents, self.channels)):
            values = motion[:, column : column + len(chans)]
            column += len(chans)
            order = "".join(_ROT[c] for c in chans if c in _ROT)
            angles = np.deg2rad(np.stack([values[:, k] for k, c in enumerate(chans) if c in _ROT], axis=-1)) if order else None
            local = euler_matrix(order, angles) if order else np.broadcast_to(np.eye(3), (t, 3, 3))
            shift = np.broadcast_to(self.offsets[j], (t, 3)).copy()
            for k, c in enumerate(chans):
                if c in _POS:
                    shift[:, _POS[c]] = values[:, k]
            if parent < 0:
                rot[j], pos[j] = local, shift
            else:
                rot[j] = rot[parent] @ local
                pos[j] = pos[parent] + np.einsum("tij,tj->ti", rot[parent], shift)
        return pos.transpose(1, 0, 2)


class _Tokens:
    """Whitespace tokens of the hierarchy with their line numbers."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path, self.items, self.i = path, [(n, t) for n, line in enumerate(lines, 1) for t in line.split()], 0

    def next(self, what: str) -> tuple[int, str]:
        if self.i >= len(self.items):
            raise DataError(f"{self.path}: file ends inside the HIERARCHY, expected {what}")
        self.i += 1
        return self.items[self.i - 1]

    def expect(self, word: str) -> int:
        n, t = self.next(repr(word))
        if t.upper() != word.upper():
            raise DataError(f"{self.path}:{n}: expected {word!r}, got {t!r}")
        return n

    def floats(self, count: int, what: str) -> np.ndarray:
        out = []
        for _ in range(count):
            n, t = self.next(what)
            try:
                out.append(float(t))
            except ValueError:
                raise DataError(f"{self.path}:{n}: {what} needs {count} numbers, got {t!r}") from None
        return np.asarray(out)


def read_bvh(path: str | os.PathLike) -> Bvh:
    """Read a BVH file (LF, CRLF or mixed line endings; tabs or spaces).

    Raises:
        DataError: naming the file and line for a malformed hierarchy, an unknown channel, a frame
            line with the wrong number of values, or fewer frames than the header declares.
    """
    path = Path(path)
    lines = read_lines(path)
    motion_line = next((n for n, line in enumerate(lines) if line.strip().upper() == "MOTION"), None)
    if motion_line is None:
        raise DataError(f"{path}: not a BVH file (no MOTION section)")
    tok = _Tokens(path, lines[:motion_line])
    tok.expect("HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[np.ndarray] = []
    channels: list[list[str]] = []

    def block(name: str, parent: int, end_site: bool) -> None:
        index = len(names)
        names.append(name)
        parents.append(parent)
        tok.expect("{")
        tok.expect("OFFSET")
        offsets.append(tok.floats(3, f"OFFSET of {name!r}"))
        chans: list[str] = []
        if not end_site:
            n, word = tok.next("CHANNELS")
            if word.upper() != "CHANNELS":
                raise DataError(f"{path}:{n}: joint {name!r} needs a CHANNELS line, got {word!r}")
            count = int(tok.floats(1, "channel count")[0])
            for k in range(count):
                n, c = tok.next("a channel name")
                if c.upper() in ("JOINT", "END", "}", "OFFSET", "CHANNELS"):
                    raise DataError(f"{path}:{n}: joint {name!r} declares {count} channels but lists {k}")
                if c.lower() not in _ROT and c.lower() not in _POS:
                    raise DataError(f"{path}:{n}: unknown channel {c!r} of joint {name!r}")
                chans.append(c.lower())
        channels.append(chans)
        while True:
            n, word = tok.next("'}'")
            if word == "}":
                return
            if end_site:
                raise DataError(f"{path}:{n}: End Site of {names[parent]!r} must close with '}}', got {word!r}")
            if word.upper() == "JOINT":
                block(tok.next("a joint name")[1], index, False)
            elif word.upper() == "END":
                tok.expect("Site")
                block(f"{name}/end", index, True)
            else:
                raise DataError(f"{path}:{n}: expected JOINT, End Site or '}}' in joint {name!r}, got {word!r}")

    tok.expect("ROOT")
    block(tok.next("the root name")[1], -1, False)
    motion = _read_motion(path, lines, motion_line, sum(len(c) for c in channels))
    return Bvh(names, parents, np.stack(offsets), channels, motion[0], motion[1], path)


def _read_motion(path: Path, lines: list[str], motion_line: int, width: int) -> tuple[np.ndarray, float]:
    header: dict[str, str] = {}
    n = motion_line + 1
    while n < len(lines) and len(header) < 2:
        key, _, value = lines[n].partition(":")
        if not value:
            raise DataError(f"{path}:{n + 1}: expected 'Frames:' and 'Frame Time:' after MOTION, got {lines[n].strip()!r}")
        header[" ".join(key.lower().split())] = value.strip()
        n += 1
    try:
        frames, frame_time = int(header["frames"]), float(header["frame time"])
    except (KeyError, ValueError):
        raise DataError(f"{path}:{motion_line + 1}: MOTION needs numeric 'Frames:' and 'Frame Time:' lines, got {header}") from None
    if frame_time <= 0 or frames < 1:
        raise DataError(f"{path}: Frames must be >= 1 and Frame Time > 0, got {frames} and {frame_time}")
    rows = [(k + 1, line) for k, line in enumerate(lines[n:], n) if line.strip()]
    if len(rows) < frames:
        raise DataError(f"{path}: header declares {frames} frames but only {len(rows)} follow (truncated file?)")
    values = []
    for lineno, line in rows[:frames]:
        parts = line.split()
        if len(parts) != width:
            raise DataError(f"{path}:{lineno}: frame line has {len(parts)} values, expected {width} (one per channel)")
        values.extend(parts)
    try:
        motion = np.asarray(values, dtype=np.float64).reshape(frames, width)
    except ValueError as e:
        raise DataError(f"{path}: non-numeric value in MOTION data ({e})") from None
    if not np.isfinite(motion).all():
        raise DataError(f"{path}: MOTION data holds NaN or inf values")
    return motion, frame_time
