"""The embedded procedural source: generated clips, cached on disk as clip archives.

Every command and test can run on it without any licensed dataset. Archives are generated once per
configuration (seed, frame rate, clip counts, clip length) and reused from the cache afterwards;
generation is atomic, so an interrupted run never leaves a half-written cache.

Example:
    >>> import tempfile, pathlib
    >>> from sic.data.sources import ProceduralSource
    >>> src = ProceduralSource(clips_per_split={"train": 8, "val": 4, "test": 4})
    >>> src.load("val", 32, pathlib.Path(tempfile.mkdtemp())).poses3d.shape
    (4, 32, 17, 3)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sic.data.archive import ClipArchive
from sic.data.sources.base import SPLITS, ClipSource
from sic.data.sources.procedural import ACTION_NAMES, NATIVE_FPS, ProceduralMotion
from sic.utils.errors import ConfigError

__all__ = ["ProceduralSource"]

_DEFAULT_CLIPS = {"train": 16000, "val": 1600, "test": 1600}


class ProceduralSource(ClipSource):
    """Procedurally generated human motion on the H3.6M-17 skeleton (see :mod:`sic.data.sources.procedural`).

    Args:
        name: name in logs and cache paths.
        fps: frame rate of the generated clips (motion is analytic, so any rate is exact).
        clips_per_split: number of clips per split.
        seed: generator seed (subjects, motions, cameras).
        actions: restrict to these action classes (default: all).
        tasks: task ids served (default: all; 2D tasks use the virtual cameras).
    """

    layout = "h36m17"
    has_2d = True

    def __init__(
        self,
        name: str = "procedural",
        fps: float = NATIVE_FPS,
        clips_per_split: dict[str, int] | None = None,
        seed: int = 0,
        actions: list[str] | None = None,
        tasks: list[str] | None = None,
    ) -> None:
        super().__init__(name, tasks)
        if fps <= 0:
            raise ConfigError(f"ProceduralSource fps must be positive, got {fps}")
        clips = dict(_DEFAULT_CLIPS if clips_per_split is None else clips_per_split)
        unknown = set(clips) - set(SPLITS)
        if unknown:
            raise ConfigError(f"ProceduralSource clips_per_split has unknown split(s) {sorted(unknown)}; expected {SPLITS}")
        for split, n in clips.items():
            if n < 1:
                raise ConfigError(f"ProceduralSource clips_per_split[{split!r}] must be >= 1, got {n}")
        for a in actions or []:
            if a not in ACTION_NAMES:
                raise ConfigError(f"unknown action {a!r}; expected one of: {', '.join(ACTION_NAMES)}")
        self.fps, self.clips, self.seed, self.actions = float(fps), clips, seed, actions
        self.class_names = tuple(ACTION_NAMES)

    def _cache_path(self, split: str, frames: int, cache_dir: Path) -> Path:
        key = json.dumps([self.seed, self.fps, self.clips.get(split), frames, self.actions, 1], sort_keys=True)
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        return cache_dir / "procedural" / f"{self.name}-{digest}" / split

    def load(self, split: str, min_frames: int, cache_dir: Path) -> ClipArchive:  # noqa: D102
        if split not in self.clips:
            raise ConfigError(f"ProceduralSource {self.name!r} has no {split!r} split in clips_per_split")
        path = self._cache_path(split, min_frames, cache_dir)
        if (path / "meta.json").is_file():
            return ClipArchive.load(path, check_finite=False)  # written by us, checked when generated
        data = ProceduralMotion(seed=self.seed).generate(
            self.clips[split], min_frames, split=split, fps=self.fps, actions=self.actions, with_2d=True
        )
        archive = ClipArchive(
            poses3d=data["poses3d"], poses2d=data["poses2d"], cam_R=data["cam_R"], cam_t=data["cam_t"],
            cam_f=data["cam_f"], cam_c=data["cam_c"], cam_size=data["cam_size"], labels=data["labels"],
            subjects=data["subjects"], fps=self.fps, layout=self.layout, name=self.name, class_names=list(ACTION_NAMES),
        )  # fmt: skip
        archive.check_finite()
        archive.save(path)
        return ClipArchive.load(path, check_finite=False)
