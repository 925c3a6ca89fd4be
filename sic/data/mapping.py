"""Joint maps between layouts: every source reaches the model's layout (H3.6M-17) through one table.

A map fills each target joint with the mean of one or more source joints. ``anatomical`` maps put
each joint where the body part is (documented per source in ``docs/datasets/``); ``legacy`` is the
Skeleton-in-Context reference's SMPL → "H36M" table, which shifts every limb one joint distally and
swaps left and right (kept only to compare with numbers computed that way).

Example:
    >>> import numpy as np
    >>> from sic.data.mapping import get_joint_map
    >>> m = get_joint_map("smpl22", "h36m17")
    >>> m(np.zeros((5, 22, 3))).shape
    (5, 17, 3)
    >>> get_joint_map("smpl24", "h36m17", "legacy").sources[1]  # RHip <- L_knee in the reference
    (4,)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sic.data.skeleton import get_layout
from sic.utils.errors import ConfigError

__all__ = ["JointMap", "get_joint_map", "joint_map_names"]


@dataclass(frozen=True)
class JointMap:
    """Map from layout ``source`` to layout ``target``.

    Args:
        source: source layout name.
        target: target layout name.
        variant: ``"anatomical"`` or ``"legacy"``.
        sources: per target joint, the source joint indices averaged into it.
    """

    source: str
    target: str
    variant: str
    sources: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        n_src, n_tgt = get_layout(self.source).num_joints, get_layout(self.target).num_joints
        if len(self.sources) != n_tgt or any(not s or max(s) >= n_src or min(s) < 0 for s in self.sources):
            raise ValueError(f"joint map {self.source}->{self.target}: needs {n_tgt} non-empty index lists within [0, {n_src})")

    @property
    def matrix(self) -> np.ndarray:
        """``(J_target, J_source)`` averaging weights."""
        w = np.zeros((len(self.sources), get_layout(self.source).num_joints))
        for i, s in enumerate(self.sources):
            w[i, list(s)] = 1.0 / len(s)
        return w

    def __call__(self, joints: np.ndarray) -> np.ndarray:
        """Map ``(..., J_source, 3)`` to ``(..., J_target, 3)`` (float32)."""
        n_src = get_layout(self.source).num_joints
        if joints.shape[-2:] != (n_src, 3):
            raise ValueError(f"joint map {self.source}->{self.target} expects (..., {n_src}, 3), got {joints.shape}")
        return np.einsum("ts,...sc->...tc", self.matrix, joints).astype(np.float32)


# H3.6M-17 order: Pelvis RHip RKnee RAnkle LHip LKnee LAnkle Spine Thorax Neck Head
#                 LShoulder LElbow LWrist RShoulder RElbow RWrist
_SMPL_ANATOMICAL = ((0,), (2,), (5,), (8,), (1,), (4,), (7,), (6,), (12,), (12, 15), (15,),
                    (16,), (18,), (20,), (17,), (19,), (21,))  # fmt: skip
_SMPL_LEGACY = ((6,), (4,), (7,), (10,), (5,), (8,), (11,), (9,), (12,), (12, 15), (15,),
                (14,), (17,), (19,), (13,), (16,), (18,))  # fmt: skip
# CMU ASF bone end points (cmu31): the hip joints end at the hips, femur at the knee, tibia at the
# ankle; the clavicle ends at the shoulder, humerus at the elbow, radius at the wrist; upperback
# ends at mid-torso (lowerback ends just above the pelvis); H3.6M's thorax sits on the shoulder line,
# where lowerneck ends (thorax ends ~8 cm lower); upperneck ends at the base of the skull and head
# at the top of the head. Measured on CMU 01_01 and 07_05 (docs/datasets/mocap.md).
_CMU_ANATOMICAL = ((0,), (6,), (7,), (8,), (1,), (2,), (3,), (12,), (14,), (15,), (16,),
                   (17,), (18,), (19,), (24,), (25,), (26,))  # fmt: skip

_MAPS = {
    ("smpl24", "h36m17", "anatomical"): _SMPL_ANATOMICAL,
    ("smpl22", "h36m17", "anatomical"): _SMPL_ANATOMICAL,
    ("smpl24", "h36m17", "legacy"): _SMPL_LEGACY,
    ("smpl22", "h36m17", "legacy"): _SMPL_LEGACY,
    ("cmu31", "h36m17", "anatomical"): _CMU_ANATOMICAL,
}


def joint_map_names() -> list[tuple[str, str, str]]:
    """All registered ``(source, target, variant)`` keys."""
    return sorted(_MAPS)


def get_joint_map(source: str, target: str = "h36m17", variant: str = "anatomical") -> JointMap:
    """The map from ``source`` to ``target`` (identity when they are equal).

    Raises:
        ConfigError: no such map; the message lists the registered ones.
    """
    if source == target:
        return JointMap(source, target, variant, tuple((i,) for i in range(get_layout(source).num_joints)))
    key = (source, target, variant)
    if key not in _MAPS:
        known = ", ".join(f"{s}->{t} ({v})" for s, t, v in joint_map_names())
        raise ConfigError(f"no joint map {source}->{target} with variant {variant!r}; registered: {known}")
    return JointMap(source, target, variant, _MAPS[key])
