"""Rotation matrices shared by the file readers and the frame conventions, vectorised over leading axes.

Example:
    >>> import numpy as np
    >>> from sic.data.rotation import rotation_to_y
    >>> (rotation_to_y(np.array([1.0, 0.0, 0.0])) @ [1.0, 0.0, 0.0]).round(6).tolist()
    [0.0, 1.0, 0.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["Z_UP_TO_Y_UP", "axis_angle_matrix", "axis_rotation", "euler_matrix", "rotation_to_y", "z_up_to_y_up"]

_AXES = {"x": 0, "y": 1, "z": 2}
# (x, y, z) in a z-up world -> (x, z, -y) in the y-up convention, keeping the frame right-handed.
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


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


def axis_angle_matrix(aa: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` from axis-angle vectors ``(..., 3)`` (Rodrigues)."""
    aa = np.asarray(aa, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    k = aa / np.maximum(angle, 1e-12)
    kx = np.zeros((*aa.shape[:-1], 3, 3))
    kx[..., 0, 1], kx[..., 0, 2], kx[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    kx = kx - np.swapaxes(kx, -1, -2)
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def rotation_to_y(n: np.ndarray) -> np.ndarray:
    """Rotation matrix taking unit vector ``n`` to ``+y`` (a half turn about x for ``-y``)."""
    axis = np.cross(n, [0.0, 1.0, 0.0])
    s = np.linalg.norm(axis)
    if s < 1e-12:
        return np.eye(3) if n[1] > 0 else np.diag([1.0, -1.0, -1.0])
    return axis_angle_matrix(axis / s * np.arctan2(s, n[1]))


def z_up_to_y_up(points: np.ndarray) -> np.ndarray:
    """Points ``(..., 3)`` of a z-up world in the y-up convention (see :data:`Z_UP_TO_Y_UP`)."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)
