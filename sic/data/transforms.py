"""Vectorised pose transforms and counter-based randomness shared by all task transforms.

Conventions (``docs/concepts.md``): metres, y up. World-frame tasks are expressed in a canonical
heading (the body faces +z at the window's first frame, its left at +x, like SMPL); camera-frame
tasks in the camera's frame turned y-up (x right, y up, z towards the viewer). Poses are made
root-relative per frame.

Example:
    >>> import numpy as np
    >>> from sic.data.transforms import root_relative
    >>> x = np.ones((1, 2, 3, 3), np.float32)
    >>> float(np.abs(root_relative(x)).max())
    0.0
"""

from __future__ import annotations

import numpy as np

from sic.data.skeleton import SkeletonLayout

__all__ = [
    "camera_up",
    "canonical_heading",
    "hash_uniform",
    "hip_indices",
    "normalize_screen",
    "root_relative",
]

_HIP_NAMES = (("LHip", "RHip"), ("L_hip", "R_hip"), ("HipLeft", "HipRight"), ("lhipjoint", "rhipjoint"))


def hip_indices(layout: SkeletonLayout) -> tuple[int, int]:
    """``(left_hip, right_hip)`` joint indices of ``layout`` (used to find the facing direction)."""
    for left, right in _HIP_NAMES:
        if left in layout.names and right in layout.names:
            return layout.index(left), layout.index(right)
    raise KeyError(f"layout {layout.name!r} has no recognised left/right hip joints")


def root_relative(x: np.ndarray, root: int = 0) -> np.ndarray:
    """Subtract the root joint per frame: ``(..., J, C) -> (..., J, C)``."""
    return x - x[..., root : root + 1, :]


def canonical_heading(x: np.ndarray, hips: tuple[int, int], frame: int = 0) -> np.ndarray:
    """Rotate each clip about the vertical (y) axis so that it faces +z at ``frame``.

    Args:
        x: ``(N, T, J, 3)`` y-up poses.
        hips: ``(left_hip, right_hip)`` indices; left minus right gives the body's left direction.
        frame: the frame whose heading is made canonical.

    Returns:
        ``(N, T, J, 3)`` rotated poses (float32).
    """
    left = x[:, frame, hips[0]] - x[:, frame, hips[1]]  # (N, 3) body-left direction
    # facing = left × up = (-left_z, 0, left_x); its yaw is atan2(facing_x, facing_z).
    yaw = np.arctan2(-left[:, 2], left[:, 0])
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.zeros((x.shape[0], 3, 3), dtype=np.float32)
    rot[:, 0, 0], rot[:, 0, 2], rot[:, 1, 1], rot[:, 2, 0], rot[:, 2, 2] = c, -s, 1.0, s, c
    return np.einsum("nij,ntkj->ntki", rot, x, optimize=True).astype(np.float32, copy=False)


def camera_up(x_world: np.ndarray, rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """World points into a y-up camera frame.

    Args:
        x_world: ``(N, T, J, 3)`` world points.
        rot: ``(N, 3, 3)`` world→camera rotation (OpenCV camera: x right, y down, z forward).
        trans: ``(N, 3)`` world→camera translation.

    Returns:
        ``(N, T, J, 3)`` points with x right, y up, z towards the viewer (the OpenCV frame turned
        180° about x), so that camera-frame targets share the y-up convention of world-frame ones.
    """
    flip = np.array([1.0, -1.0, -1.0], dtype=np.float32)
    cam = np.einsum("nij,ntkj->ntki", rot, x_world, optimize=True) + trans[:, None, None, :]
    return (cam * flip).astype(np.float32, copy=False)


def normalize_screen(uv: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Pixels to screen coordinates with y up: ``x/w·2 − 1``, ``−(y/w·2 − h/w)``.

    Args:
        uv: ``(N, ..., 2)`` pixel coordinates.
        size: ``(N, 2)`` image ``(width, height)``.

    Returns:
        ``(N, ..., 2)`` float32; the image width spans [-1, 1] (VideoPose3D normalisation, y flipped).
    """
    w = size[:, 0].reshape((-1,) + (1,) * (uv.ndim - 2))
    h = size[:, 1].reshape((-1,) + (1,) * (uv.ndim - 2))
    x = uv[..., 0] / w * 2 - 1
    y = -(uv[..., 1] / w * 2 - h / w)
    return np.stack([x, y], axis=-1).astype(np.float32, copy=False)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hash_uniform(seed: int, keys: np.ndarray, shape: tuple[int, ...] = (), stream: int = 0) -> np.ndarray:
    """Counter-based uniforms in [0, 1): a pure function of ``(seed, stream, key, element)``.

    Evaluation draws (prompt choice, joint masks) depend only on the sample's key, never on batch
    composition, worker count or epoch, so two test runs give identical numbers.

    Args:
        seed: global seed.
        keys: ``(N,)`` integer sample keys.
        shape: per-sample shape of the draw.
        stream: separates independent draws for the same keys (e.g. prompt vs. mask).

    Returns:
        ``(N, *shape)`` float64 in [0, 1).
    """
    m = int(np.prod(shape, dtype=np.int64)) if shape else 1
    with np.errstate(over="ignore"):
        base = _splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) ^ _splitmix64(np.uint64(stream)))
        ctr = keys.astype(np.uint64)[:, None] * np.uint64(m) + np.arange(m, dtype=np.uint64)[None]
        x = _splitmix64(_splitmix64(ctr ^ base))
    return ((x >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape((len(keys), *shape))
