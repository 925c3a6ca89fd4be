"""Clip sources of the skeleton bank: the embedded procedural source, motion archives and clip archives.

Example:
    >>> from sic.data.sources import ProceduralSource
    >>> ProceduralSource().fps
    50.0
"""

from sic.data.sources.base import SPLITS, ArchiveSource, ClipSource
from sic.data.sources.embedded import ProceduralSource
from sic.data.sources.motion import MotionArchiveSource

__all__ = ["SPLITS", "ArchiveSource", "ClipSource", "MotionArchiveSource", "ProceduralSource"]
