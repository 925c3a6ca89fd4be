"""Functional pose-error metrics on skeleton sequences.

Every metric takes ``preds`` and ``target`` of identical shape ``(..., J, 3)`` (typically
``(B, T, J, 3)``), where the last two dims are one *frame*: ``J`` joints with their coordinates.
Any floating dtype is accepted; half-precision (``float16``/``bfloat16``) and integer inputs are
upcast to ``float32``, ``float64`` is kept. Results are in the input units (the class metrics in
:mod:`sic.metrics.pose` convert metres to millimetres).

Following the torchmetrics convention, each metric ``x`` is split in three parts:

* ``_x_update(preds, target, mask)`` returns the sufficient statistics ``(sum_error, count)``,
* ``_x_compute(sum_error, count)`` turns them into the value,
* ``x(preds, target, mask)`` chains the two.

``mask`` (optional) is a bool tensor broadcastable to ``(..., J)`` that selects the joints whose
errors are averaged, e.g. only the hidden joints in joint completion. Alignments (the N-MPJPE scale
and the PA-MPJPE similarity) are always estimated from all ``J`` joints of a frame; the mask only
selects which aligned errors are counted. An all-``False`` mask gives ``nan``.

Example:
    >>> import torch
    >>> from sic.metrics.functional import mpjpe, n_mpjpe, pa_mpjpe
    >>> target = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    >>> preds = target + torch.tensor([3.0, 4.0, 0.0])   # every joint off by (3, 4, 0)
    >>> mpjpe(preds, target)
    tensor(5.)
    >>> round(float(pa_mpjpe(preds, target)), 6)          # a translation is undone by Procrustes
    0.0
    >>> round(float(n_mpjpe(2.0 * target, target)), 6)    # a scale is undone by N-MPJPE
    0.0
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "joint_errors",
    "mpjpe",
    "mpjpe_per_frame",
    "n_mpjpe",
    "pa_mpjpe",
    "per_frame_mpjpe",
    "procrustes_align",
]


# ----------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------
def _compute_dtype(*tensors: Tensor) -> torch.dtype:
    """The dtype to compute in: the promoted input dtype, at least ``float32``."""
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def _check_inputs(preds: Tensor, target: Tensor, min_ndim: int = 2) -> tuple[Tensor, Tensor]:
    """Validate ``preds``/``target`` and cast both to the compute dtype.

    Raises:
        TypeError: if an input is not a tensor.
        ValueError: if the shapes differ or have fewer than ``min_ndim`` dims.
    """
    if not isinstance(preds, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"preds and target must be tensors, got {type(preds).__name__} and {type(target).__name__}")
    if preds.shape != target.shape:
        raise ValueError(
            f"preds and target must have the same shape, got preds {tuple(preds.shape)} "
            f"and target {tuple(target.shape)}"
        )
    if preds.ndim < min_ndim:
        raise ValueError(
            f"expected inputs with at least {min_ndim} dims (..., J, 3), got shape {tuple(preds.shape)}"
        )
    dtype = _compute_dtype(preds, target)
    return preds.to(dtype), target.to(dtype)


def _check_mask(mask: Tensor | None, err_shape: torch.Size) -> Tensor | None:
    """Validate a joint mask and expand it to ``err_shape`` (``(..., J)``)."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a bool tensor, got {got}")
    try:
        ok = torch.broadcast_shapes(mask.shape, err_shape) == err_shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} is not broadcastable to the joint errors of shape {tuple(err_shape)}"
        )
    return mask.expand(err_shape)


def _masked_sum_count(err: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Sum of ``err`` over the selected entries and the number of selected entries."""
    mask = _check_mask(mask, err.shape)
    if mask is None:
        return err.sum(), torch.tensor(err.numel(), device=err.device)
    # ``where`` (not a product) so that nan/inf in unselected joints cannot leak into the sum.
    return torch.where(mask, err, torch.zeros_like(err)).sum(), mask.sum()


def _mean_compute(sum_error: Tensor, count: Tensor) -> Tensor:
    """``sum_error / count``; ``nan`` when nothing was counted."""
    return sum_error / count


# ----------------------------------------------------------------------------------------------
# per-joint errors and MPJPE
# ----------------------------------------------------------------------------------------------
def joint_errors(preds: Tensor, target: Tensor) -> Tensor:
    """Euclidean distance between predicted and target joints.

    Args:
        preds: predicted joints, shape ``(..., J, 3)``.
        target: ground-truth joints, same shape.

    Returns:
        Per-joint errors, shape ``(..., J)``, dtype ``float32`` or ``float64``.

    Raises:
        ValueError: if the shapes differ.
    """
    preds, target = _check_inputs(preds, target)
    return torch.linalg.vector_norm(preds - target, dim=-1)


def _mpjpe_update(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Sufficient statistics of MPJPE.

    Args:
        preds: predicted joints, shape ``(..., J, 3)``.
        target: ground-truth joints, same shape.
        mask: optional bool tensor broadcastable to ``(..., J)``.

    Returns:
        ``(sum_error, count)``: scalar sum of the selected joint errors and scalar int64 count.
    """
    return _masked_sum_count(joint_errors(preds, target), mask)


def _mpjpe_compute(sum_error: Tensor, count: Tensor) -> Tensor:
    """Mean joint error from ``(sum_error, count)``; ``nan`` if ``count == 0``."""
    return _mean_compute(sum_error, count)


def mpjpe(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    r"""Mean per-joint position error.

    .. math:: \mathrm{MPJPE} = \frac{1}{|M|} \sum_{(n, j) \in M} \lVert \hat{x}_{n,j} - x_{n,j} \rVert_2

    where :math:`n` runs over all frames and :math:`M` is the set of selected joints.

    Args:
        preds: predicted joints, shape ``(..., J, 3)``.
        target: ground-truth joints, same shape.
        mask: optional bool tensor broadcastable to ``(..., J)``; only ``True`` joints count.

    Returns:
        Scalar tensor (input units); ``nan`` if the mask selects nothing.

    Raises:
        ValueError: if the shapes differ or the mask does not broadcast.

    Example:
        >>> import torch
        >>> mpjpe(torch.zeros(2, 3), torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]))
        tensor(3.)
    """
    return _mpjpe_compute(*_mpjpe_update(preds, target, mask))


# ----------------------------------------------------------------------------------------------
# per-frame MPJPE
# ----------------------------------------------------------------------------------------------
def mpjpe_per_frame(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Per-frame sufficient statistics of MPJPE, summed over every leading (batch) dim.

    Meant for per-horizon accumulation (e.g. error at each forecast step).

    Args:
        preds: predicted joints, shape ``(B, T, J, 3)`` (or any ``(..., T, J, 3)``).
        target: ground-truth joints, same shape.
        mask: optional bool tensor broadcastable to ``(..., T, J)``.

    Returns:
        ``(sum_error, count)``, both of shape ``(T,)``: the summed joint errors of frame ``t`` over
        batch and joints, and the number of joints counted (int64).

    Raises:
        ValueError: if the shapes differ, the inputs have fewer than 3 dims, or the mask does not broadcast.

    Example:
        >>> import torch
        >>> target = torch.zeros(2, 3, 1, 3)
        >>> preds = target.clone()
        >>> preds[:, 1, :, 0] = 2.0          # frame 1 is off by 2 in every sample
        >>> mpjpe_per_frame(preds, target)
        (tensor([0., 4., 0.]), tensor([2, 2, 2]))
    """
    preds, target = _check_inputs(preds, target, min_ndim=3)
    err = torch.linalg.vector_norm(preds - target, dim=-1)  # (..., T, J)
    reduce_dims = (*range(err.ndim - 2), err.ndim - 1)  # all but the frame dim
    mask = _check_mask(mask, err.shape)
    if mask is None:
        count = torch.full((err.shape[-2],), err.numel() // max(err.shape[-2], 1), device=err.device)
        return err.sum(dim=reduce_dims), count
    return torch.where(mask, err, torch.zeros_like(err)).sum(dim=reduce_dims), mask.sum(dim=reduce_dims)


def per_frame_mpjpe(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """MPJPE of each frame index, averaged over batch and joints.

    Args:
        preds: predicted joints, shape ``(B, T, J, 3)`` (or any ``(..., T, J, 3)``).
        target: ground-truth joints, same shape.
        mask: optional bool tensor broadcastable to ``(..., T, J)``.

    Returns:
        Tensor of shape ``(T,)``; ``nan`` for frames where nothing was counted.

    Example:
        >>> import torch
        >>> preds = torch.zeros(1, 2, 1, 3)
        >>> preds[0, 1, 0] = torch.tensor([3.0, 4.0, 0.0])
        >>> per_frame_mpjpe(preds, torch.zeros(1, 2, 1, 3))
        tensor([0., 5.])
    """
    return _mean_compute(*mpjpe_per_frame(preds, target, mask))


# ----------------------------------------------------------------------------------------------
# N-MPJPE
# ----------------------------------------------------------------------------------------------
def _scale_to_target(preds: Tensor, target: Tensor) -> Tensor:
    """Rescale each frame of ``preds`` by the least-squares scale onto ``target`` (no centring).

    ``s = sum_j <p_j, x_j> / sum_j |p_j|^2`` over the frame (the ratio of per-joint means); a frame
    with all-zero predictions keeps ``s = 1``.
    """
    num = (preds * target).sum(dim=(-2, -1), keepdim=True)
    den = preds.square().sum(dim=(-2, -1), keepdim=True)
    ok = den > torch.finfo(den.dtype).tiny
    scale = torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.ones_like(den))
    return scale * preds


def _n_mpjpe_update(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Sufficient statistics ``(sum_error, count)`` of N-MPJPE (see :func:`n_mpjpe`)."""
    preds, target = _check_inputs(preds, target)
    return _mpjpe_update(_scale_to_target(preds, target), target, mask)


def _n_mpjpe_compute(sum_error: Tensor, count: Tensor) -> Tensor:
    """N-MPJPE from ``(sum_error, count)``; ``nan`` if ``count == 0``."""
    return _mean_compute(sum_error, count)


def n_mpjpe(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    r"""Scale-normalised MPJPE (MotionBERT's N-MPJPE).

    Each frame of ``preds`` is rescaled by the least-squares scale onto ``target`` (no centring)
    before MPJPE:

    .. math:: s_n = \frac{\frac{1}{J}\sum_j \langle \hat{x}_{n,j}, x_{n,j} \rangle}
                         {\frac{1}{J}\sum_j \lVert \hat{x}_{n,j} \rVert_2^2}, \qquad
              \mathrm{N\text{-}MPJPE} = \mathrm{MPJPE}(s \hat{x}, x)

    A frame whose predictions are all zero keeps :math:`s_n = 1`.

    Args:
        preds: predicted joints, shape ``(..., J, 3)``.
        target: ground-truth joints, same shape.
        mask: optional bool tensor broadcastable to ``(..., J)``; the scale uses all joints, the
            mask selects the errors averaged.

    Returns:
        Scalar tensor (input units); ``nan`` if the mask selects nothing.

    Example:
        >>> import torch
        >>> target = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
        >>> round(float(n_mpjpe(0.5 * target, target)), 6)
        0.0
    """
    return _n_mpjpe_compute(*_n_mpjpe_update(preds, target, mask))


# ----------------------------------------------------------------------------------------------
# PA-MPJPE
# ----------------------------------------------------------------------------------------------
def procrustes_align(preds: Tensor, target: Tensor) -> Tensor:
    r"""Align each frame of ``preds`` to ``target`` by the best similarity transform.

    Per frame, finds scale :math:`s`, rotation :math:`R` (a proper rotation, :math:`\det R = +1`)
    and translation :math:`t` minimising :math:`\sum_j \lVert s \hat{x}_j R + t - x_j \rVert^2`
    (orthogonal Procrustes via SVD of the cross-covariance, with the reflection fix). Frames whose
    predicted joints (nearly) coincide fall back to translation only (:math:`s=1, R=I`), so the
    result is always finite for finite inputs.

    Args:
        preds: predicted joints, shape ``(..., J, 3)``.
        target: ground-truth joints, same shape.

    Returns:
        Aligned predictions, shape ``(..., J, 3)``, in the compute dtype (``float32``/``float64``).

    Raises:
        ValueError: if the shapes differ.

    Example:
        >>> import torch
        >>> target = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> rot90 = torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        >>> preds = 3.0 * target @ rot90 + 5.0
        >>> torch.allclose(procrustes_align(preds, target), target, atol=1e-5)
        True
    """
    preds, target = _check_inputs(preds, target)
    with torch.autocast(preds.device.type, enabled=False):  # SVD/det have no low-precision kernels
        return _procrustes_align(preds, target)


def _procrustes_align(preds: Tensor, target: Tensor) -> Tensor:
    dim = preds.shape[-1]
    mu_p = preds.mean(dim=-2, keepdim=True)
    mu_t = target.mean(dim=-2, keepdim=True)
    p0 = preds - mu_p
    t0 = target - mu_t

    # Cross-covariance (..., D, D); non-finite entries are zeroed so the SVD never fails (the
    # non-finite inputs still propagate to the result through ``p0`` / ``mu_t``).
    cov = p0.transpose(-1, -2) @ t0
    cov = torch.where(torch.isfinite(cov), cov, torch.zeros_like(cov))
    u, sing, vh = torch.linalg.svd(cov)

    # Reflection fix: flip the direction of the smallest singular value when U V^T has det -1.
    det = torch.linalg.det(u @ vh)
    sign = torch.ones_like(sing)
    sign[..., -1] = torch.where(det < 0, -torch.ones_like(det), torch.ones_like(det))
    rot = u @ (sign.unsqueeze(-1) * vh)  # U diag(sign) V^T; rows act on row vectors: p0 @ rot

    var_p = p0.square().sum(dim=(-2, -1))
    # Degenerate frame: the spread of the predicted joints is at rounding level of their magnitude.
    eps = torch.finfo(var_p.dtype).eps
    degenerate = var_p <= (100.0 * eps) ** 2 * preds.square().sum(dim=(-2, -1))
    scale = (sing * sign).sum(dim=-1) / torch.where(degenerate, torch.ones_like(var_p), var_p)
    scale = torch.where(degenerate, torch.ones_like(scale), scale)
    eye = torch.eye(dim, dtype=rot.dtype, device=rot.device).expand_as(rot)
    rot = torch.where(degenerate[..., None, None], eye, rot)

    return scale[..., None, None] * (p0 @ rot) + mu_t


def _pa_mpjpe_update(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Sufficient statistics ``(sum_error, count)`` of PA-MPJPE (see :func:`pa_mpjpe`)."""
    preds, target = _check_inputs(preds, target)
    return _mpjpe_update(procrustes_align(preds, target), target, mask)


def _pa_mpjpe_compute(sum_error: Tensor, count: Tensor) -> Tensor:
    """PA-MPJPE from ``(sum_error, count)``; ``nan`` if ``count == 0``."""
    return _mean_compute(sum_error, count)


def pa_mpjpe(preds: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    r"""Procrustes-aligned MPJPE (P-MPJPE, Human3.6M protocol 2).

    .. math:: \mathrm{PA\text{-}MPJPE} = \frac{1}{|M|} \sum_{(n, j) \in M}
              \lVert s_n \hat{x}_{n,j} R_n + t_n - x_{n,j} \rVert_2

    with :math:`(s_n, R_n, t_n)` the per-frame similarity transform of :func:`procrustes_align`.

    Args:
        preds: predicted joints, shape ``(..., J, 3)``.
        target: ground-truth joints, same shape.
        mask: optional bool tensor broadcastable to ``(..., J)``; the alignment uses all joints,
            the mask selects the errors averaged.

    Returns:
        Scalar tensor (input units); ``nan`` if the mask selects nothing.

    Example:
        >>> import torch
        >>> target = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> round(float(pa_mpjpe(2.0 * target + 1.0, target)), 5)
        0.0
    """
    return _pa_mpjpe_compute(*_pa_mpjpe_update(preds, target, mask))
