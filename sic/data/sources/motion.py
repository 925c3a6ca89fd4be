"""Clip source over a motion archive (``tools/prepare_*.py`` output): real sequences → bank clips.

Each split's sequences are mapped to H3.6M-17 (an anatomical or the reference's legacy joint map),
resampled to the source frame rate by linear interpolation in time (exact rates, no integer
decimation: 120 Hz mocap becomes true 25 or 50 fps), cut into overlapping windows and cached as a
clip archive. Optional virtual cameras film every window and add noisy 2D detections, so 3D-only
mocap also serves the 2D tasks (pose estimation, future pose estimation).

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from sic.data.motion import MotionRecord, write_motion_archive
    >>> from sic.data.sources import MotionArchiveSource
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> recs = {f"s{i}": MotionRecord(np.random.rand(240, 17, 3).astype(np.float32), 120.0, "h36m17", split=s)
    ...         for i, s in enumerate(["train", "val", "test"])}
    >>> src = MotionArchiveSource(str(write_motion_archive(d / "mocap", recs, name="demo")), fps=25.0)
    >>> src.load("train", 32, d / "cache").poses3d.shape
    (2, 32, 17, 3)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from sic.data.archive import ClipArchive
from sic.data.camera import render_views
from sic.data.mapping import get_joint_map
from sic.data.motion import read_motion_archive
from sic.data.sources.base import SPLITS, ClipSource
from sic.data.sources.procedural import resample
from sic.utils.errors import ConfigError, DataError

__all__ = ["MotionArchiveSource"]

_VERSION = 1  # bump when the clip construction changes, to invalidate caches


class MotionArchiveSource(ClipSource):
    """Fixed-length clips cut from a motion archive.

    Args:
        root: motion archive directory (see :mod:`sic.data.motion`).
        fps: frame rate of the clips (sequences are resampled to it).
        clip_frames: frames per stored training clip (at least the tasks' window; longer clips let
            the bank draw windows at random offsets). Default: the tasks' window. Validation and
            test clips are always exactly one window, so short held-out sequences still count.
        stride: frames between training clip starts (default: half a clip; evaluation clips
            overlap by half a window).
        joint_map: ``"anatomical"`` or ``"legacy"`` (the reference's shifted SMPL mapping).
        virtual_cameras: for archives without recorded 2D, film clips with virtual cameras to serve
            the 2D tasks. Archives with recorded detections (Human3.6M) always use those.
        val_split: the archive split used for validation (``"test"`` for Human3.6M, which has no
            validation subjects; validating on the test subjects is then model selection on test).
        seed: seed of the virtual cameras and detection noise.
        name: name in logs and cache paths (default: the archive's name).
        tasks: task ids served (default: all the data supports).
    """

    layout = "h36m17"

    def __init__(
        self,
        root: str,
        fps: float = 50.0,
        clip_frames: int | None = None,
        stride: int | None = None,
        joint_map: str = "anatomical",
        virtual_cameras: bool = True,
        seed: int = 0,
        val_split: str = "val",
        name: str | None = None,
        tasks: list[str] | None = None,
    ) -> None:
        self.root = Path(root).expanduser()
        self.records = read_motion_archive(self.root)
        first = next(iter(self.records.values()))
        if not fps > 0:
            raise ConfigError(f"MotionArchiveSource fps must be positive, got {fps}")
        for key, value in (("clip_frames", clip_frames), ("stride", stride)):
            if value is not None and value < 1:
                raise ConfigError(f"MotionArchiveSource {key} must be >= 1, got {value}")
        self.joint_map = get_joint_map(first.layout, self.layout, joint_map)
        meta = (self.root / "meta.json").read_bytes()
        super().__init__(name or json.loads(meta)["name"], tasks)
        # Cached clips are keyed by the archive's content: its sequence table and its joints file.
        stat = (self.root / "joints.npy").stat()
        self._fingerprint = [hashlib.sha1(meta).hexdigest(), stat.st_size, stat.st_mtime_ns]
        self.fps, self.clip_frames, self.stride = float(fps), clip_frames, stride
        if val_split not in SPLITS:
            raise ConfigError(f"MotionArchiveSource val_split must be one of {SPLITS}, got {val_split!r}")
        self.recorded_2d = first.poses2d is not None
        self.has_2d, self.seed, self.val_split = self.recorded_2d or virtual_cameras, seed, val_split
        labels = sorted({r.label for r in self.records.values() if r.label is not None})
        subjects = sorted({r.subject for r in self.records.values() if r.subject is not None})
        self.class_names, self._label_id = tuple(labels), {n: i for i, n in enumerate(labels)}
        self._subject_id = {s: i for i, s in enumerate(subjects)}

    def _cache_path(self, split: str, length: int, stride: int, cache_dir: Path) -> Path:
        key = [*self._fingerprint, self.fps, length, stride, self.joint_map.variant, self.has_2d, self.seed, _VERSION]
        digest = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:12]
        return cache_dir / "motion" / f"{self.name}-{digest}" / split

    def load(self, split: str, min_frames: int, cache_dir: Path) -> ClipArchive:  # noqa: D102
        split = self.val_split if split == "val" else split
        length = max(min_frames, self.clip_frames or 0) if split == "train" else min_frames
        stride = (self.stride if split == "train" else None) or max(1, length // 2)
        path = self._cache_path(split, length, stride, cache_dir)
        if (path / "meta.json").is_file():
            return ClipArchive.load(path, check_finite=False)
        self._clips(split, length, stride).save(path)
        return ClipArchive.load(path, check_finite=False)

    def _clips(self, split: str, length: int, stride: int) -> ClipArchive:
        records = [r for r in self.records.values() if r.split == split]
        if not records:
            raise DataError(f"motion archive {self.root}: no {split!r} sequences (splits present: "
                            f"{sorted({r.split for r in self.records.values()})})")  # fmt: skip
        clips, views, cameras, labels, subjects = [], [], [], [], []
        for r in records:
            windows = self._windows(r.joints, r.fps, length, stride)
            clips.append(windows)
            if self.recorded_2d:
                views.append(self._windows(r.poses2d, r.fps, length, stride))
                cameras += [r.camera] * len(windows)
            labels += [self._label_id.get(r.label, -1)] * len(windows)
            subjects += [self._subject_id.get(r.subject, -1)] * len(windows)
        poses = np.concatenate(clips)
        if len(poses) == 0:
            longest = max((len(r.joints) - 1) / r.fps for r in records)
            raise DataError(
                f"motion archive {self.root}: no {split!r} sequence is long enough for {length}-frame clips at "
                f"{self.fps:g} fps ({(length - 1) / self.fps:.2f} s; the longest is {longest:.2f} s): lower clip_frames, data.num_frames or fps"
            )
        extra = {}
        if self.recorded_2d:
            extra["poses2d"] = np.concatenate(views)
            extra.update({f"cam_{k}": np.stack([c[k] for c in cameras]) for k in ("R", "t", "f", "c", "size")})
        elif self.has_2d:
            rng = np.random.default_rng([self.seed, SPLITS.index(split)])
            cams, extra["poses2d"] = render_views(poses, rng, root=0)
            extra.update(cam_R=cams.R, cam_t=cams.t, cam_f=cams.f, cam_c=cams.c, cam_size=cams.size)
        archive = ClipArchive(
            poses3d=poses, fps=self.fps, layout=self.layout, name=self.name, labels=np.asarray(labels),
            subjects=np.asarray(subjects), class_names=list(self.class_names), **extra,
        )  # fmt: skip
        archive.check_finite()
        return archive

    def _windows(self, frames: np.ndarray, fps: float, length: int, stride: int) -> np.ndarray:
        """``(n, length, 17, 3)`` clips of one sequence's mapped, resampled ``frames`` (none if too short)."""
        x = resample(self.joint_map(np.asarray(frames)), fps, self.fps, axis=0).astype(np.float32)
        if len(x) < length:
            return np.zeros((0, length, *x.shape[1:]), np.float32)
        starts = np.arange(0, len(x) - length + 1, stride)
        return x[starts[:, None] + np.arange(length)]
