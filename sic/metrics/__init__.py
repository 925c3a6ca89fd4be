"""Pose-error metrics: functional forms and :class:`torchmetrics.Metric` modules.

Functional metrics (:mod:`sic.metrics.functional`) return values in the input units; the metric
modules (:mod:`sic.metrics.pose`) accumulate over batches and report ``scale`` times that
(default ``1000.0``: metres in, millimetres out).

Example:
    >>> import torch
    >>> from sic.metrics import MPJPE, mpjpe
    >>> target = torch.zeros(4, 8, 17, 3)
    >>> preds = target + 0.01
    >>> round(float(mpjpe(preds, target)), 5)
    0.01732
    >>> metric = MPJPE()
    >>> metric.update(preds, target)
    >>> round(float(metric.compute()), 2)
    17.32
"""

from sic.metrics.functional import (
    joint_errors,
    mpjpe,
    mpjpe_per_frame,
    n_mpjpe,
    pa_mpjpe,
    per_frame_mpjpe,
    procrustes_align,
)
from sic.metrics.pose import MPJPE, NMPJPE, PAMPJPE, MPJPEAtFrames, MPJPEPerLabel, PCKCurve, PoseScale
from sic.metrics.retrieval import RetrievalRecall, retrieval_ranks
from sic.metrics.tokens import CodebookUsage
from sic.metrics.zero_shot import ZeroShotScores, ausuc, best_fusion_weight, best_gamma, gzsl_accuracy, zsl_accuracy

__all__ = [
    "MPJPE",
    "NMPJPE",
    "PAMPJPE",
    "CodebookUsage",
    "MPJPEAtFrames",
    "MPJPEPerLabel",
    "PCKCurve",
    "PoseScale",
    "RetrievalRecall",
    "ZeroShotScores",
    "ausuc",
    "best_fusion_weight",
    "best_gamma",
    "gzsl_accuracy",
    "joint_errors",
    "mpjpe",
    "mpjpe_per_frame",
    "n_mpjpe",
    "pa_mpjpe",
    "per_frame_mpjpe",
    "procrustes_align",
    "retrieval_ranks",
    "zsl_accuracy",
]
