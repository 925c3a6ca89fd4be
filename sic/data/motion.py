"""Motion archives: whole sequences of any length, the output of the ``tools/prepare_*.py`` scripts.

A motion archive is a directory holding ``joints.npy`` -- the frames of every sequence, concatenated,
``(sum T, J, 3)`` float32 -- and ``meta.json`` with one entry per sequence (name, first frame,
frame count, fps, label, subject, split) plus the layout and provenance. Video datasets add
``poses2d.npy`` (the same frames' detections) and a camera per sequence in ``meta.json``. No pickles; ``joints.npy``
is memory-mapped. Clip sources (:class:`sic.data.sources.MotionArchiveSource`) cut it into the
fixed-length clips the bank samples from.

The frame convention of every archive: metres, y up, right-handed; the root joint is the pelvis;
each sequence stands on a level floor at ``y = 0`` (:func:`normalize_ground`) and its root starts
above the origin (``x = z = 0`` at frame 0). Headings are left as captured; tasks canonicalise them.

Example:
    >>> import numpy as np, tempfile
    >>> from sic.data.motion import MotionRecord, read_motion_archive, write_motion_archive
    >>> rec = MotionRecord(np.ones((40, 17, 3), np.float32), fps=120.0, layout="h36m17", label="walk", subject="07")
    >>> path = write_motion_archive(tempfile.mkdtemp() + "/demo", {"07_05": rec}, name="demo")
    >>> r = read_motion_archive(path)["07_05"]
    >>> r.joints.shape, r.fps, r.label, r.split
    ((40, 17, 3), 120.0, 'walk', 'train')
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sic.data.rotation import rotation_to_y
from sic.data.skeleton import get_layout
from sic.utils.errors import DataError
from sic.utils.io import atomic_dir, read_meta

__all__ = ["MOTION_FORMAT", "MotionRecord", "ground_transform", "normalize_ground", "read_motion_archive", "write_motion_archive"]

MOTION_FORMAT = "sic-motion-archive"
_VERSION = 1
_SPLITS = ("train", "val", "test")


@dataclass
class MotionRecord:
    """One sequence.

    Attributes:
        joints: ``(T, J, 3)`` float32 positions in metres, y up (see the module's frame convention).
        fps: frame rate.
        layout: joint layout name (e.g. ``"cmu31"``, ``"h36m17"``).
        label: action label or description (``None`` if unknown).
        subject: subject id (``None`` if unknown).
        split: ``"train"``, ``"val"`` or ``"test"``.
        poses2d: optional ``(T, J, 3)`` detections ``(u, v, confidence)`` in pixels, same joints.
        camera: with ``poses2d``, the static camera that filmed them: ``R`` ``(3, 3)`` world→camera
            (OpenCV axes), ``t`` ``(3,)`` metres, ``f``, ``c`` and ``size`` ``(2,)`` pixels.
    """

    joints: np.ndarray
    fps: float
    layout: str
    label: str | None = None
    subject: str | None = None
    split: str = "train"
    poses2d: np.ndarray | None = None
    camera: dict[str, np.ndarray] | None = None


def normalize_ground(joints: np.ndarray, root: int = 0, max_tilt_deg: float = 5.0) -> np.ndarray:
    """Put a ``(T, J, 3)`` y-up sequence on a level floor at ``y = 0`` with its root starting at ``x = z = 0``.

    The floor is a plane fitted to the lowest joint of the frames in contact with it (the lower half
    of the residuals, refitted), along the horizontal directions the subject travels over. Capture
    volumes are often slightly tilted (CMU 07_05 rises 14 cm over 4 m), so when the plane tilts by
    less than ``max_tilt_deg`` the sequence is *rotated* rigidly (bone lengths are kept) to level
    it. The median height of the lowest joint in contact frames then becomes ``y = 0``.
    """
    rot, shift = ground_transform(joints, root, max_tilt_deg)
    return (np.asarray(joints, dtype=np.float64) @ rot.T + shift).astype(joints.dtype)


def ground_transform(joints: np.ndarray, root: int = 0, max_tilt_deg: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """The rigid map ``x -> rot @ x + shift`` that :func:`normalize_ground` applies (e.g. to move cameras too)."""
    x = np.asarray(joints, dtype=np.float64)
    low = x[np.arange(len(x)), x[..., 1].argmin(-1)]  # (T, 3) lowest joint per frame
    slope = _floor_slope(low) if len(low) >= 8 else np.zeros(2)
    normal = np.array([-slope[0], 1.0, -slope[1]]) / np.hypot(np.hypot(*slope), 1.0)
    rot = rotation_to_y(normal) if 0 < np.degrees(np.arccos(normal[1])) < max_tilt_deg else np.eye(3)
    x = x @ rot.T
    low = x[np.arange(len(x)), x[..., 1].argmin(-1)]
    contact = low[:, 1] <= np.median(low[:, 1])
    return rot, -np.array([x[0, root, 0], np.median(low[contact, 1]), x[0, root, 2]])


def _floor_slope(low: np.ndarray, min_spread: float = 0.25) -> np.ndarray:
    """Floor gradient ``(dy/dx, dy/dz)`` from lowest-joint points ``(T, 3)``.

    The slope is fitted only along horizontal directions the points spread over (standard deviation
    of at least ``min_spread`` metres); along others it is unidentifiable and taken as level.
    """
    xz = low[:, [0, 2]] - low[:, [0, 2]].mean(0)
    spread, axes = np.linalg.eigh(np.cov(xz.T))
    axes = axes[:, np.sqrt(np.maximum(spread, 0)) >= min_spread]
    if axes.shape[1] == 0:
        return np.zeros(2)
    design = np.column_stack([xz @ axes, np.ones(len(xz))])
    keep = np.ones(len(low), dtype=bool)
    for _ in range(3):  # refit on the frames in contact: the lower half of the residuals
        coef = np.linalg.lstsq(design[keep], low[keep, 1], rcond=None)[0]
        resid = low[:, 1] - design @ coef
        keep = resid <= np.median(resid)
    return axes @ coef[:-1]


def write_motion_archive(
    path: str | os.PathLike, records: Mapping[str, MotionRecord], name: str, notes: dict[str, str] | None = None
) -> Path:
    """Write ``records`` (name → record, one layout) as a motion archive, atomically replacing ``path``.

    Args:
        path: archive directory.
        records: sequences; all must share a layout.
        name: archive name (logs, cache keys).
        notes: free-form provenance (source, licence, acknowledgement) stored in ``meta.json``.

    Raises:
        DataError: no records, mixed layouts, a bad shape, split, frame rate or non-finite values.
    """
    if not records:
        raise DataError(f"motion archive {path}: no sequences to write")
    layouts = {r.layout for r in records.values()}
    if len(layouts) != 1:
        raise DataError(f"motion archive {path}: sequences have different layouts {sorted(layouts)}")
    layout = get_layout(layouts.pop())
    with_2d = {r.poses2d is not None for r in records.values()}
    if len(with_2d) != 1:
        raise DataError(f"motion archive {path}: either every sequence has poses2d and a camera, or none")
    with_2d = with_2d.pop()
    entries, start = [], 0
    for key, r in records.items():
        j = np.asarray(r.joints)
        if j.ndim != 3 or j.shape[1:] != (layout.num_joints, 3) or len(j) == 0:
            raise DataError(f"sequence {key!r}: joints must be (T >= 1, {layout.num_joints}, 3) for {layout.name}, got {j.shape}")
        if not np.isfinite(j).all():
            raise DataError(f"sequence {key!r}: joints hold NaN or inf values")
        if r.split not in _SPLITS or not r.fps > 0:
            raise DataError(f"sequence {key!r}: split must be one of {_SPLITS} and fps > 0, got {r.split!r}, {r.fps}")
        entry = {"name": key, "start": start, "frames": len(j), "fps": float(r.fps), "label": r.label,
                 "subject": r.subject, "split": r.split}  # fmt: skip
        if with_2d:
            entry["camera"] = _check_2d(key, r, j.shape)
        entries.append(entry)
        start += len(j)
    path = Path(path)
    with atomic_dir(path, replace=True) as tmp:
        out = np.lib.format.open_memmap(tmp / "joints.npy", mode="w+", dtype=np.float32, shape=(start, layout.num_joints, 3))
        for e, r in zip(entries, records.values()):
            out[e["start"] : e["start"] + e["frames"]] = r.joints
        out.flush()
        del out
        if with_2d:
            out2d = np.lib.format.open_memmap(tmp / "poses2d.npy", mode="w+", dtype=np.float32, shape=(start, layout.num_joints, 3))
            for e, r in zip(entries, records.values()):
                out2d[e["start"] : e["start"] + e["frames"]] = r.poses2d
            out2d.flush()
            del out2d
        meta = {"format": MOTION_FORMAT, "version": _VERSION, "name": name, "layout": layout.name,
                "notes": dict(notes or {}), "sequences": entries}  # fmt: skip
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    return path


_CAMERA_SHAPES = {"R": (3, 3), "t": (3,), "f": (2,), "c": (2,), "size": (2,)}


def _check_2d(key: str, r: MotionRecord, shape: tuple[int, ...]) -> dict[str, list]:
    """Validate a record's detections and camera; return the camera as JSON lists."""
    if r.poses2d is None or r.camera is None or np.shape(r.poses2d) != shape:
        raise DataError(f"sequence {key!r}: poses2d must be {shape} like the joints, with a camera")
    if not np.isfinite(r.poses2d).all():
        raise DataError(f"sequence {key!r}: poses2d holds NaN or inf values")
    out = {}
    for name, want in _CAMERA_SHAPES.items():
        value = np.asarray(r.camera.get(name), dtype=np.float64)
        if value.shape != want or not np.isfinite(value).all():
            raise DataError(f"sequence {key!r}: camera {name!r} must be a finite {want} array, got {value.shape}")
        out[name] = value.tolist()
    return out


def read_motion_archive(path: str | os.PathLike, mmap: bool = True) -> dict[str, MotionRecord]:
    """Open a motion archive: sequence name → :class:`MotionRecord` (joints memory-mapped by default).

    Raises:
        DataError: naming the file for a missing directory, a malformed ``meta.json`` or a
            ``joints.npy`` that is missing, truncated or inconsistent with the sequence table.
    """
    path = Path(path)
    meta_file = path / "meta.json"
    meta = read_meta(path, "motion archive", MOTION_FORMAT, "meta.json and joints.npy")
    try:
        layout = get_layout(meta.get("layout", "<missing>"))
    except KeyError as e:
        raise DataError(f"{meta_file}: {e.args[0]}") from None
    try:
        joints = np.load(path / "joints.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
        if joints.ndim != 3 or joints.shape[1:] != (layout.num_joints, 3):
            raise DataError(f"{path / 'joints.npy'}: expected (frames, {layout.num_joints}, 3) for layout {layout.name}, got {joints.shape}")
        poses2d = np.load(path / "poses2d.npy", mmap_mode="r" if mmap else None, allow_pickle=False) if (path / "poses2d.npy").is_file() else None
        if poses2d is not None and poses2d.shape != joints.shape:
            raise DataError(f"{path / 'poses2d.npy'}: shape {poses2d.shape} differs from joints.npy's {joints.shape}")
        out = {}
        for e in meta["sequences"]:
            s, n = int(e["start"]), int(e["frames"])
            if s < 0 or n < 1 or s + n > len(joints):
                raise DataError(f"{meta_file}: sequence {e['name']!r} spans frames [{s}, {s + n}) beyond joints.npy's {len(joints)}")
            record = MotionRecord(joints[s : s + n], float(e["fps"]), layout.name, e.get("label"), e.get("subject"), e["split"])
            if poses2d is not None:
                record.poses2d = poses2d[s : s + n]
                record.camera = {k: np.asarray(v, dtype=np.float64) for k, v in e["camera"].items()}
            out[e["name"]] = record
    except KeyError as e:
        raise DataError(f"{meta_file}: missing key {e.args[0]!r}") from None
    except FileNotFoundError:
        raise DataError(f"{path / 'joints.npy'}: missing") from None
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{path / 'joints.npy'}: unreadable or truncated .npy file ({e})") from None
    return out
