# ruff: noqa: RUF002
"""NTU RGB+D ``.skeleton`` files: names, the text format, the CTR-GCN denoising and centring, benchmarks.

The text format (official ``read_skeleton_file.m``): a frame count; per frame a body count (0 for an empty
frame); per body an info line of 10 values (body id + 9 tracking fields), a joint count (25) and 25 joint
lines of 12 values (``x y z depthX depthY colorX colorY orientW orientX orientY orientZ trackingState``).
Joints follow the Kinect v2 order of the ``ntu25`` layout (:mod:`sic.data.skeleton`).

:func:`denoise` and :func:`centre` are steps 2 and 3 of the preprocessing every CTR-GCN-derived repository
uses (``data/ntu/get_raw_denoised_data.py`` and ``seq_transformation.py``): they turn a parsed file into the
``(T, 2, 25, 3)`` actor-1/actor-2 array that ``python -m sic.data.prepare.ntu`` pads and stores.

Example:
    >>> import tempfile, pathlib
    >>> from sic.data.formats.ntu import centre, denoise, parse_ntu_name, read_skeleton
    >>> name = parse_ntu_name("S001C002P003R001A013")
    >>> name.camera, name.performer, name.label
    (2, 3, 12)
    >>> body = "72057594037931101 0 1 1 1 1 0 0.02 0.1 2\\n25\\n" + "".join(
    ...     f"{0.01 * j} {0.1 * j} 3 0 0 0 0 1 0 0 0 2\\n" for j in range(25))
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "S001C002P003R001A013.skeleton"
    >>> _ = p.write_text("3\\n1\\n" + body + "0\\n1\\n" + body)
    >>> ske = read_skeleton(p)
    >>> ske.num_frames, len(ske.bodies), ske.bodies[0].frames.tolist()
    (3, 1, [0, 2])
    >>> x = centre(denoise(ske))  # the empty frame is dropped; spine mid of actor 1 is the origin
    >>> x.shape, x[0, 0, 1].tolist(), bool(x[0, 1].any())
    ((2, 2, 25, 3), [0.0, 0.0, 0.0], False)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from sic.data.formats.asf_amc import read_lines
from sic.utils.errors import DataError

__all__ = [
    "BENCHMARKS",
    "BodyTrack",
    "NTUBenchmark",
    "NTUSampleName",
    "NTUSkeleton",
    "centre",
    "denoise",
    "parse_ntu_name",
    "read_missing_list",
    "read_skeleton",
]

NUM_JOINTS = 25
_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


@dataclass(frozen=True)
class NTUSampleName:
    """The fields of a sample name ``SsssCcccPpppRrrrAaaa`` (all 1-indexed, as written).

    Attributes:
        setup: setup number (1–17 in NTU-60, up to 32 in NTU-120).
        camera: camera 1–3.
        performer: performer (subject) 1–40 or 1–106.
        replication: replication 1–2.
        action: action 1–60 or 1–120.
    """

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @property
    def label(self) -> int:
        """The 0-indexed class id (``action - 1``)."""
        return self.action - 1

    @property
    def name(self) -> str:
        """The canonical name, e.g. ``S001C002P003R001A013``."""
        return f"S{self.setup:03d}C{self.camera:03d}P{self.performer:03d}R{self.replication:03d}A{self.action:03d}"


def parse_ntu_name(name: str | os.PathLike) -> NTUSampleName:
    """Parse a sample name, a file name (``.skeleton`` and other suffixes ignored) or a path.

    Raises:
        DataError: the name is not ``SsssCcccPpppRrrrAaaa`` with three digits per field.
    """
    stem = Path(name).name.split(".")[0]
    m = _NAME.fullmatch(stem)
    if m is None:
        raise DataError(f"{str(name)!r} is not an NTU RGB+D sample name (expected SsssCcccPpppRrrrAaaa, "
                        "e.g. S001C002P003R001A013)")  # fmt: skip
    fields = [int(g) for g in m.groups()]
    if min(fields) < 1:
        raise DataError(f"{str(name)!r}: NTU RGB+D name fields are 1-indexed, got a 000 field")
    return NTUSampleName(*fields)


@dataclass
class BodyTrack:
    """One tracked body (one Kinect body id) of a file.

    Attributes:
        body_id: the Kinect tracking id (first value of the body info line).
        frames: ``(F,)`` int64 indices of the file frames in which the body appears (increasing).
        joints: ``(F, 25, 3)`` float32 camera-space positions in metres.
        colors: ``(F, 25, 2)`` float32 colour-image coordinates (1920 × 1080).
    """

    body_id: int
    frames: np.ndarray
    joints: np.ndarray
    colors: np.ndarray


@dataclass
class NTUSkeleton:
    """A parsed ``.skeleton`` file.

    Attributes:
        num_frames: frames declared by the file, empty ones included.
        bodies: tracks in order of first appearance.
        path: the file it was read from.
    """

    num_frames: int
    bodies: list[BodyTrack] = field(default_factory=list)
    path: Path | None = None


class _Lines:
    """Non-blank lines of a file with their 1-based numbers, read one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = read_lines(path)
        self.i = 0
        self.last = len(self.lines) - (self.lines[-1] == "")  # number of the last line (files end with "\n")

    def next(self, what: str, where: str) -> tuple[int, list[str]]:
        """The next non-blank line's number and whitespace-separated values."""
        while self.i < len(self.lines) and not self.lines[self.i].strip():
            self.i += 1
        if self.i >= len(self.lines):
            raise DataError(f"{self.path}:{max(self.last, 1)}: file ends {where}, expected {what} (truncated file?)")
        self.i += 1
        return self.i, self.lines[self.i - 1].split()

    def integer(self, what: str, where: str) -> int:
        """A line holding one non-negative integer."""
        n, parts = self.next(what, where)
        if len(parts) != 1 or not parts[0].isdigit():
            raise DataError(f"{self.path}:{n}: expected {what} (one integer) {where}, got {' '.join(parts)[:60]!r}")
        return int(parts[0])

    def numbers(self, rows: int, width: int, what: str, where: str) -> np.ndarray:
        """``(rows, width)`` float64 values of the next ``rows`` lines, each with exactly ``width`` numbers."""
        numbers, tokens = [], []
        for _ in range(rows):
            n, parts = self.next(what, where)
            if len(parts) != width:
                raise DataError(f"{self.path}:{n}: {what} line has {len(parts)} values, expected {width} {where}")
            numbers.append(n)
            tokens.append(parts)
        try:
            return np.asarray(tokens, dtype=np.float64)
        except ValueError:
            for n, parts in zip(numbers, tokens, strict=True):  # find the offending line
                try:
                    np.asarray(parts, dtype=np.float64)
                except ValueError:
                    raise DataError(f"{self.path}:{n}: non-numeric value in {what} line {where}: "
                                    f"{' '.join(parts)[:80]!r}") from None  # fmt: skip
            raise


_JOINT_LINE = "joint (x y z depthX depthY colorX colorY orientW..Z trackingState)"


def read_skeleton(path: str | os.PathLike) -> NTUSkeleton:
    """Read an NTU RGB+D ``.skeleton`` text file (LF or CRLF; blank lines and data after the last frame ignored).

    Frames with no body (``0`` as body count) are legal: they appear in no track's ``frames``.

    Raises:
        DataError: ``file:line`` and what was expected, for a truncated file, a line with the wrong number
            of values, a non-numeric or non-finite value, a joint count other than 25 or a body id twice in
            one frame.
    """
    path = Path(path)
    src = _Lines(path)
    num_frames = src.integer("the frame count", "at the start")
    tracks: dict[int, tuple[list[int], list[np.ndarray], list[np.ndarray]]] = {}
    for f in range(num_frames):
        where = f"in frame {f + 1} of {num_frames}"
        for b in range(src.integer("a body count", where)):
            body_where = f"in body {b + 1} of frame {f + 1}"
            n, info = src.next("a body info line (body id + 9 tracking values)", body_where)
            if len(info) != 10 or not info[0].isdigit():
                raise DataError(f"{path}:{n}: expected a body info line of 10 values starting with an integer "
                                f"body id {body_where}, got {len(info)} values {' '.join(info)[:60]!r}")  # fmt: skip
            body_id = int(info[0])
            ln, count = src.next(f"the joint count ({NUM_JOINTS})", body_where)
            if count != [str(NUM_JOINTS)]:
                raise DataError(f"{path}:{ln}: expected the joint count {NUM_JOINTS} {body_where}, "
                                f"got {' '.join(count)[:60]!r}")  # fmt: skip
            values = src.numbers(NUM_JOINTS, 12, _JOINT_LINE, body_where)
            if not np.isfinite(values).all():
                raise DataError(f"{path}:{src.i}: NaN or infinite joint values {body_where}")
            frames, joints, colors = tracks.setdefault(body_id, ([], [], []))
            if frames and frames[-1] == f:
                raise DataError(f"{path}:{n}: body id {body_id} appears twice {where}")
            frames.append(f)
            joints.append(values[:, 0:3])
            colors.append(values[:, 5:7])
    bodies = [
        BodyTrack(body_id, np.asarray(fr, np.int64), np.asarray(jo, np.float32), np.asarray(co, np.float32))
        for body_id, (fr, jo, co) in tracks.items()
    ]
    return NTUSkeleton(num_frames, bodies, path)


def _motion(joints: np.ndarray) -> float:
    """CTR-GCN's motion score: the sum over x, y, z of the variance over every joint of every frame."""
    return float(np.var(joints.reshape(-1, 3), axis=0).sum())


def denoise(skeleton: NTUSkeleton, *, length_threshold: int = 11, spread_threshold: float = 0.8,
            spread_ratio_threshold: float = 0.69754) -> np.ndarray:  # fmt: skip
    """Choose up to two actors and lay them out per frame, as CTR-GCN's ``get_raw_denoised_data.py`` does.

    Steps (only for files with more than one body id; a single body is kept as it is):

    1. drop bodies tracked in ``<= length_threshold`` frames;
    2. spread test: a frame is noisy if its x-range exceeds ``spread_threshold`` × its y-range; a body whose
       noisy-frame ratio is ``>= spread_ratio_threshold`` is dropped (never the last one left), otherwise its
       motion becomes the smaller of its motion and the motion of its clean frames;
    3. sort by motion (sum over x, y, z of the variance over all joints and frames), largest first;
    4. the first body is actor 1; each further body joins actor 1 if its frame interval does not overlap actor
       1's, else actor 2 if it does not overlap actor 2's (which starts as ``[0, 0]``), else it is dropped.

    Frame positions follow the reference: empty frames are removed first, and a body occupies the consecutive
    frames from its first appearance (a body that vanishes and comes back is not re-aligned); intervals
    sharing only an end frame count as non-overlapping. Frames left with no data are removed.

    Args:
        skeleton: a parsed file.
        length_threshold: bodies tracked in at most this many frames are noise.
        spread_threshold: the x-range / y-range ratio above which a frame is noisy.
        spread_ratio_threshold: the fraction of noisy frames from which a body is noise.

    Returns:
        ``(T', 2, 25, 3)`` float32: actor 1 then actor 2 (zeros where absent).

    Raises:
        DataError: the file has no body at all (a "missing skeleton" sample), or every body is noise.
    """
    where = skeleton.path or "skeleton"
    bodies = list(skeleton.bodies)
    if not bodies:
        raise DataError(
            f"{where}: no body in any of its {skeleton.num_frames} frames (a sample with missing skeletons)"
        )
    occupied = np.unique(np.concatenate([b.frames for b in bodies]))
    starts = {id(b): int(np.searchsorted(occupied, b.frames[0])) for b in bodies}
    if len(bodies) > 1:
        motion = {id(b): _motion(b.joints) for b in bodies}
        bodies = [b for b in bodies if len(b.frames) > length_threshold]
        if not bodies:
            raise DataError(f"{where}: every body is tracked in <= {length_threshold} frames (all noise)")
        for b in list(bodies):
            if len(bodies) == 1:
                break
            x, y = b.joints[..., 0], b.joints[..., 1]
            noisy = (x.max(1) - x.min(1)) > spread_threshold * (y.max(1) - y.min(1))
            if not noisy.any():
                continue
            if noisy.mean() >= spread_ratio_threshold:
                bodies.remove(b)
            else:
                motion[id(b)] = min(motion[id(b)], _motion(b.joints[~noisy]))
        bodies = sorted(bodies, key=lambda b: motion[id(b)], reverse=True)  # stable: ties keep file order
    out = np.zeros((len(occupied), 2, NUM_JOINTS, 3), np.float32)
    spans = [[0, 0], [0, 0]]  # actor 1's is set by the first body; actor 2 starts at the reference's [0, 0]
    for k, b in enumerate(bodies):
        s = starts[id(b)]
        e = s + len(b.frames) - 1
        if k == 0:
            actor = 0
            spans[0] = [s, e]
        else:
            free = [min(end, e) - max(start, s) <= 0 for start, end in spans]
            if not any(free):
                continue
            actor = free.index(True)
            spans[actor] = [min(s, spans[actor][0]), max(e, spans[actor][1])]
        out[s : e + 1, actor] = b.joints
    keep = np.abs(out).reshape(len(out), -1).sum(1) > 0
    if not keep.any():
        raise DataError(f"{where}: every joint of the chosen actors is zero")
    return out[keep]


def centre(joints: np.ndarray, joint: int = 1) -> np.ndarray:
    """Translate a sequence so that ``joint`` of actor 1 in its first non-zero frame is the origin.

    Persons that are all zero in a frame (absent, or padding) stay zero; a sequence whose actor 1 is never
    present is returned unchanged (as a copy).

    Args:
        joints: ``(T, M, J, 3)`` positions, actor 1 first.
        joint: the origin joint (1 = spine mid in ``ntu25``).

    Returns:
        ``(T, M, J, 3)`` float32 centred copy.
    """
    x = np.array(joints, dtype=np.float32)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise DataError(f"centre: expected joints (T, M, J, 3), got {x.shape}")
    present = np.abs(x).reshape(*x.shape[:2], -1).sum(-1) > 0  # (T, M)
    if not present[:, 0].any():
        return x
    first = int(np.argmax(present[:, 0]))
    x -= x[first, 0, joint]
    x[~present] = 0.0
    return x


@dataclass(frozen=True)
class NTUBenchmark:
    """A standard NTU RGB+D benchmark: which samples belong and which of them train.

    Attributes:
        name: e.g. ``ntu60-xsub``.
        num_classes: 60 or 120 (samples with a larger action number are not part of it).
        max_setup: the last setup of the dataset (17 for NTU-60, 32 for NTU-120).
        split_by: the name field that decides the split.
        train_values: values of that field that go to ``train``; the rest go to ``test``.
    """

    name: str
    num_classes: int
    max_setup: int
    split_by: Literal["performer", "camera", "setup"]
    train_values: frozenset[int]

    def includes(self, sample: NTUSampleName) -> bool:
        """Whether the sample is part of the benchmark's dataset."""
        return sample.action <= self.num_classes and sample.setup <= self.max_setup

    def split_of(self, sample: NTUSampleName) -> Literal["train", "test"]:
        """``train`` or ``test`` for a sample of the benchmark."""
        return "train" if getattr(sample, self.split_by) in self.train_values else "test"


NTU60_TRAIN_PERFORMERS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
NTU120_TRAIN_PERFORMERS = (
    *NTU60_TRAIN_PERFORMERS,
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93,
    94, 95, 97, 98, 100, 103,
)  # fmt: skip

BENCHMARKS: dict[str, NTUBenchmark] = {
    b.name: b
    for b in (
        NTUBenchmark("ntu60-xsub", 60, 17, "performer", frozenset(NTU60_TRAIN_PERFORMERS)),
        NTUBenchmark("ntu60-xview", 60, 17, "camera", frozenset({2, 3})),
        NTUBenchmark("ntu120-xsub", 120, 32, "performer", frozenset(NTU120_TRAIN_PERFORMERS)),
        NTUBenchmark("ntu120-xset", 120, 32, "setup", frozenset(range(2, 33, 2))),
    )
}
"""The four standard benchmarks (train performers, cameras 2 and 3, even setups)."""


def read_missing_list(path: str | os.PathLike) -> set[str]:
    """The sample names of an official "samples with missing skeletons" list.

    Every ``SsssCcccPpppRrrrAaaa`` token in the file counts (one per line in the official files; header or
    comment lines without a name are ignored).

    Raises:
        DataError: the file is missing or holds no sample name.
    """
    path = Path(path)
    names = {m.group(0) for line in read_lines(path) for m in _NAME.finditer(line)}
    if not names:
        raise DataError(f"{path}: no NTU RGB+D sample names (expected one SsssCcccPpppRrrrAaaa per line)")
    return names
