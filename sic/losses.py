"""Training losses on ``(B, T, J, 3)`` poses: pure functions, reduced to per-sample values.

Each returns a ``(B,)`` tensor so tasks can weight or group samples (e.g. per task id).

Example:
    >>> import torch
    >>> from sic.losses import mpjpe_loss
    >>> p = torch.zeros(1, 2, 3, 3); t = torch.zeros(1, 2, 3, 3); t[..., 0] = 3; t[..., 1] = 4
    >>> mpjpe_loss(p, t)
    tensor([5.])
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["mpjpe_loss", "n_mpjpe_loss", "velocity_loss"]


def mpjpe_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean joint position error per sample (paper Eq. 8, averaged instead of summed): ``(B,)``."""
    return torch.linalg.vector_norm(pred - target, dim=-1).flatten(1).mean(1)


def n_mpjpe_loss(pred: Tensor, target: Tensor) -> Tensor:
    """MPJPE after the per-frame optimal scale of ``pred`` (MotionBERT's N-MPJPE): ``(B,)``."""
    scale = (pred * target).sum((-1, -2), keepdim=True) / (pred * pred).sum((-1, -2), keepdim=True).clamp_min(1e-8)
    return mpjpe_loss(scale * pred, target)


def velocity_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Error of frame-to-frame joint displacements: ``(B,)`` (zero for single-frame clips)."""
    if pred.shape[1] < 2:
        return pred.new_zeros(pred.shape[0])
    return mpjpe_loss(pred.diff(dim=1), target.diff(dim=1))
