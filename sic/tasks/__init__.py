"""Lightning tasks: own losses, metrics and optimisation; receive networks by injection.

Example:
    >>> from sic.tasks import InContextTask
    >>> InContextTask.mode
    'min'
"""

from sic.tasks.in_context import InContextTask, TaskMetrics
from sic.tasks.lifting import LiftingTask
from sic.tasks.pose_tokenizer import PoseTokenizerTask
from sic.tasks.recognition import RecognitionTask
from sic.tasks.retrieval import RetrievalTask
from sic.tasks.zero_shot import ZeroShotTask

__all__ = [
    "InContextTask",
    "LiftingTask",
    "PoseTokenizerTask",
    "RecognitionTask",
    "RetrievalTask",
    "TaskMetrics",
    "ZeroShotTask",
]
