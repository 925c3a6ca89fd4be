"""In-context tasks as transforms on clips: one clip store serves every task.

A task turns a window of a clip (3D world poses, optional 2D detections and camera) into an
``(input, target, mask)`` triple of ``F`` frames each. Pose estimation and future pose estimation
read the same clips; only the transform differs. Every transform is vectorised over the batch.

==========================  ======  =======================================  ===========================
task id                     window  input (F frames)                         target (F frames)
==========================  ======  =======================================  ===========================
``motion_prediction``       2F      3D past, world frame                     3D future
``pose_estimation``         F       2D ``(x, y, 0)``, screen, root-relative  3D, camera frame
``future_pose_estimation``  2F      2D past ``(x, y, 0)``                    3D future, camera frame
``joint_completion``        F       3D with 40 % or 60 % of joints zeroed    full 3D
``motion_inbetween``        F       3D with the middle frames zeroed         full 3D
==========================  ======  =======================================  ===========================

Example:
    >>> from sic.data.tasks import get_task
    >>> get_task("joint_completion").window(16)
    16
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sic.data.transforms import camera_up, canonical_heading, hash_uniform, normalize_screen, root_relative
from sic.utils.errors import ConfigError

__all__ = [
    "TASK_IDS",
    "ClipTask",
    "ClipWindow",
    "FuturePoseEstimation",
    "JointCompletion",
    "MotionInbetween",
    "MotionPrediction",
    "PoseEstimation",
    "get_task",
    "task_index",
]

TASK_IDS: tuple[str, ...] = (
    "motion_prediction",
    "pose_estimation",
    "future_pose_estimation",
    "joint_completion",
    "motion_inbetween",
)


def task_index(task_id: str) -> int:
    """Position of ``task_id`` in :data:`TASK_IDS` (the integer stored in ``SkeletonBatch.task``)."""
    try:
        return TASK_IDS.index(task_id)
    except ValueError:
        raise ConfigError(f"unknown task id {task_id!r}; expected one of: {', '.join(TASK_IDS)}") from None


@dataclass
class ClipWindow:
    """Windows cut from clips of one archive (numpy arrays, ``N`` windows of ``W`` frames).

    Attributes:
        poses3d: ``(N, W, J, 3)`` world poses, metres, y up.
        hips: ``(left, right)`` hip joint indices of the layout.
        poses2d: ``(N, W, J, 3)`` detections ``(u, v, confidence)`` in pixels, or None.
        cam_R: ``(N, 3, 3)`` world→camera rotation; ``cam_t`` ``(N, 3)``; ``cam_size`` ``(N, 2)``.
    """

    poses3d: np.ndarray
    hips: tuple[int, int]
    poses2d: np.ndarray | None = None
    cam_R: np.ndarray | None = None
    cam_t: np.ndarray | None = None
    cam_size: np.ndarray | None = None


class ClipTask:
    """Base class of task transforms.

    Subclasses set ``id``, ``needs_2d`` and implement :meth:`apply`. Randomness comes from
    :meth:`draw`, a function of ``(seed, sample key)`` so evaluation is reproducible; the prompt
    of a sample reuses the query's draws (e.g. the same masked joints), as in the reference.
    """

    id: ClassVar[str]
    needs_2d: ClassVar[bool] = False
    future: ClassVar[bool] = False

    def window(self, num_frames: int) -> int:
        """Frames of clip needed for ``num_frames`` input and target frames."""
        return 2 * num_frames if self.future else num_frames

    def draw(self, seed: int, keys: np.ndarray, num_frames: int, num_joints: int) -> dict[str, np.ndarray]:
        """Random parameters for samples ``keys`` (none by default)."""
        del seed, keys, num_frames, num_joints  # unused
        return {}

    def apply(self, clips: ClipWindow, num_frames: int, params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``inputs (N, F, J, 3)``, ``targets (N, F, J, 3)``, ``mask (N, F, J)`` bool (float32 arrays)."""
        raise NotImplementedError


def _world(clips: ClipWindow) -> np.ndarray:
    return root_relative(canonical_heading(clips.poses3d, clips.hips))


def _camera(clips: ClipWindow) -> np.ndarray:
    return root_relative(camera_up(clips.poses3d, clips.cam_R, clips.cam_t))


def _screen(clips: ClipWindow) -> np.ndarray:
    xy = root_relative(normalize_screen(clips.poses2d[..., :2], clips.cam_size))
    return np.concatenate([xy, np.zeros_like(xy[..., :1])], axis=-1)  # (x, y, 0), the paper's format


def _no_mask(x: np.ndarray) -> np.ndarray:
    return np.zeros(x.shape[:3], dtype=bool)


class MotionPrediction(ClipTask):
    """3D past ``F`` frames → 3D next ``F`` frames (world frame, canonical heading at the first frame)."""

    id = "motion_prediction"
    future = True

    def apply(self, clips, num_frames, params):  # noqa: D102
        x = _world(clips)
        return x[:, :num_frames], x[:, num_frames:], _no_mask(x[:, :num_frames])


class PoseEstimation(ClipTask):
    """2D detections ``(x, y, 0)`` → 3D pose in the camera frame, same frames."""

    id = "pose_estimation"
    needs_2d = True

    def apply(self, clips, num_frames, params):  # noqa: D102
        x = _screen(clips)
        return x, _camera(clips), _no_mask(x)


class FuturePoseEstimation(ClipTask):
    """2D past ``F`` frames → 3D next ``F`` frames in the camera frame."""

    id = "future_pose_estimation"
    needs_2d = True
    future = True

    def apply(self, clips, num_frames, params):  # noqa: D102
        x2d, x3d = _screen(clips), _camera(clips)
        return x2d[:, :num_frames], x3d[:, num_frames:], _no_mask(x2d[:, :num_frames])


class JointCompletion(ClipTask):
    """3D with a fraction of the joints zeroed → full 3D.

    Args:
        ratios: masking ratios; each sample draws one. ``round(ratio · J)`` non-root joints are hidden
            (7 and 10 of 17 for 40 % / 60 %; the reference hides 6 and 10 and never joint 16).
        per_frame: draw new joints in every frame (the paper's "in each frame"); False hides the same
            joints in all frames (the reference).
        root: the root joint, never hidden (it is the origin after root-relative normalisation).
    """

    id = "joint_completion"

    def __init__(self, ratios: tuple[float, ...] = (0.4, 0.6), per_frame: bool = True, root: int = 0) -> None:
        if not ratios or any(not 0 < r < 1 for r in ratios):
            raise ConfigError(f"joint_completion ratios must lie in (0, 1), got {ratios}")
        self.ratios, self.per_frame, self.root = tuple(ratios), per_frame, root

    def draw(self, seed, keys, num_frames, num_joints):  # noqa: D102
        choice = (hash_uniform(seed, keys, (), stream=11) * len(self.ratios)).astype(np.int64)
        ratio = np.asarray(self.ratios, dtype=np.float32)[choice]
        count = np.rint(ratio * num_joints).astype(np.int64)
        frames = num_frames if self.per_frame else 1
        scores = hash_uniform(seed, keys, (frames, num_joints), stream=12)
        scores[..., self.root] = 2.0  # never chosen
        rank = scores.argsort(-1).argsort(-1)  # rank of each joint's score within its frame
        mask = rank < count[:, None, None]
        return {"mask": np.broadcast_to(mask, (len(keys), num_frames, num_joints)), "ratio": ratio}

    def apply(self, clips, num_frames, params):  # noqa: D102
        x = _world(clips)
        mask = params["mask"]
        return np.where(mask[..., None], np.float32(0), x), x, mask


class MotionInbetween(ClipTask):
    """3D with the middle frames zeroed → full 3D; the paper's unseen task (held out of training).

    Args:
        keep: frames kept at each end (default: a quarter of the clip on each side).
    """

    id = "motion_inbetween"

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep

    def apply(self, clips, num_frames, params):  # noqa: D102
        keep = self.keep if self.keep is not None else max(1, num_frames // 4)
        if not 0 < keep < num_frames / 2:
            raise ConfigError(f"motion_inbetween keep={keep} must be in [1, {num_frames // 2}) for {num_frames} frames")
        x = _world(clips)
        mask = np.zeros(x.shape[:3], dtype=bool)
        mask[:, keep : num_frames - keep] = True
        return np.where(mask[..., None], np.float32(0), x), x, mask


_TASKS: dict[str, type[ClipTask]] = {
    cls.id: cls for cls in (MotionPrediction, PoseEstimation, FuturePoseEstimation, JointCompletion, MotionInbetween)
}


def get_task(task_id: str, **kwargs: object) -> ClipTask:
    """Build the transform of ``task_id`` (keyword arguments go to its constructor)."""
    task_index(task_id)
    return _TASKS[task_id](**kwargs)
