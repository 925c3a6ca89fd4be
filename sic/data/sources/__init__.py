"""Clip sources of the skeleton bank: the embedded procedural source and prepared archives.

Example:
    >>> from sic.data.sources import ProceduralSource
    >>> ProceduralSource().fps
    50.0
"""

from sic.data.sources.base import SPLITS, ArchiveSource, ClipSource
from sic.data.sources.embedded import ProceduralSource

__all__ = ["SPLITS", "ArchiveSource", "ClipSource", "ProceduralSource"]
