"""Virtual pinhole cameras: sampling, projection, simulated 2D detections and screen normalisation.

Conventions:

* **World frame**: metres, y up, ground plane ``y = 0`` (the frame of every ``sic`` 3D source).
* **Camera frame** (OpenCV): x right, y down, z forward (optical axis). ``X_cam = R @ X_world + t``, so
  ``R`` is the world-to-camera rotation and the camera centre is ``-R.T @ t``.
* **Pixels**: ``u = f_x x / z + c_x``, ``v = f_y y / z + c_y``, origin at the top-left image corner.
* **Normalised screen** (VideoPose3D's ``normalize_screen_coordinates`` with the y axis flipped):
  ``x_n = u / w * 2 - 1`` and ``y_n = -(v / w * 2 - h / w)``. Both axes are divided by the *width* to keep
  the aspect ratio; the sign flip makes normalised 2D y point **up**, like world y, so 2D inputs and 3D
  targets share the y-up convention.

The same :class:`Cameras` container serves real datasets (their calibrations) and the procedural source
(:func:`sample_cameras`).

Example:
    >>> import numpy as np
    >>> from sic.data.camera import sample_cameras, simulate_detections
    >>> rng = np.random.default_rng(0)
    >>> cams = sample_cameras(2, look_at=np.array([[0.0, 1.0, 0.0], [1.0, 0.9, 2.0]]), rng=rng)
    >>> X = np.zeros((2, 5, 17, 3)) + np.array([0.0, 1.0, 0.0])    # (N, T, J, 3) world points
    >>> uv = cams.project(X)                                          # (N, T, J, 2) pixels
    >>> bool(np.allclose(uv[0], cams.c[0], atol=1e-6))               # the look-at point hits the principal point
    True
    >>> uv_noisy, conf = simulate_detections(uv, rng)
    >>> uv_noisy.shape, conf.shape
    ((2, 5, 17, 2), (2, 5, 17))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Cameras",
    "denormalize_screen",
    "look_at_rotation",
    "normalize_screen",
    "render_views",
    "sample_cameras",
    "simulate_detections",
]


@dataclass
class Cameras:
    """A batch of N pinhole cameras without lens distortion.

    Args:
        R: ``(N, 3, 3)`` world-to-camera rotations (OpenCV camera axes: x right, y down, z forward).
        t: ``(N, 3)`` translations in metres, ``X_cam = R @ X_world + t``.
        f: ``(N, 2)`` focal lengths ``(f_x, f_y)`` in pixels.
        c: ``(N, 2)`` principal points ``(c_x, c_y)`` in pixels.
        size: ``(N, 2)`` image sizes ``(width, height)`` in pixels.
    """

    R: np.ndarray
    t: np.ndarray
    f: np.ndarray
    c: np.ndarray
    size: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.R)
        expected = {"R": (n, 3, 3), "t": (n, 3), "f": (n, 2), "c": (n, 2), "size": (n, 2)}
        for name, shape in expected.items():
            value = np.asarray(getattr(self, name))
            if value.shape != shape:
                raise ValueError(f"Cameras.{name}: expected shape {shape}, got {value.shape}")
            setattr(self, name, value)

    def __len__(self) -> int:
        return len(self.R)

    @property
    def centers(self) -> np.ndarray:
        """``(N, 3)`` camera centres in world coordinates (``-R^T t``)."""
        return -np.einsum("nji,nj->ni", self.R, self.t)

    def world_to_camera(self, X: np.ndarray) -> np.ndarray:
        """Transform world points into each clip's camera frame.

        Args:
            X: ``(N, ..., 3)`` world points, e.g. ``(N, T, J, 3)``; camera ``n`` applies to ``X[n]``.

        Returns:
            ``(N, ..., 3)`` camera-frame points (x right, y down, z forward), same float dtype as ``X``.
        """
        X = np.asarray(X)
        self._check_batch(X)
        dtype = np.result_type(X.dtype, np.float32)
        # One small matrix product per camera: (n, P, 3) @ (n, 3, 3), with P the points per camera.
        Xc = np.matmul(X.reshape(len(self), -1, 3).astype(dtype, copy=False), self.R.transpose(0, 2, 1).astype(dtype))
        return (Xc + self.t[:, None, :].astype(dtype)).reshape(X.shape)

    def project(self, X_world: np.ndarray) -> np.ndarray:
        """Project world points to pixels.

        Args:
            X_world: ``(N, ..., 3)`` world points, e.g. ``(N, T, J, 3)``.

        Returns:
            ``(N, ..., 2)`` pixel coordinates ``(u, v)`` (float32 for float32 input, else float64). Points
            behind the camera (``z <= 0``) give meaningless values; :func:`sample_cameras` places cameras so
            that this does not happen.
        """
        Xc = self.world_to_camera(X_world)
        shape = (len(self),) + (1,) * (Xc.ndim - 2) + (2,)
        f, c = self.f.reshape(shape).astype(Xc.dtype), self.c.reshape(shape).astype(Xc.dtype)
        return Xc[..., :2] / Xc[..., 2:3] * f + c

    def _check_batch(self, X: np.ndarray) -> None:
        if X.ndim < 2 or X.shape[0] != len(self) or X.shape[-1] != 3:
            raise ValueError(f"X: expected shape ({len(self)}, ..., 3) for {len(self)} cameras, got {X.shape}")


def look_at_rotation(
    eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 1.0, 0.0)
) -> np.ndarray:
    """World-to-camera rotations of cameras at ``eye`` looking at ``target`` with no roll.

    Args:
        eye: ``(N, 3)`` camera centres (world).
        target: ``(N, 3)`` points on the optical axis (world).
        up: world up direction; the image's downward axis is its projection, negated.

    Returns:
        ``(N, 3, 3)`` rotations whose rows are the camera's right, down and forward axes in world coordinates.
    """
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
    # right = forward x up and down = forward x right make (right, down, forward) right-handed, as OpenCV needs.
    right = np.cross(forward, np.asarray(up, dtype=np.float64))
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=-2)


def sample_cameras(
    n: int,
    look_at: np.ndarray,
    rng: np.random.Generator,
    *,
    distance: tuple[float, float] = (3.5, 6.0),
    height: tuple[float, float] = (0.8, 2.0),
    focal: tuple[float, float] = (1100.0, 1200.0),
    image_size: tuple[float, float] = (1000.0, 1000.0),
    principal_jitter: float = 10.0,
    keep_in_view: np.ndarray | None = None,
) -> Cameras:
    """Sample N static cameras, each aimed at its own look-at point, like a studio capture rig.

    The camera centre lies at a random azimuth around the look-at point, ``distance`` metres away (3D
    distance), at ``height`` metres above the ground; the optical axis passes through the look-at point,
    which therefore projects onto the principal point. Exactly the same number of random draws is made
    for every call with the same ``n``, whatever the other arguments.

    Args:
        n: number of cameras N.
        look_at: ``(N, 3)`` world points to aim at (e.g. the centre of the subject's motion).
        rng: random generator.
        distance: range of the camera-to-look-at distance in metres.
        height: range of the camera height above the ground (y) in metres.
        focal: range of the focal length in pixels (``f_y`` is within 0.5 % of ``f_x``).
        image_size: ``(width, height)`` in pixels.
        principal_jitter: maximum offset of the principal point from the image centre, in pixels.
        keep_in_view: optional ``(N,)`` radius in metres of the horizontal region around ``look_at`` that
            the subject moves in. The horizontal camera distance is raised to at least ``r / 0.35`` (so the
            region spans less than the field of view) and ``r + 2.5`` (so the subject stays 2.5 m away even
            when walking towards the camera).

    Returns:
        :class:`Cameras` with N cameras.
    """
    look_at = np.asarray(look_at, dtype=np.float64).reshape(n, 3)
    dist = rng.uniform(*distance, size=n)
    azimuth = rng.uniform(0.0, 2.0 * np.pi, size=n)
    cam_y = rng.uniform(*height, size=n)
    fx = rng.uniform(*focal, size=n)
    fy = fx * (1.0 + rng.uniform(-0.005, 0.005, size=n))
    c = np.asarray(image_size, dtype=np.float64) / 2.0 + rng.uniform(-principal_jitter, principal_jitter, (n, 2))

    dy = cam_y - look_at[:, 1]
    horizontal = np.sqrt(np.maximum(dist**2 - dy**2, 0.25))
    if keep_in_view is not None:
        r = np.asarray(keep_in_view, dtype=np.float64).reshape(n)
        horizontal = np.maximum(horizontal, np.maximum(r / 0.35, r + 2.5))
    eye = look_at + np.stack([horizontal * np.sin(azimuth), dy, horizontal * np.cos(azimuth)], axis=-1)
    R = look_at_rotation(eye, look_at)
    t = -np.einsum("nij,nj->ni", R, eye)
    size = np.broadcast_to(np.asarray(image_size, dtype=np.float64), (n, 2)).copy()
    return Cameras(R=R, t=t, f=np.stack([fx, fy], axis=-1), c=c, size=size)


def simulate_detections(
    uv: np.ndarray,
    rng: np.random.Generator,
    sigma_px: tuple[float, float] = (1.5, 4.0),
    outlier_prob: float = 0.01,
    outlier_px: tuple[float, float] = (20.0, 120.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt exact projections the way a 2D keypoint detector would.

    * Each clip gets a noise level ``sigma ~ U(sigma_px)`` (per-axis standard deviation in pixels), spread
      over joints by per-joint factors (log-normal, normalised to unit RMS per clip) so some joints are
      noisier than others while the clip's average stays ``sigma``.
    * The jitter is Gaussian and temporally smooth-ish: white noise filtered with ``[1, 2, 1] / sqrt(6)``
      along time (unit variance, lag-1 correlation 2/3), like a detector run frame by frame on video.
    * With probability ``outlier_prob`` per joint and frame the detection is replaced by an outlier displaced
      by ``U(outlier_px)`` pixels in a random direction (a swapped limb or a background hit).
    * Confidence is ``exp(-|error| / 25 px)`` times a factor in ``[0.9, 1]``, clipped to ``[1e-3, 1]``: close
      to 1 for clean joints, lower for noisier ones and below 0.5 for outliers.

    Args:
        uv: ``(N, T, J, 2)`` exact pixel coordinates.
        rng: random generator.
        sigma_px: ``(low, high)`` range of the per-clip noise level in pixels.
        outlier_prob: probability of an outlier per joint and frame.
        outlier_px: ``(low, high)`` range of outlier displacement in pixels.

    Returns:
        ``(uv_noisy, confidence)``: ``(N, T, J, 2)`` noisy pixels (float32) and ``(N, T, J)`` confidences
        in ``(0, 1]`` (float32).
    """
    uv = np.asarray(uv)
    if uv.ndim != 4 or uv.shape[-1] != 2:
        raise ValueError(f"uv: expected shape (N, T, J, 2), got {uv.shape}")
    if not 0.0 <= sigma_px[0] <= sigma_px[1]:
        raise ValueError(f"sigma_px: expected 0 <= low <= high, got {sigma_px}")
    if not 0.0 <= outlier_prob <= 1.0:
        raise ValueError(f"outlier_prob: expected a probability in [0, 1], got {outlier_prob}")
    n, T, J, _ = uv.shape
    sigma = rng.uniform(*sigma_px, size=n)[:, None] * _unit_rms(np.exp(0.25 * rng.standard_normal((n, J))))
    white = rng.standard_normal((n, T + 2, J, 2), dtype=np.float32)
    jitter = (white[:, :-2] + 2.0 * white[:, 1:-1] + white[:, 2:]) * np.float32(1.0 / np.sqrt(6.0))
    error = jitter * sigma[:, None, :, None].astype(np.float32)

    is_outlier = rng.random((n, T, J), dtype=np.float32) < outlier_prob
    k = int(is_outlier.sum())
    magnitude = rng.uniform(*outlier_px, size=k)
    direction = rng.uniform(0.0, 2.0 * np.pi, size=k)
    error[is_outlier] = np.stack([np.cos(direction), np.sin(direction)], axis=-1) * magnitude[:, None]

    scale = np.float32(0.9) + np.float32(0.1) * rng.random((n, T, J), dtype=np.float32)
    confidence = np.clip(np.exp(-np.linalg.norm(error, axis=-1) / np.float32(25.0)) * scale, 1e-3, 1.0)
    return (uv + error).astype(np.float32), confidence.astype(np.float32)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    """Scale each row of ``x`` (N, J) to unit root-mean-square."""
    return x / np.sqrt((x**2).mean(axis=-1, keepdims=True))


def _size_like(size: np.ndarray, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width and height of ``size`` ((2,), (N, 2) or broadcastable (..., 2)) shaped to broadcast with uv[..., 0]."""
    size = np.asarray(size, dtype=np.float64)
    if size.ndim == 2 and uv.ndim > 2 and size.shape[0] == uv.shape[0]:
        # A per-clip (N, 2) size against (N, T, J, 2) points: insert the T, J axes.
        size = size.reshape((size.shape[0],) + (1,) * (uv.ndim - 2) + (2,))
    return size[..., 0], size[..., 1]


def render_views(poses: np.ndarray, rng: np.random.Generator, root: int = 0) -> tuple[Cameras, np.ndarray]:
    """Film each clip with its own static virtual camera and detect its joints.

    The camera aims at the centre of the clip's motion and stays far enough away to keep the whole
    path in view (:func:`sample_cameras`); detections carry detector-like noise
    (:func:`simulate_detections`).

    Args:
        poses: ``(N, T, J, 3)`` world poses, metres, y up, floor at ``y = 0``.
        rng: random generator.
        root: root joint index (its path sets the aim point and the range of motion).

    Returns:
        ``(cameras, poses2d)`` with ``poses2d`` ``(N, T, J, 3)`` float32 ``(u, v, confidence)``.
    """
    root_xz = poses[:, :, root][..., [0, 2]]
    lo, hi = root_xz.min(axis=1), root_xz.max(axis=1)
    centre = 0.5 * (lo + hi)
    heights = poses[..., 1]
    look_y = 0.5 * (heights.max(axis=(1, 2)) + heights.min(axis=(1, 2)))
    look_at = np.stack([centre[:, 0], look_y, centre[:, 1]], axis=-1)
    radius = 0.5 * np.linalg.norm(hi - lo, axis=-1) + 0.4  # path half-length plus the body's reach
    cams = sample_cameras(len(poses), look_at, rng, keep_in_view=radius)
    uv, conf = simulate_detections(cams.project(poses), rng)
    return cams, np.concatenate([uv, conf[..., None]], axis=-1)


def normalize_screen(uv: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Map pixels to VideoPose3D screen coordinates with y pointing up.

    ``x_n = u / w * 2 - 1`` spans ``[-1, 1]`` across the width; ``y_n = -(v / w * 2 - h / w)`` uses the
    same scale (aspect ratio kept) and is flipped so that normalised y points up, like world y.

    Args:
        uv: ``(..., 2)`` pixel coordinates, e.g. ``(N, T, J, 2)``.
        size: image ``(width, height)``: ``(2,)``, ``(N, 2)`` (one per clip) or broadcastable ``(..., 2)``.

    Returns:
        ``(..., 2)`` normalised coordinates (float, same dtype as ``uv`` if floating).
    """
    uv = np.asarray(uv)
    w, h = _size_like(size, uv)
    x = uv[..., 0] / w * 2.0 - 1.0
    y = -(uv[..., 1] / w * 2.0 - h / w)
    return np.stack([x, y], axis=-1).astype(np.result_type(uv.dtype, np.float32))


def denormalize_screen(xy: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Inverse of :func:`normalize_screen`: normalised y-up screen coordinates back to pixels.

    Args:
        xy: ``(..., 2)`` normalised coordinates.
        size: image ``(width, height)``: ``(2,)``, ``(N, 2)`` or broadcastable ``(..., 2)``.

    Returns:
        ``(..., 2)`` pixel coordinates.
    """
    xy = np.asarray(xy)
    w, h = _size_like(size, xy)
    u = (xy[..., 0] + 1.0) * w / 2.0
    v = (h / w - xy[..., 1]) * w / 2.0
    return np.stack([u, v], axis=-1).astype(np.result_type(xy.dtype, np.float32))
