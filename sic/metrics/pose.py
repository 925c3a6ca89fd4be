"""Pose-error metrics as :class:`torchmetrics.Metric` modules (MPJPE, N-MPJPE, PA-MPJPE, per-frame MPJPE).

Inputs are ``(..., J, 3)`` joint positions in metres (typically ``(B, T, J, 3)``); every metric
multiplies its result by ``scale`` (default ``1000.0``) in :meth:`compute`, so values are reported
in millimetres. Pass ``scale=1.0`` to keep the input units.

States are plain sums (error sum and joint count, ``dist_reduce_fx="sum"``), so feeding a dataset
in several batches, or across several DDP processes, gives exactly the one-shot value.

Example:
    >>> import torch
    >>> from sic.metrics.pose import MPJPE, MPJPEAtFrames
    >>> target = torch.zeros(2, 4, 17, 3)                  # (B, T, J, 3), metres
    >>> preds = target + torch.tensor([0.003, 0.004, 0.0])  # every joint 5 mm off
    >>> metric = MPJPE()
    >>> metric.update(preds[:1], target[:1])
    >>> metric.update(preds[1:], target[1:])
    >>> round(float(metric.compute()), 3)
    5.0
    >>> at_frames = MPJPEAtFrames(frames=[0, 3])
    >>> at_frames.update(preds, target)
    >>> [round(v, 3) for v in at_frames.compute().tolist()]
    [5.0, 5.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics import Metric

from sic.metrics.functional import (
    _mpjpe_update,
    _n_mpjpe_update,
    _pa_mpjpe_update,
    joint_errors,
    mpjpe_per_frame,
)

__all__ = ["MPJPE", "NMPJPE", "PAMPJPE", "MPJPEAtFrames", "MPJPEPerLabel", "PCKCurve", "PoseScale"]


def _check_scale(scale: float) -> float:
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return float(scale)


class _MeanJointError(Metric):
    """Shared body of the scalar joint-error metrics: accumulate ``(sum_error, total)``."""

    is_differentiable: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = False
    full_state_update: ClassVar[bool] = False
    plot_lower_bound: ClassVar[float] = 0.0

    sum_error: Tensor
    total: Tensor

    _update_fn: ClassVar[Callable[..., tuple[Tensor, Tensor]]]

    def __init__(self, scale: float = 1000.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = _check_scale(scale)
        self.add_state("sum_error", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor, mask: Tensor | None = None) -> None:
        """Accumulate a batch.

        Args:
            preds: predicted joints, shape ``(..., J, 3)``, metres.
            target: ground-truth joints, same shape.
            mask: optional bool tensor broadcastable to ``(..., J)`` selecting the joints counted.

        Raises:
            ValueError: if the shapes differ (both are named) or the mask does not broadcast.
        """
        sum_error, count = type(self)._update_fn(preds, target, mask)
        self.sum_error += sum_error.to(self.sum_error.dtype)
        self.total += count.to(self.total.dtype)

    def compute(self) -> Tensor:
        """Mean joint error times ``scale`` (mm by default); ``nan`` if nothing was counted."""
        return self.scale * (self.sum_error / self.total)


class MPJPE(_MeanJointError):
    r"""Mean per-joint position error, accumulated over batches.

    .. math:: \mathrm{MPJPE} = \frac{\text{scale}}{|M|} \sum_{(n, j) \in M}
              \lVert \hat{x}_{n,j} - x_{n,j} \rVert_2

    over all frames :math:`n` and selected joints :math:`M` of every batch seen since the last reset.

    Args:
        scale: factor applied in :meth:`compute`; the default ``1000.0`` turns metres into millimetres.
        kwargs: forwarded to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> metric = MPJPE()
        >>> preds = torch.zeros(1, 1, 2, 3)
        >>> target = torch.tensor([[[[0.3, 0.4, 0.0], [0.3, 0.4, 0.0]]]])   # 0.5 m off
        >>> metric.update(preds, target)
        >>> round(float(metric.compute()), 2)
        500.0
    """

    _update_fn = staticmethod(_mpjpe_update)


class NMPJPE(_MeanJointError):
    r"""Scale-normalised MPJPE (MotionBERT's N-MPJPE), accumulated over batches.

    Each frame of the prediction is rescaled by
    :math:`s_n = \frac{1}{J}\sum_j \langle \hat{x}_{n,j}, x_{n,j} \rangle \big/ \frac{1}{J}\sum_j \lVert \hat{x}_{n,j} \rVert^2`
    before MPJPE:

    .. math:: \mathrm{N\text{-}MPJPE} = \frac{\text{scale}}{|M|} \sum_{(n, j) \in M}
              \lVert s_n \hat{x}_{n,j} - x_{n,j} \rVert_2

    Args:
        scale: factor applied in :meth:`compute`; the default ``1000.0`` turns metres into millimetres.
        kwargs: forwarded to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> target = torch.tensor([[[0.1, 0.0, 0.0], [0.0, 0.2, 0.0]]])
        >>> metric = NMPJPE()
        >>> metric.update(3.0 * target, target)   # a pure scale error is forgiven
        >>> round(float(metric.compute()), 3)
        0.0
    """

    _update_fn = staticmethod(_n_mpjpe_update)


class PAMPJPE(_MeanJointError):
    r"""Procrustes-aligned MPJPE (P-MPJPE, protocol 2), accumulated over batches.

    Each frame of the prediction is aligned to the target by the best similarity transform
    (scale :math:`s_n`, rotation :math:`R_n`, translation :math:`t_n`; see
    :func:`sic.metrics.functional.procrustes_align`) before MPJPE:

    .. math:: \mathrm{PA\text{-}MPJPE} = \frac{\text{scale}}{|M|} \sum_{(n, j) \in M}
              \lVert s_n \hat{x}_{n,j} R_n + t_n - x_{n,j} \rVert_2

    Not marked differentiable: SVD gradients are undefined for repeated singular values.

    Args:
        scale: factor applied in :meth:`compute`; the default ``1000.0`` turns metres into millimetres.
        kwargs: forwarded to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> target = torch.tensor([[[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.2, 0.0]]])
        >>> metric = PAMPJPE()
        >>> metric.update(2.0 * target + 0.5, target)   # scale + translation are forgiven
        >>> round(float(metric.compute()), 2)
        0.0
    """

    is_differentiable: ClassVar[bool] = False
    _update_fn = staticmethod(_pa_mpjpe_update)


class MPJPEAtFrames(Metric):
    r"""MPJPE at selected frame indices (e.g. forecast horizons), accumulated over batches.

    For inputs of shape ``(B, T, J, 3)`` and frame indices :math:`f_1, \dots, f_K`:

    .. math:: \mathrm{MPJPE}@f_k = \frac{\text{scale}}{|M_{f_k}|} \sum_{(b, j) \in M_{f_k}}
              \lVert \hat{x}_{b,f_k,j} - x_{b,f_k,j} \rVert_2

    Args:
        frames: non-negative frame indices into the ``T`` axis; :meth:`compute` returns one value each,
            in this order.
        scale: factor applied in :meth:`compute`; the default ``1000.0`` turns metres into millimetres.
        kwargs: forwarded to :class:`torchmetrics.Metric`.

    Raises:
        ValueError: if ``frames`` is empty or holds a negative / non-integer index.

    Example:
        >>> import torch
        >>> target = torch.zeros(2, 5, 3, 3)
        >>> preds = target.clone()
        >>> preds[:, 4] += 0.01                     # only the last frame is wrong
        >>> metric = MPJPEAtFrames(frames=[0, 4])
        >>> metric.update(preds, target)
        >>> [round(v, 2) for v in metric.compute().tolist()]
        [0.0, 17.32]
    """

    is_differentiable: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = False
    full_state_update: ClassVar[bool] = False
    plot_lower_bound: ClassVar[float] = 0.0

    sum_error: Tensor
    total: Tensor

    def __init__(self, frames: Sequence[int], scale: float = 1000.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        frames = tuple(frames)
        if not frames:
            raise ValueError("frames must hold at least one frame index")
        for f in frames:
            if isinstance(f, bool) or not isinstance(f, int) or f < 0:
                raise ValueError(f"frame indices must be non-negative ints, got {f!r}")
        self.frames = frames
        self.scale = _check_scale(scale)
        self.add_state("sum_error", default=torch.zeros(len(frames)), dist_reduce_fx="sum")
        self.add_state("total", default=torch.zeros(len(frames), dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor, mask: Tensor | None = None) -> None:
        """Accumulate a batch.

        Args:
            preds: predicted joints, shape ``(B, T, J, 3)`` (any ``(..., T, J, 3)``), metres.
            target: ground-truth joints, same shape.
            mask: optional bool tensor broadcastable to ``(..., T, J)`` selecting the joints counted.

        Raises:
            ValueError: if the shapes differ (both are named), a frame index is ``>= T`` (index and
                ``T`` are named), or the mask does not broadcast.
        """
        if isinstance(preds, Tensor) and isinstance(target, Tensor) and preds.shape != target.shape:
            raise ValueError(
                f"preds and target must have the same shape, got preds {tuple(preds.shape)} "
                f"and target {tuple(target.shape)}"
            )
        if preds.ndim < 3:
            raise ValueError(f"expected inputs of shape (B, T, J, 3), got shape {tuple(preds.shape)}")
        num_frames = preds.shape[-3]
        for f in self.frames:
            if f >= num_frames:
                raise ValueError(f"frame index {f} is out of range for sequences of T={num_frames} frames")
        idx = torch.tensor(self.frames, device=preds.device)
        if mask is not None and isinstance(mask, Tensor):
            mask_shape = (*preds.shape[:-1],)
            try:
                mask = mask.expand(mask_shape)
            except RuntimeError as err:
                raise ValueError(
                    f"mask of shape {tuple(mask.shape)} is not broadcastable to {mask_shape} (..., T, J)"
                ) from err
            mask = mask.index_select(-2, idx)
        sum_error, count = mpjpe_per_frame(preds.index_select(-3, idx), target.index_select(-3, idx), mask)
        self.sum_error += sum_error.to(self.sum_error.dtype)
        self.total += count.to(self.total.dtype)

    def compute(self) -> Tensor:
        """Per-frame MPJPE times ``scale``, shape ``(len(frames),)``; ``nan`` where nothing was counted."""
        return self.scale * (self.sum_error / self.total)


class MPJPEPerLabel(Metric):
    """MPJPE per class label (e.g. Human3.6M's per-action tables), each sample weighted by its joints.

    Args:
        num_labels: number of classes; samples labelled ``-1`` or out of range are ignored.
        scale: factor applied in :meth:`compute`; the default ``1000.0`` turns metres into millimetres.

    Example:
        >>> import torch
        >>> metric = MPJPEPerLabel(num_labels=3)
        >>> target = torch.zeros(2, 1, 1, 3)
        >>> preds = torch.tensor([0.1, 0.2]).view(2, 1, 1, 1) * torch.tensor([1.0, 0.0, 0.0])
        >>> metric.update(preds, target, torch.tensor([2, 0]))
        >>> metric.compute().tolist()  # label 1 unseen: NaN
        [200.0, nan, 100.0]
    """

    full_state_update = False

    def __init__(self, num_labels: int, scale: float = 1000.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if num_labels < 1:
            raise ValueError(f"num_labels must be >= 1, got {num_labels}")
        self.num_labels, self.scale = num_labels, _check_scale(scale)
        self.add_state("error_sum", default=torch.zeros(num_labels, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros(num_labels, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor, labels: Tensor) -> None:
        """Accumulate ``(B, T, J, 3)`` predictions against targets for ``(B,)`` integer labels."""
        err = joint_errors(preds.float(), target.float()).flatten(1)  # (B, T*J)
        keep = (labels >= 0) & (labels < self.num_labels)
        idx = labels[keep].long()
        self.error_sum.index_add_(0, idx, err[keep].sum(1).double())
        self.count.index_add_(0, idx, torch.full_like(idx, err.shape[1], dtype=torch.float64))

    def compute(self) -> Tensor:
        """``(num_labels,)`` MPJPE per label (NaN for labels without samples)."""
        return (self.error_sum / self.count * self.scale).float()


class PCKCurve(Metric):
    """Percentage of correct keypoints over a range of thresholds, and the area under that curve (3DHP protocol).

    A joint is correct when its error is below the threshold (MPI-INF-3DHP's MATLAB evaluation uses
    ``error < t``). ``compute`` returns ``{"pck": PCK at threshold, "auc": mean PCK over the thresholds}``, both in
    percent; the defaults are PCK@150 mm and AUC over 0, 5, ..., 150 mm (31 values).

    Args:
        threshold: the PCK threshold in metres (0.15).
        thresholds: the AUC thresholds in metres (default ``0, 0.005, ..., 0.15``).
        kwargs: forwarded to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> metric = PCKCurve()
        >>> target = torch.zeros(1, 1, 4, 3)
        >>> preds = torch.tensor([0.0, 0.052, 0.102, 0.2]).view(1, 1, 4, 1) * torch.tensor([1.0, 0.0, 0.0])
        >>> {k: round(float(v), 2) for k, v in metric(preds, target).items()}
        {'pck': 75.0, 'auc': 48.39}
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, threshold: float = 0.15, thresholds: Sequence[float] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        default = torch.linspace(0.0, 0.15, 31)
        grid = default if thresholds is None else torch.as_tensor(list(thresholds), dtype=torch.float32)
        if threshold <= 0 or grid.ndim != 1 or grid.numel() == 0 or (grid < 0).any():
            raise ValueError(
                f"PCKCurve needs a positive threshold and non-negative thresholds, got {threshold} and {grid.tolist()}"
            )
        self.register_buffer("grid", torch.cat([torch.tensor([float(threshold)]), grid.float()]), persistent=False)
        self.add_state("correct", default=torch.zeros(len(self.grid), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor, mask: Tensor | None = None) -> None:
        """Accumulate ``(..., J, 3)`` joints (metres); ``mask`` (broadcastable to ``(..., J)``) selects joints."""
        err = joint_errors(preds.float(), target.float())
        keep = torch.ones_like(err, dtype=torch.bool) if mask is None else mask.expand_as(err)
        err = err[keep]
        self.correct += (err[None, :] < self.grid.to(err.device)[:, None]).sum(1).double()
        self.total += float(err.numel())

    def compute(self) -> dict[str, Tensor]:
        """``{"pck", "auc"}`` in percent (NaN before any update)."""
        share = (self.correct / self.total * 100.0).float()
        return {"pck": share[0], "auc": share[1:].mean()}


class PoseScale(Metric):
    r"""How large predicted skeletons are relative to the true ones: a ratio, 1 when the sizes match.

    The size of a frame is the mean distance of its joints from their centroid,
    :math:`r_n = \frac{1}{J}\sum_j \lVert x_{n,j} - \bar{x}_n \rVert`; the metric is
    :math:`\sum_n \hat{r}_n / \sum_n r_n` over every frame seen, and over the last frame only (``last=True``),
    where a shrinking prediction (the MIM failure of Skeleton-in-Context's Fig. 2) is smallest.

    Example:
        >>> import torch
        >>> target = torch.randn(2, 4, 17, 3)
        >>> metric = PoseScale()
        >>> metric.update(0.5 * target + 1.0, target)   # half size, shifted: 0.5
        >>> round(float(metric.compute()), 4)
        0.5
    """

    is_differentiable: ClassVar[bool] = True
    higher_is_better: ClassVar[bool | None] = None
    full_state_update: ClassVar[bool] = False

    pred_size: Tensor
    target_size: Tensor

    def __init__(self, last: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last = last
        self.add_state("pred_size", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("target_size", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    @staticmethod
    def _size(x: Tensor) -> Tensor:
        return torch.linalg.vector_norm(x - x.mean(-2, keepdim=True), dim=-1).mean(-1)

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Accumulate ``(B, T, J, 3)`` predictions and targets."""
        if preds.shape != target.shape or preds.dim() < 3:
            raise ValueError(f"preds and target must share a (..., T, J, 3) shape, got {tuple(preds.shape)} "
                             f"and {tuple(target.shape)}")  # fmt: skip
        if self.last:
            preds, target = preds[..., -1:, :, :], target[..., -1:, :, :]
        self.pred_size += self._size(preds.detach()).sum().double()
        self.target_size += self._size(target).sum().double()

    def compute(self) -> Tensor:
        """The size ratio (``nan`` before any update)."""
        return (self.pred_size / self.target_size).float()
