"""Euler-angle rotation matrices, vectorised over leading axes."""

from __future__ import annotations

import numpy as np

_AXES = {"x": 0, "y": 1, "z": 2}


def axis_rotation(axis: str, radians: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` about ``axis`` ('x', 'y' or 'z') by ``radians`` ``(...)``."""
    c, s = np.cos(radians), np.sin(radians)
    out = np.zeros((*np.shape(radians), 3, 3))
    i = _AXES[axis.lower()]
    j, k = (i + 1) % 3, (i + 2) % 3
    out[..., i, i] = 1.0
    out[..., j, j], out[..., j, k] = c, -s
    out[..., k, j], out[..., k, k] = s, c
    return out


def euler_matrix(order: str, radians: np.ndarray) -> np.ndarray:
    """``R = R_{order[0]} · R_{order[1]} · R_{order[2]}`` from angles ``(..., 3)`` listed in ``order``.

    The product is read left to right, so the *last* axis is applied to a vector first (the BVH
    channel convention; ASF ``axis ... XYZ`` is ``euler_matrix("zyx", [az, ay, ax])``).
    """
    out = axis_rotation(order[0], radians[..., 0])
    for n in range(1, len(order)):
        out = out @ axis_rotation(order[n], radians[..., n])
    return out
