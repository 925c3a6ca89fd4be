"""Canonical frame for posecode captioning: joint mapping, yaw removal, prosthetic and virtual joints.

The posecode operators are defined on a fixed set of named joints in one frame: metres, y up, the
body facing +z and +x the body's left (left cross up = forward). :class:`FrameAdapter` brings a pose of
any supported layout there:

1. map the layout's joints to the captioner's base joints (:data:`LAYOUT_SOURCES`; H3.6M-17 has no
   toe joint, which is synthesised or left out according to ``foot``);
2. remove the yaw only (pitch and roll stay, so lying and upside-down poses keep their shape),
   from the hip line, optionally averaged with the shoulder line;
3. centre the pelvis horizontally;
4. add a prosthetic middle-finger joint per hand and the virtual joints (hand, torso, thigh, ...).

The floor used by ``onGround`` is the lowest point over every input joint and every derived one.

Example:
    >>> import numpy as np
    >>> from sic.captions.canonical import JOINT_INDEX, FrameAdapter
    >>> adapter = FrameAdapter("smpl22")
    >>> canon = adapter(np.random.default_rng(0).normal(size=(4, 22, 3)))
    >>> canon.joints.shape[0], canon.joints.shape[2], canon.floor.shape
    (4, 3, (4,))
    >>> float(abs(canon.joints[0, JOINT_INDEX["pelvis"], 0])) < 1e-9
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sic.data.skeleton import get_layout
from sic.utils.errors import ConfigError, DataError

__all__ = [
    "BASE_JOINTS",
    "JOINTS",
    "JOINT_INDEX",
    "LAYOUT_SOURCES",
    "VIRTUAL_JOINTS",
    "CanonicalPoses",
    "FrameAdapter",
    "check_poses",
]

FootPolicy = Literal["synthesise", "disable"]
YawSource = Literal["hips", "hips+shoulders"]

BASE_JOINTS = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_foot", "right_foot", "spine3", "neck", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip
"""Joints read by the coordinate posecodes; ``*_foot`` is the toe base (SMPL's foot joint)."""

VIRTUAL_JOINTS: dict[str, tuple[str, ...]] = {
    "left_hand": ("left_wrist", "left_middle2"),
    "right_hand": ("right_wrist", "right_middle2"),
    "torso": ("pelvis", "neck", "spine3"),
    "left_thigh": ("left_hip", "left_knee"),
    "right_thigh": ("right_hip", "right_knee"),
    "left_shin": ("left_knee", "left_ankle"),
    "right_shin": ("right_knee", "right_ankle"),
    "left_upperarm": ("left_shoulder", "left_elbow"),
    "right_upperarm": ("right_shoulder", "right_elbow"),
    "left_forearm": ("left_elbow", "left_wrist"),
    "right_forearm": ("right_elbow", "right_wrist"),
}
"""Each virtual joint is the mean of the listed joints."""

JOINTS = (*BASE_JOINTS, "left_middle2", "right_middle2", *VIRTUAL_JOINTS)
JOINT_INDEX = {name: i for i, name in enumerate(JOINTS)}

_SMPL = {name: (name.replace("left_", "L_").replace("right_", "R_"),) for name in BASE_JOINTS}
# H3.6M "Ankle" is the ankle; "Thorax" sits where SMPL's neck joint is (H3.6M "Neck" is higher, near
# the nose); spine3 is taken between "Spine" and "Thorax". No toe joint: empty source.
_H36M = {
    "pelvis": ("Pelvis",), "left_hip": ("LHip",), "right_hip": ("RHip",), "left_knee": ("LKnee",),
    "right_knee": ("RKnee",), "left_ankle": ("LAnkle",), "right_ankle": ("RAnkle",), "left_foot": (),
    "right_foot": (), "spine3": ("Spine", "Thorax"), "neck": ("Thorax",), "left_shoulder": ("LShoulder",),
    "right_shoulder": ("RShoulder",), "left_elbow": ("LElbow",), "right_elbow": ("RElbow",),
    "left_wrist": ("LWrist",), "right_wrist": ("RWrist",),
}  # fmt: skip
# the two SMPL-24 hand joints only take part in the floor
LAYOUT_SOURCES: dict[str, dict[str, tuple[str, ...]]] = {"h36m17": _H36M, "smpl22": _SMPL, "smpl24": _SMPL}
"""Per layout, the source joints averaged into each base joint (empty: missing)."""

MIDDLE2_OFFSET = 0.1367
"""Metres from wrist to the prosthetic middle-finger joint, along elbow → wrist (PoseScript's mean)."""
TOE_FORWARD, TOE_DROP = 0.10, 0.05
"""A synthesised toe sits this far in front of (+z) and below (-y) the ankle, in metres."""
_MM_GUARD = 5.0  # a pelvis-to-neck distance above this many "metres" means millimetres


@dataclass(frozen=True)
class CanonicalPoses:
    """Poses in the captioner's frame.

    Args:
        joints: ``(N, len(JOINTS), 3)`` float64, indexed by :data:`JOINT_INDEX`.
        floor: ``(N,)`` lowest y over all input and derived joints.
        size: ``(N,)`` body size in metres (torso + mean thigh + mean shin length), for threshold scaling.
    """

    joints: np.ndarray
    floor: np.ndarray
    size: np.ndarray


def check_poses(poses: object, num_joints: int, layout: str, name: str = "poses") -> np.ndarray:
    """Validate ``(N, J, 3)`` (or one ``(J, 3)``) finite poses and return them as float64 ``(N, J, 3)``.

    Raises:
        DataError: wrong shape, a joint count that does not match ``layout``, or NaN/inf values.
    """
    try:
        arr = np.asarray(poses, dtype=np.float64)
    except (TypeError, ValueError) as err:
        got = type(poses).__name__
        raise DataError(f"{name} must be a float array of shape (N, {num_joints}, 3); got {got}") from err
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (num_joints, 3):
        raise DataError(f"{name} must have shape (N, {num_joints}, 3) for layout {layout!r}, got {np.shape(poses)}")
    bad = ~np.isfinite(arr).all(axis=(1, 2))
    if bad.any():
        raise DataError(f"{name} contain NaN or inf values in pose {int(np.argmax(bad))} ({int(bad.sum())} bad poses)")
    return arr


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


class FrameAdapter:
    """Bring poses of one layout into the canonical captioning frame.

    Args:
        layout: a layout name with an entry in :data:`LAYOUT_SOURCES`.
        foot: how to fill a missing toe joint: ``"synthesise"`` (ankle + 0.10 m forward, 0.05 m lower)
            or ``"disable"`` (the toe copies the ankle and every foot code is switched off upstream).
            Ignored when the layout has toes.
        yaw_from: ``"hips"`` (the root's yaw, as PoseScript) or ``"hips+shoulders"`` (the mean of both lines).
    """

    def __init__(self, layout: str, foot: FootPolicy = "synthesise", yaw_from: YawSource = "hips") -> None:
        supported = ", ".join(LAYOUT_SOURCES)
        try:
            spec = get_layout(layout)
        except KeyError as err:
            raise ConfigError(f"unknown layout {layout!r}; captioning supports {supported}") from err
        if spec.name not in LAYOUT_SOURCES:
            raise ConfigError(f"layout {spec.name!r} has no captioning joint map; supported: {supported}")
        if foot not in ("synthesise", "disable"):
            raise ConfigError(f"foot must be 'synthesise' or 'disable', got {foot!r}")
        if yaw_from not in ("hips", "hips+shoulders"):
            raise ConfigError(f"yaw_from must be 'hips' or 'hips+shoulders', got {yaw_from!r}")
        self.layout, self.num_joints = spec.name, spec.num_joints
        self.foot, self.yaw_from = foot, yaw_from
        sources = LAYOUT_SOURCES[spec.name]
        self.has_toes = bool(sources["left_foot"] and sources["right_foot"])
        self._weights = np.zeros((len(BASE_JOINTS), spec.num_joints))
        for i, joint in enumerate(BASE_JOINTS):
            for src in sources[joint]:
                self._weights[i, spec.index(src)] = 1.0 / len(sources[joint])

    @property
    def feet(self) -> bool:
        """Whether foot (toe-base) positions are available, measured or synthesised."""
        return self.has_toes or self.foot == "synthesise"

    def __call__(self, poses: np.ndarray) -> CanonicalPoses:
        """Map validated ``(N, J, 3)`` poses (metres, y up, any yaw and position) to the canonical frame."""
        base = np.einsum("kj,njc->nkc", self._weights, poses)
        ix = {name: i for i, name in enumerate(BASE_JOINTS)}
        torso = np.linalg.norm(base[:, ix["neck"]] - base[:, ix["pelvis"]], axis=-1)
        if torso.size and float(np.median(torso)) > _MM_GUARD:
            median = float(np.median(torso))
            raise DataError(f"poses look like millimetres (median pelvis-neck distance {median:.0f}); pass metres")
        cos, sin = self._yaw(base, ix)
        full = np.empty((poses.shape[0], len(JOINTS), 3))
        full[:, : len(BASE_JOINTS)] = self._rotate(base - base[:, :1] * np.array([1.0, 0.0, 1.0]), cos, sin)
        if not self.has_toes:
            self._fill_toes(full)
        self._add_derived(full)
        # only x and z were centred and the rotation keeps y, so input and derived heights compare directly
        floor = np.minimum(poses[..., 1].min(axis=1), full[..., 1].min(axis=1))
        return CanonicalPoses(full, floor, self._size(full))

    def _yaw(self, base: np.ndarray, ix: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Per-pose cos/sin of the rotation about y that sends the body's left to +x.

        The horizontal hip line gives the yaw; when it is nearly vertical (lying on one side) the
        horizontal part of the forward axis (left cross up) takes over, so the estimate never degenerates.
        """
        left = _unit(base[:, ix["left_hip"]] - base[:, ix["right_hip"]])
        if self.yaw_from == "hips+shoulders":
            left = _unit(left + _unit(base[:, ix["left_shoulder"]] - base[:, ix["right_shoulder"]]))
        up = _unit(base[:, ix["neck"]] - base[:, ix["pelvis"]])
        forward = np.cross(left, up)
        # the left direction implied by the forward axis is forward rotated by +90° about y: (f_z, -f_x)
        dx, dz = left[:, 0] + forward[:, 2], left[:, 2] - forward[:, 0]
        norm = np.hypot(dx, dz)
        flat = norm < 1e-9
        return np.where(flat, 1.0, dx / np.where(flat, 1.0, norm)), np.where(flat, 0.0, dz / np.where(flat, 1.0, norm))

    @staticmethod
    def _rotate(points: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        c, s = cos[:, None], sin[:, None]
        out = points.copy()
        out[..., 0] = c * points[..., 0] + s * points[..., 2]
        out[..., 2] = -s * points[..., 0] + c * points[..., 2]
        return out

    def _fill_toes(self, full: np.ndarray) -> None:
        offset = np.array([0.0, -TOE_DROP, TOE_FORWARD]) if self.foot == "synthesise" else np.zeros(3)
        for side in ("left", "right"):
            full[:, JOINT_INDEX[f"{side}_foot"]] = full[:, JOINT_INDEX[f"{side}_ankle"]] + offset

    @staticmethod
    def _add_derived(full: np.ndarray) -> None:
        for side in ("left", "right"):
            wrist, elbow = full[:, JOINT_INDEX[f"{side}_wrist"]], full[:, JOINT_INDEX[f"{side}_elbow"]]
            full[:, JOINT_INDEX[f"{side}_middle2"]] = wrist + MIDDLE2_OFFSET * _unit(wrist - elbow)
        for name, parts in VIRTUAL_JOINTS.items():
            full[:, JOINT_INDEX[name]] = full[:, [JOINT_INDEX[p] for p in parts]].mean(axis=1)

    @staticmethod
    def _size(full: np.ndarray) -> np.ndarray:
        def length(a: str, b: str) -> np.ndarray:
            return np.linalg.norm(full[:, JOINT_INDEX[a]] - full[:, JOINT_INDEX[b]], axis=-1)

        thigh = (length("left_hip", "left_knee") + length("right_hip", "right_knee")) / 2
        shin = (length("left_knee", "left_ankle") + length("right_knee", "right_ankle")) / 2
        return length("pelvis", "neck") + thigh + shin
