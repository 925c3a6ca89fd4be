"""Data layer: skeleton layouts, clip archives and sources, task transforms, the bank and datamodules.

Example:
    >>> from sic.data import TASK_IDS
    >>> TASK_IDS[0]
    'motion_prediction'
"""

from sic.data.archive import ClipArchive
from sic.data.bank import TaskBank
from sic.data.batch import SkeletonBatch
from sic.data.custom import NpyPromptDataModule
from sic.data.datamodule import InContextDataModule
from sic.data.lifting import LiftingDataModule
from sic.data.motion import MotionRecord, read_motion_archive, write_motion_archive
from sic.data.poses import PoseDataModule
from sic.data.recognition import RecognitionDataModule
from sic.data.skeleton import LAYOUTS, SkeletonLayout, get_layout
from sic.data.tasks import TASK_IDS, get_task, task_index

__all__ = [
    "LAYOUTS",
    "TASK_IDS",
    "ClipArchive",
    "InContextDataModule",
    "LiftingDataModule",
    "MotionRecord",
    "NpyPromptDataModule",
    "PoseDataModule",
    "RecognitionDataModule",
    "SkeletonBatch",
    "SkeletonLayout",
    "TaskBank",
    "get_layout",
    "get_task",
    "read_motion_archive",
    "task_index",
    "write_motion_archive",
]
