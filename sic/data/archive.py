"""Clip archives: the on-disk store of the skeleton bank, one directory per source and split.

A directory holds one ``.npy`` file per array (float32, C-contiguous, opened memory-mapped) and a
``meta.json``. Clips are stored once, as fixed-length windows; tasks are transforms on them
(:mod:`sic.data.tasks`). No pickles are involved, so loading never executes code.

===============  ======================  ==================================================
array            shape, dtype            meaning
===============  ======================  ==================================================
``poses3d``      (N, L, J, 3) float32    world joints, metres, y up
``poses2d``      (N, L, J, 3) float32    optional detections ``(u, v, confidence)``, pixels
``cam_R``        (N, 3, 3) float32       world→camera rotation (OpenCV camera), with 2D
``cam_t``        (N, 3) float32          world→camera translation, metres
``cam_f/cam_c``  (N, 2) float32          focal length, principal point, pixels
``cam_size``     (N, 2) float32          image (width, height), pixels
``labels``       (N,) int64              optional action class (``-1`` = none)
``subjects``     (N,) int64              optional subject id
===============  ======================  ==================================================

Example:
    >>> import numpy as np, tempfile
    >>> from sic.data.archive import ClipArchive
    >>> a = ClipArchive(poses3d=np.zeros((4, 32, 17, 3), np.float32), fps=50.0, layout="h36m17", name="demo")
    >>> path = a.save(tempfile.mkdtemp() + "/train")
    >>> ClipArchive.load(path).num_clips
    4
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sic.data.skeleton import get_layout
from sic.utils.errors import DataError
from sic.utils.io import atomic_dir, read_meta

__all__ = ["FORMAT", "ClipArchive"]

FORMAT = "sic-clip-archive"
VERSION = 1
_CAMERA = ("cam_R", "cam_t", "cam_f", "cam_c", "cam_size")
_OPTIONAL = ("poses2d", *_CAMERA, "labels", "subjects")
_TRAILING = {"poses3d": (3,), "poses2d": (3,), "cam_R": (3, 3), "cam_t": (3,), "cam_f": (2,), "cam_c": (2,), "cam_size": (2,)}


@dataclass
class ClipArchive:
    """Clips of one source and split; arrays as in the module table (numpy, possibly memory-mapped)."""

    poses3d: np.ndarray
    fps: float
    layout: str
    name: str
    poses2d: np.ndarray | None = None
    cam_R: np.ndarray | None = None
    cam_t: np.ndarray | None = None
    cam_f: np.ndarray | None = None
    cam_c: np.ndarray | None = None
    cam_size: np.ndarray | None = None
    labels: np.ndarray | None = None
    subjects: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    path: Path | None = None

    def __post_init__(self) -> None:
        self.validate()

    @property
    def num_clips(self) -> int:
        """Number of clips ``N``."""
        return self.poses3d.shape[0]

    @property
    def num_frames(self) -> int:
        """Frames per stored clip ``L``."""
        return self.poses3d.shape[1]

    @property
    def has_2d(self) -> bool:
        """Whether 2D detections and cameras are stored."""
        return self.poses2d is not None and self.cam_R is not None

    def _where(self) -> str:
        return f"archive {str(self.path) if self.path else self.name!r}"

    def validate(self) -> None:
        """Check shapes, dtypes and layout; raise :class:`DataError` naming the archive and array."""
        try:
            layout = get_layout(self.layout)
        except KeyError as e:
            raise DataError(f"{self._where()}: {e.args[0]}") from None
        if self.fps <= 0:
            raise DataError(f"{self._where()}: fps must be positive, got {self.fps}")
        p = self.poses3d
        if p.ndim != 4 or p.shape[2:] != (layout.num_joints, 3):
            raise DataError(
                f"{self._where()}: poses3d must be (N, L, {layout.num_joints}, 3) for layout {layout.name!r}, got {p.shape}"
            )
        n = p.shape[0]
        for key in _OPTIONAL:
            a = getattr(self, key)
            if a is None:
                continue
            if a.shape[0] != n:
                raise DataError(f"{self._where()}: {key} has {a.shape[0]} clips but poses3d has {n}")
            if key in _TRAILING and a.shape[-len(_TRAILING[key]) :] != _TRAILING[key]:
                raise DataError(f"{self._where()}: {key} must end in {_TRAILING[key]}, got {a.shape}")
        if self.poses2d is not None:
            if self.poses2d.shape[:3] != p.shape[:3]:
                raise DataError(
                    f"{self._where()}: inconsistent frame counts: poses2d is {self.poses2d.shape[:3]} but poses3d is {p.shape[:3]}"
                )
            if self.cam_R is None or self.cam_t is None or self.cam_size is None:
                raise DataError(f"{self._where()}: poses2d needs cam_R, cam_t and cam_size")

    def check_finite(self, chunk: int = 4096) -> None:
        """Raise :class:`DataError` if any float array holds NaN or inf (checked in chunks)."""
        for key in ("poses3d", *_OPTIONAL):
            a = getattr(self, key)
            if a is None or a.dtype.kind != "f":
                continue
            for s in range(0, a.shape[0], chunk):
                bad = ~np.isfinite(a[s : s + chunk])
                if bad.any():
                    clip = s + int(np.argwhere(bad)[0][0])
                    raise DataError(f"{self._where()}: {key} holds NaN or inf values (first in clip {clip})")

    def save(self, path: str | os.PathLike) -> Path:
        """Write the archive to directory ``path`` atomically; returns the path."""
        path = Path(path)
        with atomic_dir(path) as tmp:
            arrays = {"poses3d": self.poses3d, **{k: getattr(self, k) for k in _OPTIONAL if getattr(self, k) is not None}}
            for key, a in arrays.items():
                dtype = np.int64 if key in ("labels", "subjects") else np.float32
                np.save(tmp / f"{key}.npy", np.ascontiguousarray(a, dtype=dtype), allow_pickle=False)
            meta = {
                "format": FORMAT,
                "version": VERSION,
                "name": self.name,
                "layout": self.layout,
                "fps": float(self.fps),
                "num_clips": self.num_clips,
                "num_frames": self.num_frames,
                "arrays": sorted(arrays),
                "class_names": list(self.class_names),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, mmap: bool = True, check_finite: bool = True) -> ClipArchive:
        """Open an archive directory; every problem raises :class:`DataError` naming the file.

        Args:
            path: archive directory (holding ``meta.json``).
            mmap: memory-map the arrays instead of reading them.
            check_finite: scan float arrays for NaN/inf once at load.
        """
        path = Path(path)
        meta_file = path / "meta.json"
        meta = read_meta(path, "clip archive", FORMAT, "meta.json")
        for key in ("name", "layout", "fps", "arrays"):
            if key not in meta:
                raise DataError(f"{meta_file}: missing key {key!r}")
        arrays = {}
        for key in meta["arrays"]:
            if key not in ("poses3d", *_OPTIONAL):
                raise DataError(f"{meta_file}: unknown array {key!r}")
            file = path / f"{key}.npy"
            try:
                arrays[key] = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
            except FileNotFoundError:
                raise DataError(f"{file}: missing (listed in meta.json)") from None
            except (ValueError, OSError, EOFError) as e:
                raise DataError(f"{file}: unreadable or truncated .npy file ({e})") from None
        if "poses3d" not in arrays:
            raise DataError(f"{meta_file}: no poses3d array")
        archive = cls(
            **arrays, fps=float(meta["fps"]), layout=meta["layout"], name=meta["name"],
            class_names=list(meta.get("class_names", [])), path=path,
        )  # fmt: skip
        if check_finite:
            archive.check_finite()
        return archive

    def windows(self, clips: np.ndarray, starts: np.ndarray, length: int) -> dict[str, np.ndarray]:
        """Gather windows of ``length`` frames: ``clips``, ``starts`` are ``(n,)`` int arrays.

        Returns float32 arrays ``poses3d (n, length, J, 3)`` and, with 2D, ``poses2d`` and the cameras.
        """
        frames = starts[:, None] + np.arange(length)[None]
        out = {"poses3d": np.asarray(self.poses3d[clips[:, None], frames], dtype=np.float32)}
        if self.has_2d:
            out["poses2d"] = np.asarray(self.poses2d[clips[:, None], frames], dtype=np.float32)
            for key in ("cam_R", "cam_t", "cam_size"):
                out[key] = np.asarray(getattr(self, key)[clips], dtype=np.float32)
        return out
