"""Training losses: pose losses on ``(B, T, J, 3)`` and the contrastive retrieval loss.

The pose losses are pure functions returning a ``(B,)`` tensor so tasks can weight or group
samples (e.g. per task id). :class:`BBCLoss` is a module because it owns a learnable scale.

Example:
    >>> import torch
    >>> from sic.losses import mpjpe_loss
    >>> p = torch.zeros(1, 2, 3, 3); t = torch.zeros(1, 2, 3, 3); t[..., 0] = 3; t[..., 1] = 4
    >>> mpjpe_loss(p, t)
    tensor([5.])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BBCLoss", "bone_loss", "mpjpe_loss", "n_mpjpe_loss", "velocity_loss"]


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


def bone_loss(pred: Tensor, target: Tensor, parents: Tensor) -> Tensor:
    """Mean error of the bone vectors ``x_j - x_parent(j)`` per sample: ``(B,)``; ``parents[root] = -1``.

    Example:
        >>> p = torch.zeros(1, 1, 2, 3); t = p.clone(); t[..., 1, 0] = 2.0  # child joint 2 m off
        >>> bone_loss(p, t, torch.tensor([-1, 0]))
        tensor([2.])
    """
    child = (parents >= 0).nonzero().squeeze(1)
    bones = lambda x: x[..., child, :] - x[..., parents[child], :]  # noqa: E731
    return mpjpe_loss(bones(pred), bones(target))


class BBCLoss(nn.Module):
    """Batch-based classification loss of paired embeddings (PoseScript; UniPose's retrieval loss).

    Scores ``S = s * X Y^T`` of L2-normalised embeddings; each row must pick its own partner
    (cross-entropy against the diagonal). ``s`` is a multiplier (inverse temperature), learnable
    and initialised to 10. ``symmetric`` averages both directions (released PoseScript models and
    UniPose); the PoseScript papers use ``X → Y`` only.

    Args:
        scale: initial ``s``.
        learnable: optimise ``s`` (it is a parameter of this module, so the task's optimiser sees it).
        symmetric: average ``CE(S)`` and ``CE(S^T)``.

    Example:
        >>> x = torch.eye(3)
        >>> bool(BBCLoss()(x, x) < BBCLoss()(x, x.roll(1, 0)))
        True
    """

    def __init__(self, scale: float = 10.0, learnable: bool = True, symmetric: bool = True) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(scale)), requires_grad=learnable)
        self.symmetric = symmetric

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Loss of rows ``x[i]`` ↔ ``y[i]`` ``(B, D)`` against the other rows of the batch."""
        scores = self.scale * x @ y.t()
        labels = torch.arange(x.shape[0], device=x.device)
        loss = F.cross_entropy(scores, labels)
        return 0.5 * (loss + F.cross_entropy(scores.t(), labels)) if self.symmetric else loss
