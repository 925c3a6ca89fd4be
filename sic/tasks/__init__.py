"""Lightning tasks: own losses, metrics and optimisation; receive networks by injection.

Example:
    >>> from sic.tasks import InContextTask
    >>> InContextTask.mode
    'min'
"""

from sic.tasks.in_context import InContextTask, TaskMetrics

__all__ = ["InContextTask", "TaskMetrics"]
