"""Clip sources: where the skeleton bank's clips come from.

A source yields one :class:`~sic.data.archive.ClipArchive` per split (``train``, ``val``,
``test``) and declares the frame rate, the joint layout and the tasks it may serve. The embedded
procedural source generates and caches its archives; :class:`ArchiveSource` opens archives written
with :meth:`~sic.data.archive.ClipArchive.save` (e.g. by a dataset preparation script).

Example:
    >>> from sic.data.sources import ProceduralSource
    >>> ProceduralSource(fps=25.0).serves("motion_prediction")
    True
"""

from __future__ import annotations

import os
from pathlib import Path

from sic.data.archive import ClipArchive
from sic.data.tasks import get_task, task_index
from sic.utils.errors import DataError

__all__ = ["SPLITS", "ArchiveSource", "ClipSource", "default_cache_dir"]

SPLITS = ("train", "val", "test")


def default_cache_dir() -> Path:
    """``$SIC_CACHE``, else ``~/.cache/sic``: where generated archives are cached."""
    return Path(os.environ.get("SIC_CACHE", Path.home() / ".cache" / "sic"))


class ClipSource:
    """Base class of clip sources.

    Args:
        name: short name used in logs and cache paths.
        tasks: task ids this source serves (``None``: every task its data supports).
    """

    fps: float
    layout: str = "h36m17"
    has_2d: bool = False
    class_names: tuple[str, ...] = ()  # names of the clips' integer labels (e.g. actions), if any

    def __init__(self, name: str, tasks: list[str] | None = None) -> None:
        self.name = name
        for t in tasks or []:
            task_index(t)
        self.tasks = None if tasks is None else list(tasks)

    def serves(self, task_id: str) -> bool:
        """Whether this source provides clips for ``task_id``."""
        if self.tasks is not None and task_id not in self.tasks:
            return False
        return self.has_2d or not get_task(task_id).needs_2d

    def load(self, split: str, min_frames: int, cache_dir: Path) -> ClipArchive:
        """The archive of ``split`` whose clips have at least ``min_frames`` frames."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, fps={self.fps})"


class ArchiveSource(ClipSource):
    """Archives prepared on disk: ``root/<split>/`` each a clip-archive directory.

    Args:
        root: directory holding ``train/``, ``val/`` and ``test/`` archives.
        name: name in logs (default: the directory name).
        tasks: task ids served (default: all the data supports).
    """

    def __init__(self, root: str, name: str | None = None, tasks: list[str] | None = None) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"data root {str(self.root)!r} does not exist (expected a directory with train/, val/, test/ archives)")
        super().__init__(name or self.root.name, tasks)
        probe = ClipArchive.load(self._split_dir("train"), check_finite=False)
        self.fps, self.layout, self.has_2d = probe.fps, probe.layout, probe.has_2d
        self.class_names = tuple(probe.class_names)

    def _split_dir(self, split: str) -> Path:
        path = self.root / split
        if not path.is_dir():
            raise DataError(f"data root {str(self.root)!r} has no {split!r} archive (expected {path})")
        return path

    def load(self, split: str, min_frames: int, cache_dir: Path) -> ClipArchive:  # noqa: D102
        del cache_dir  # prepared archives are read in place
        archive = ClipArchive.load(self._split_dir(split))
        if archive.num_frames < min_frames:
            raise DataError(
                f"inconsistent frame counts: {archive.path} stores {archive.num_frames}-frame clips, "
                f"but the tasks need {min_frames} (2 x data.num_frames for prediction tasks)"
            )
        return archive
